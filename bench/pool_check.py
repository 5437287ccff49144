"""What checking each pooled connection as it is taken costs the home feed.

`DATABASE_HEALTH_CHECKS=true` (the default) has the pool check every connection it hands
out (common/postgresql `check_idle`: the socket looked at, an empty query only when the
server wrote to it), so a connection that died with a restarted server is replaced instead
of failing a request. This serves one
seeded database from two gunicorn servers, with the check and without, and loads the feed
of typical users on each in turn (one connection: the p50 is the service time on an
otherwise idle server), for --rounds rounds. Target: feed p50 with / without <= 1.05, on the
median of the per-round ratios. It also times a bare checkout and return of a pooled
connection with and without the check: what the check adds to every request, in
microseconds, steadier than a latency ratio on a busy machine.

    .venv/bin/python bench/pool_check.py            # seeds (about a minute), then measures
    .venv/bin/python bench/pool_check.py --reuse    # keeps the database of an earlier run
    .venv/bin/python bench/pool_check.py --checkout-only   # the checkout timings alone
"""

import argparse
import random
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

DATABASE = "warble_bench_pool"
USERS, FOLLOWS, POSTS = 2_000, 100_000, 50_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def checkout_us(check, count: int = 2000, pool_class=None, database=DATABASE) -> float:
    """Microseconds to take a connection from a one-connection pool and give it back, with
    `check` (None: no check) and the project's pool class (common/postgresql) unless another
    is given."""
    from common.postgresql.base import RecoveringPool

    with (pool_class or RecoveringPool)(
        f"{harness.POSTGRES}/{database}",
        min_size=1,
        max_size=1,
        kwargs={"autocommit": True},
        check=check,
    ) as pool:
        pool.wait()
        for _ in range(200):
            with pool.connection():
                pass
        started = time.perf_counter()
        for _ in range(count):
            with pool.connection():
                pass
        return (time.perf_counter() - started) / count * 1e6


def measure_checkouts(database: str = DATABASE) -> dict[str, list[float]]:
    """Checkout and return, 5 x 2,000 each, interleaved: the project's check (`check_idle`:
    the socket looked at, a query only when the server wrote), none, and psycopg's own pool
    class with its check (an empty query every time)."""
    from psycopg_pool import ConnectionPool

    from common.postgresql.base import check_idle

    checkouts: dict[str, list[float]] = {"checked": [], "unchecked": [], "psycopg_checked": []}
    for _ in range(5):
        checkouts["checked"].append(checkout_us(check_idle, database=database))
        checkouts["unchecked"].append(checkout_us(None, database=database))
        checkouts["psycopg_checked"].append(
            checkout_us(
                ConnectionPool.check_connection, pool_class=ConnectionPool, database=database
            )
        )
    return checkouts


def print_checkouts(checkouts: dict[str, list[float]]) -> None:
    checkout = {name: statistics.median(values) for name, values in checkouts.items()}
    print(
        f"pool checkout and return: {checkout['checked']:.0f} us with the check, "
        f"{checkout['unchecked']:.0f} us without; psycopg's own pool class with its check "
        f"(an empty query) {checkout['psycopg_checked']:.0f} us (medians of 5 x 2,000)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--checkout-only", action="store_true", help="only the checkout timings (no feed load)"
    )
    args = parser.parse_args()
    if args.checkout_only:
        # An empty query needs no data: the server's own `postgres` database serves.
        checkouts = measure_checkouts("postgres")
        print_checkouts(checkouts)
        harness.save("pool_check", {"machine": harness.machine(), "checkout_us": checkouts})
        return

    harness.seed(DATABASE, users=USERS, follows=FOLLOWS, posts=POSTS, reuse=args.reuse)
    rows = harness.sql(
        DATABASE,
        "SELECT follower_id FROM follows_follow GROUP BY follower_id "
        "HAVING COUNT(*) BETWEEN 30 AND 80 ORDER BY follower_id",
    )
    users = random.Random(42).sample([row[0] for row in rows], min(100, len(rows)))
    tokens = harness.access_tokens(users)
    requests = [("/api/feed/", tokens[user]) for user in users]
    # Free ports: other benchmarks may be running on this machine.
    ports = free_port(), free_port()
    checked, unchecked = (f"http://127.0.0.1:{port}" for port in ports)
    results: dict[str, list[dict]] = {"checked": [], "unchecked": []}
    with (
        harness.gunicorn(DATABASE, ports[0], DATABASE_HEALTH_CHECKS="true"),
        harness.gunicorn(DATABASE, ports[1], DATABASE_HEALTH_CHECKS="false"),
    ):
        for base in (checked, unchecked):
            harness.wrk(base, requests, connections=4, duration=3)
        for round_number in range(1, args.rounds + 1):
            # Alternate which side goes first, so drift within a round cancels too.
            order = [("checked", checked), ("unchecked", unchecked)]
            for name, base in order if round_number % 2 else reversed(order):
                harness.wrk(base, requests, connections=1, duration=2)
                stats = harness.wrk(base, requests, connections=1, duration=args.duration)
                results[name].append(stats)
                harness.log(f"round {round_number} {name}: p50 {stats['p50']:.2f} ms")

    checkouts = measure_checkouts()

    ratios = [
        a["p50"] / b["p50"] for a, b in zip(results["checked"], results["unchecked"], strict=True)
    ]
    ratio = statistics.median(ratios)
    print()
    print(f"machine: {harness.machine()}")
    print(f"{'feed, 1 connection':<24} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for name, runs in results.items():
        p50, p99 = harness.median_of(runs, "p50"), harness.median_of(runs, "p99")
        print(f"{name:<24} {p50:>8.2f} {p99:>8.2f} {harness.median_of(runs, 'rps'):>8.0f}")
    verdict = harness.verdict(ratio, 1.05)
    print(f"\nfeed p50 with / without the check: {ratio:.3f} (<= 1.05) {verdict}")
    print(f"per-round ratios: {', '.join(f'{r:.3f}' for r in ratios)}")
    print_checkouts(checkouts)
    path = harness.save(
        "pool_check", {"machine": harness.machine(), "runs": results, "checkout_us": checkouts}
    )
    print(f"raw results: {path.relative_to(harness.ROOT)}")
    if verdict == "FAIL":
        sys.exit(1)


if __name__ == "__main__":
    main()
