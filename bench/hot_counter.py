"""The like counter under contention, at the database alone: 32 connections each liking and
unliking (the product's two statements per transaction: the like row, then the counter
`UPDATE`) one post, against 32 connections spread over 64 posts; 3 alternated rounds of 5 s.

`bench/interactions.py` measures the same through the API, where on a loaded two-core
machine the server saturates long before the post's row lock does; this shows where the
lock's own limit lies. Run it after `bench/interactions.py` has seeded its database:

    .venv/bin/python bench/hot_counter.py
"""

import json
import statistics
import sys
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.interactions import DATABASE, DIFFERENT_POSTS

CLIENTS = 32


def run(ids: dict, same: bool, seconds: float = 5.0, wait_for_flush: bool = True) -> float:
    """Transactions per second (a like or an unlike each). Without `wait_for_flush`, each
    transaction commits as the product's likes do (`synchronous_commit` off)."""
    counts = [0] * CLIENTS
    stop = time.monotonic() + seconds
    first = ids["first_fan"] + 600_000  # fans that like nothing else

    def client(index: int) -> None:
        post = ids["same"] if same else ids["different"][index % DIFFERENT_POSTS]
        user = first + index
        with psycopg.connect(f"{harness.POSTGRES}/{DATABASE}", autocommit=True) as connection:
            while time.monotonic() < stop:
                with connection.transaction():
                    if not wait_for_flush:
                        connection.execute("SET LOCAL synchronous_commit TO OFF")
                    connection.execute(
                        "INSERT INTO posts_like (user_id, post_id, created_at) "
                        "VALUES (%s, %s, now())",
                        [user, post],
                    )
                    connection.execute(
                        "UPDATE posts_post SET like_count = like_count + 1 WHERE id = %s", [post]
                    )
                with connection.transaction():
                    if not wait_for_flush:
                        connection.execute("SET LOCAL synchronous_commit TO OFF")
                    connection.execute(
                        "DELETE FROM posts_like WHERE user_id = %s AND post_id = %s", [user, post]
                    )
                    connection.execute(
                        "UPDATE posts_post SET like_count = like_count - 1 WHERE id = %s", [post]
                    )
                counts[index] += 2

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def main() -> None:
    ids = json.loads(
        harness.sql(DATABASE, "SELECT value FROM bench11_meta WHERE key = 'ids'")[0][0]
    )
    for flush, label in [(True, "waiting for the WAL flush"), (False, "synchronous_commit off")]:
        ratios = []
        for round_number in range(1, 4):
            same = run(ids, True, wait_for_flush=flush)
            different = run(ids, False, wait_for_flush=flush)
            ratios.append(same / different)
            harness.log(
                f"{label}, round {round_number}: one post {same:,.0f} tx/s, "
                f"{DIFFERENT_POSTS} posts {different:,.0f} tx/s, ratio {same / different:.2f}"
            )
        print(
            f"\n{label}: like tx/s, {CLIENTS} clients on one post / on {DIFFERENT_POSTS} "
            f"posts: {statistics.median(ratios):.2f} (median of {len(ratios)} rounds)\n"
        )


if __name__ == "__main__":
    main()
