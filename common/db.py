"""Database helpers shared by several apps."""

from django.db import connection


def commit_without_flush() -> None:
    """Within a transaction: commit without waiting for PostgreSQL to flush the WAL to disk
    (`synchronous_commit` off for this transaction only).

    For small, frequent writes that lock a shared row until commit (a like updating a
    popular post's count): the row is released as soon as the commit is written, not after
    the disk's flush, so one post took 3.7k likes/s instead of 0.8k (`bench/hot_counter.py`).
    The cost: a crash of the database server may lose the last fraction of a second of such
    transactions, whole (the like, its count and its outbox event together), never half of
    one. SQLite has no such setting."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
