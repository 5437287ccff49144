"""Database helpers shared by several apps."""

from django.contrib.postgres import operations as postgres_operations
from django.db import connection
from django.db.migrations import AddIndex, RemoveIndex


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


class _ConcurrentlyOnPostgreSQL:
    """An index operation run with `CONCURRENTLY` on PostgreSQL (Django's operation, which
    does not block the table's writes while it runs), and as its plain counterpart
    (`plain`) on other databases (SQLite, the embedded mode). The migration must be
    non-atomic (`atomic = False`)."""

    plain: type

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexConcurrently(_ConcurrentlyOnPostgreSQL, postgres_operations.AddIndexConcurrently):
    plain = AddIndex


class RemoveIndexConcurrently(
    _ConcurrentlyOnPostgreSQL, postgres_operations.RemoveIndexConcurrently
):
    plain = RemoveIndex
