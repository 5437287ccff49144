"""What a second statement costs a request, and what sending it differently saves.

On one held psycopg connection to the 1M-post database of `bench/feed.py` (prepared
statements, as the server's), in turns so every variant sees the same moments of the
machine, medians over --rounds turns:

- `SELECT 1` alone, then `SELECT 1` and `SELECT 2` one after the other, then both in one
  psycopg pipeline (sent together, one wait);
- the feed's page alone (`posts.selectors.feed_for`), then the account's state statement
  (`accounts.authentication.STATE_SQL`) and the page one after the other, then both in a
  pipeline, then the state joined to the page in one statement (`CheckAhead.fold`, what
  the lists of posts run).

    .venv/bin/python bench/statements.py
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.feed import LARGE, typical_users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()
    os.environ.update(harness.base_env(LARGE))
    import django

    django.setup()
    import psycopg

    from accounts.authentication import STATE_SQL, CheckAhead
    from posts import selectors

    readers = typical_users(20, random.Random(1))
    connection = psycopg.connect(f"{harness.POSTGRES}/{LARGE}", autocommit=True)
    connection.prepare_threshold = 0

    class Viewer:
        def __init__(self, pk):
            self.pk = pk

    pages = [selectors.feed_for(user=Viewer(pk)).statement(21) for pk in readers]

    def run(statements: list[tuple[str, list]], pipelined: bool = False) -> None:
        cursors = [connection.cursor() for _ in statements]
        if pipelined:
            with connection.pipeline():
                for cursor, (sql, params) in zip(cursors, statements, strict=True):
                    cursor.execute(sql, params)
        else:
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                cursor.execute(sql, params)
                cursor.fetchall()
        for cursor in cursors:
            cursor.fetchall()

    def folded(user_id: int, page: tuple[str, list]) -> tuple[str, list]:
        check = CheckAhead()
        check.defer(None, user_id, 0, None)
        return check.fold(*page, "q.page_key DESC")

    variants = {
        "SELECT 1": lambda i: run([("SELECT 1", [])]),
        "SELECT 1; SELECT 2": lambda i: run([("SELECT 1", []), ("SELECT 2", [])]),
        "SELECT 1; SELECT 2, pipelined": lambda i: run(
            [("SELECT 1", []), ("SELECT 2", [])], pipelined=True
        ),
        "feed page": lambda i: run([pages[i]]),
        "state; feed page": lambda i: run([(STATE_SQL, [None, readers[i]]), pages[i]]),
        "state; feed page, pipelined": lambda i: run(
            [(STATE_SQL, [None, readers[i]]), pages[i]], pipelined=True
        ),
        "state joined to the feed page": lambda i: run([folded(readers[i], pages[i])]),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for turn in range(args.rounds + 100):
        i = turn % len(readers)
        for name, variant in variants.items():
            started = time.perf_counter()
            variant(i)
            if turn >= 100:  # the first turns prepare the statements
                times[name].append(time.perf_counter() - started)
    print(f"machine: {harness.machine()}")
    for name, values in times.items():
        print(f"{name:32} {statistics.median(values) * 1e6:7.0f} us")


if __name__ == "__main__":
    main()
