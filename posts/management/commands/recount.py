"""`manage.py recount`: recompute every stored counter from the rows and fix what differs.

The counters are kept exact by the services, in the transaction of each write; this is the
repair tool (after a manual fix in the database, a restore, a bug). Each counter is one
set-based statement, UPDATE ... FROM (the counts per row, GROUP BY) WHERE stored <> counted,
so only rows that differ are written and 1M posts take seconds, on PostgreSQL and SQLite
alike. A write that changes a counter while its statement runs may be overwritten with the
count the statement saw: run it when writes are quiet, or again after.
"""

import time
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from accounts.models import User
from follows.models import Follow
from posts.models import Like, Post


@dataclass(frozen=True)
class Counter:
    """A counter column of `model` that must equal the number of `rows_table` rows whose
    `rows_key` is the counted row's id."""

    model: type
    column: str
    rows_table: str
    rows_key: str
    singular: str
    plural: str


COUNTERS = (
    Counter(User, "followers_count", Follow._meta.db_table, "followee_id", "user", "users"),
    Counter(User, "following_count", Follow._meta.db_table, "follower_id", "user", "users"),
    Counter(User, "posts_count", Post._meta.db_table, "author_id", "user", "users"),
    Counter(Post, "reply_count", Post._meta.db_table, "reply_to_id", "post", "posts"),
    Counter(Post, "like_count", Like._meta.db_table, "post_id", "post", "posts"),
    Counter(Post, "repost_count", Post._meta.db_table, "repost_of_id", "post", "posts"),
)


def _differences_sql(counter: Counter) -> str:
    """`(id, counted)` of every row whose stored counter differs from its rows."""
    qn = connection.ops.quote_name
    table = qn(counter.model._meta.db_table)
    column, key = qn(counter.column), qn(counter.rows_key)
    return (
        f"SELECT s.id AS id, COALESCE(c.n, 0) AS counted FROM {table} s "  # noqa: S608
        f"LEFT JOIN (SELECT {key} AS counted_id, COUNT(*) AS n FROM {qn(counter.rows_table)} "
        f"WHERE {key} IS NOT NULL GROUP BY {key}) c ON c.counted_id = s.id "
        f"WHERE s.{column} <> COALESCE(c.n, 0)"
    )


def counter_recount(counter: Counter, *, dry_run: bool = False) -> int:
    """Set the counter to the count of its rows wherever it differs; return how many rows
    differed (with `dry_run`, only count them)."""
    differences = _differences_sql(counter)
    with connection.cursor() as cursor:
        if dry_run:
            cursor.execute(f"SELECT COUNT(*) FROM ({differences}) d")  # noqa: S608
            return int(cursor.fetchone()[0])
        table = connection.ops.quote_name(counter.model._meta.db_table)
        column = connection.ops.quote_name(counter.column)
        cursor.execute(
            f"UPDATE {table} SET {column} = d.counted "  # noqa: S608
            f"FROM ({differences}) d WHERE {table}.id = d.id"
        )
        return cursor.rowcount


def counters_recount(*, dry_run: bool = False, progress=None) -> dict[Counter, int]:
    """Recount every counter in one transaction; `{counter: rows that differed}`.
    `progress(counter, differed, seconds)` is called after each."""
    fixed = {}
    with transaction.atomic():
        for counter in COUNTERS:
            started = time.monotonic()
            fixed[counter] = counter_recount(counter, dry_run=dry_run)
            if progress is not None:
                progress(counter, fixed[counter], time.monotonic() - started)
    return fixed


def summary(fixed: dict[Counter, int]) -> str:
    """ "3 posts' like_count, 1 user's followers_count", or "" when nothing differed."""
    parts = []
    for counter, count in fixed.items():
        if count:
            owner = f"1 {counter.singular}'s" if count == 1 else f"{count:,} {counter.plural}'"
            parts.append(f"{owner} {counter.column}")
    return ", ".join(parts)


class Command(BaseCommand):
    help = (
        "Recompute the stored counters (users: followers_count, following_count, "
        "posts_count; posts: reply_count, like_count, repost_count) from the rows and fix "
        "those that differ, reporting what was fixed. With --dry-run nothing is written and "
        "the exit status is 1 when anything differs (for monitoring)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="only report what differs; exit with status 1 if anything does",
        )

    def handle(self, *args, dry_run: bool, **options):
        started = time.monotonic()

        def progress(counter: Counter, differed: int, seconds: float) -> None:
            name = f"{counter.model._meta.db_table}.{counter.column}"
            self.stdout.write(f"  {name}: {differed:,} differ ({seconds:.1f}s)")
            self.stdout.flush()

        fixed = counters_recount(dry_run=dry_run, progress=progress)
        report = summary(fixed)
        elapsed = f" ({time.monotonic() - started:.1f}s)"
        if not report:
            self.stdout.write(self.style.SUCCESS("Nothing to fix.") + elapsed)
        elif dry_run:
            self.stdout.write(f"Would fix {report}." + elapsed)
            raise CommandError(
                "Counters differ from the rows (dry run: nothing written).", returncode=1
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"Fixed {report}.") + elapsed)
