"""Locks shared by several apps."""

import zlib

from django.db import connection


def author_fanout_lock(author_id: int, *, shared: bool) -> None:
    """Within a transaction, order unfollows and deletions of an author's posts or account
    against writes of their fan-out: a fan-out page holds the lock shared, the others
    exclusively. So they never clean up while a page that still saw the follow or the post
    is being written, and a page that comes after them sees the follow or the post gone.
    A transaction-scoped advisory lock (safe behind PgBouncer's transaction pooling).
    PostgreSQL only; SQLite runs one writing transaction at a time anyway."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [author_id])


_PAIR_NAMESPACE = 1


def pair_lock(first_id: int, second_id: int) -> None:
    """Within a transaction, order writes about one pair of accounts (a follow and a block
    between them), whichever way round: the second waits for the first to commit. A
    transaction-scoped advisory lock in the two-key space, apart from the authors' locks.
    PostgreSQL only."""
    if connection.vendor != "postgresql":
        return
    low, high = sorted((first_id, second_id))
    key = zlib.crc32(f"{low}:{high}".encode()) - 2**31  # a 32-bit signed key
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_PAIR_NAMESPACE, key])
