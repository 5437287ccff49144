"""Locks shared by several apps."""

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
