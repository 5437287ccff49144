"""A reconnect's late check, and the fan-out's inserts, with the inbox index before and after
it carried the commit-order columns.

On the 1M-post database of `bench/feed.py` (migrated first): a websocket reconnect with
`since` runs `notifications.selectors.late_ids`, which looks at the reader's 1,000 newest
notifications below `since` for one that committed late. The inbox index
(`notifications_inbox_idx`, recipient and -id) now includes `txid` and `horizon`, so the
check reads the index alone; the index it replaced had only the key, and each of the 1,000
rows was read from the table. This script builds the earlier index beside the current one
(`bench_recipient_idx`, dropped at the end) and, in alternating rounds, inside a transaction
that drops one of the two and is rolled back:

- times `late_ids` for 50 typical readers, `since` each reader's --behind-th newest
  notification (the median over readers and rounds), and counts the pages one check reads
  (`EXPLAIN (ANALYZE, BUFFERS)`, shared buffers hit and read: a cold cache reads that many
  from disk) and the rows it read from the table (every row an index scan returns; an
  index-only scan's heap fetches);
- inserts the notification rows of a fan-out of the 20 most followed accounts' posts (one
  `INSERT ... SELECT` a post), rows a second: what the wider index costs every fan-out.

    .venv/bin/python bench/late_check.py
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.feed import LARGE
from bench.replay import reconnecting_readers

EARLIER = "bench_recipient_idx"
CURRENT = "notifications_inbox_idx"
TABLE = "notifications_notification"
FANOUT_POSTS = 20


class Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--behind", type=int, default=5, help="since: the reader's Nth-newest")
    args = parser.parse_args()
    env = harness.base_env(LARGE)
    migrate = [harness.PYTHON, "manage.py", "migrate", "-v0"]
    subprocess.run(migrate, cwd=harness.ROOT, env=env, check=True)
    # Both built afresh (a run stopped half-way may have left an invalid earlier index, and
    # rolled-back inserts leave the current one larger), on a table vacuumed as autovacuum
    # leaves it: index-only scans skip the table only for pages vacuum has marked
    # all-visible.
    harness.sql(LARGE, f"DROP INDEX CONCURRENTLY IF EXISTS {EARLIER}")
    harness.sql(LARGE, f"CREATE INDEX CONCURRENTLY {EARLIER} ON {TABLE} (recipient_id, id DESC)")
    harness.sql(LARGE, f"REINDEX INDEX CONCURRENTLY {CURRENT}")
    harness.sql(LARGE, f"VACUUM {TABLE}")
    sizes = {
        name: harness.sql(LARGE, "SELECT pg_relation_size(%s::regclass)", [index])[0][0]
        for name, index in (("earlier", EARLIER), ("current", CURRENT))
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from notifications import selectors

    readers, since = reconnecting_readers(args.behind)
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM posts_post")
        first_post = cursor.fetchone()[0] + 1
        cursor.execute(
            "SELECT followee_id FROM follows_follow GROUP BY followee_id "
            "ORDER BY count(*) DESC LIMIT %s",
            [FANOUT_POSTS],
        )
        authors = [row[0] for row in cursor.fetchall()]

    def check_ms(user) -> float:
        started = time.perf_counter()
        selectors.late_ids(user=user, since=since[user.pk])
        return (time.perf_counter() - started) * 1000

    def pages(user) -> tuple[int, int]:
        """(shared buffers hit and read, rows read from the table) of one check."""
        with CaptureQueriesContext(connection) as queries:
            selectors.late_ids(user=user, since=since[user.pk])
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {queries.captured_queries[-1]['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        # The top node's buffers: everything the statement touched.
        top = re.search(r"Buffers: shared([^\n,]*)", plan).group(1)
        touched = sum(int(count) for count in re.findall(r"(?:hit|read)=(\d+)", top))
        scans = re.findall(r"-> {2}Index Scan .* rows=(\d+) loops=(\d+)\)", plan)
        from_table = sum(int(rows) * int(loops) for rows, loops in scans)
        from_table += sum(int(count) for count in re.findall(r"Heap Fetches: (\d+)", plan))
        return touched, from_table

    def fanout_rows_per_second() -> float:
        rows, started = 0, time.perf_counter()
        with connection.cursor() as cursor:
            for number, author in enumerate(authors):
                cursor.execute(
                    f"INSERT INTO {TABLE} (recipient_id, type, actor_id, post_id, created_at,"  # noqa: S608
                    " read) SELECT follower_id, 'post.created', %s, %s, now(), false"
                    " FROM follows_follow WHERE followee_id = %s",
                    [author, first_post + number, author],
                )
                rows += cursor.rowcount
        return rows / (time.perf_counter() - started)

    results: dict[str, dict[str, list]] = {
        name: {"check_ms": [], "buffers": [], "table_rows": [], "fanout_rows_per_s": []}
        for name in ("earlier", "current")
    }
    try:
        for turn in range(args.rounds):
            order = ("earlier", "current") if turn % 2 == 0 else ("current", "earlier")
            for name in order:
                dropped = CURRENT if name == "earlier" else EARLIER
                try:
                    with transaction.atomic():
                        with connection.cursor() as cursor:
                            cursor.execute(f"DROP INDEX {dropped}")
                        for user in readers:
                            check_ms(user)  # the pages this side reads, into the cache
                        results[name]["check_ms"] += [check_ms(user) for user in readers]
                        if turn < 2:
                            for user in readers:
                                touched, from_table = pages(user)
                                results[name]["buffers"].append(touched)
                                results[name]["table_rows"].append(from_table)
                        results[name]["fanout_rows_per_s"].append(fanout_rows_per_second())
                        raise Rollback
                except Rollback:
                    pass
            harness.log(
                f"round {turn + 1}: late check "
                + ", ".join(
                    f"{name} {statistics.median(results[name]['check_ms']):.2f} ms"
                    for name in order
                )
            )
    finally:
        harness.sql(LARGE, f"DROP INDEX CONCURRENTLY IF EXISTS {EARLIER}")
        # The rolled-back fan-outs left dead index entries: cleaned as autovacuum would.
        harness.sql(LARGE, f"VACUUM {TABLE}")

    def median(name: str, key: str) -> float:
        return statistics.median(results[name][key])

    harness.log(f"{len(readers)} readers, since = their {args.behind}th-newest notification")
    for name, index in (("earlier", "key only"), ("current", "with txid, horizon")):
        harness.log(
            f"{name} index ({index}, {sizes[name] / 2**20:,.0f} MB): late check "
            f"{median(name, 'check_ms'):.2f} ms, {median(name, 'buffers'):.0f} buffers, "
            f"{median(name, 'table_rows'):.0f} rows read from the table; fan-out inserts "
            f"{median(name, 'fanout_rows_per_s'):,.0f} rows/s"
        )
    check = median("current", "check_ms") / median("earlier", "check_ms")
    fanout = median("current", "fanout_rows_per_s") / median("earlier", "fanout_rows_per_s")
    harness.log(f"current / earlier: late check {check:.2f}, fan-out rows/s {fanout:.2f}")
    payload = {"machine": harness.machine(), "args": vars(args), "sizes": sizes, **results}
    path = harness.save("late_check", payload)
    harness.log(f"saved {path}")


if __name__ == "__main__":
    main()
