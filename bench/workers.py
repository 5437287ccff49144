"""gunicorn's worker count, threads and worker class, chosen by measurement.

Serves `bench/feed.py`'s 1M-post database with this checkout's `config/gunicorn.py` at
several `WEB_CONCURRENCY` x `WEB_THREADS` settings, one at a time, each with the
configuration's worker class or, after a colon, another (`4x1:gthread`, gunicorn's own), and
loads each with the home feed of 100 readers (or `--kind floor`, the bare Django view
`/bench/floor/`) at 1 and 32 connections (wrk; --rounds rounds, the settings alternating
within a round). Prints p50, requests/s and the server's CPU time a request (its processes'
user and system time over the run, which a busy machine's stolen time does not inflate)
per setting (medians).

    .venv/bin/python bench/workers.py --reuse
    .venv/bin/python bench/workers.py --reuse --settings 2x1 4x1 8x1 4x2
    .venv/bin/python bench/workers.py --reuse --settings 4x1 4x1:gthread --kind floor
"""

import argparse
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.feed import LARGE, typical_users

PORT = 8731


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--settings", nargs="+", default=["2x1", "4x1", "8x1", "4x2"])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kind", choices=["feed", "floor"], default="feed")
    args = parser.parse_args()

    harness.seed(LARGE, users=10_000, follows=2_000_000, posts=1_000_000, reuse=args.reuse)
    readers = typical_users(100, random.Random(42))
    tokens = harness.access_tokens(readers)
    target = "/api/feed/" if args.kind == "feed" else "/bench/floor/"
    load = [(target, tokens[user]) for user in readers]
    base = f"http://127.0.0.1:{PORT}"
    results: dict[str, list[dict]] = {}
    for round_number in range(1, args.rounds + 1):
        harness.log(f"round {round_number}/{args.rounds}")
        for setting in args.settings:
            size, _, worker_class = setting.partition(":")
            workers, threads = (int(part) for part in size.split("x"))
            with harness.gunicorn(
                LARGE,
                PORT,
                workers=workers,
                worker_class=worker_class or None,
                WEB_THREADS=threads,
            ) as server:
                for connections in (1, 32):
                    harness.wrk(base, load, connections=connections, duration=2)
                    before = harness.cpu_seconds(server.pid)["server"]
                    stats = harness.wrk(base, load, connections=connections, duration=args.duration)
                    used = harness.cpu_seconds(server.pid)["server"] - before
                    stats["server_cpu_ms"] = used * 1000 / stats["requests"]
                    results.setdefault(f"{setting}_{connections}", []).append(stats)
                    harness.log(
                        f"  {setting} at {connections}: p50 {stats['p50']:.2f} ms, "
                        f"{stats['rps']:.0f} req/s, {stats['server_cpu_ms']:.3f} ms CPU a request"
                    )
    print()
    print(f"machine: {harness.machine()}; cores: {os.cpu_count()}")
    header = ("workers x threads", "p50 ms, 1", "req/s, 1", "p50 ms, 32", "req/s, 32", "CPU ms, 32")
    print(
        f"{header[0]:<18} {header[1]:>10} {header[2]:>9} {header[3]:>11} {header[4]:>10} "
        f"{header[5]:>11}"
    )
    for setting in args.settings:
        one, many = results[f"{setting}_1"], results[f"{setting}_32"]
        print(
            f"{setting:<18} {harness.median_of(one, 'p50'):>10.2f} "
            f"{harness.median_of(one, 'rps'):>9.0f} {harness.median_of(many, 'p50'):>11.2f} "
            f"{harness.median_of(many, 'rps'):>10.0f} "
            f"{harness.median_of(many, 'server_cpu_ms'):>11.3f}"
        )
    path = harness.save("workers", {"machine": harness.machine(), "runs": results})
    print(f"\nraw results: {path.relative_to(harness.ROOT)}")


if __name__ == "__main__":
    main()
