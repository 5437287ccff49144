"""This checkout's API served by gunicorn, as production serves it, and by granian.

gunicorn's own work (its Python HTTP parser, the hand-off of each request from the
listening thread to the worker thread) is what a request pays outside Django. granian
(https://github.com/emmett-framework/granian, a WSGI server written in Rust) is measured
against it on the 1M-post database of `bench/feed.py`, same code, same four worker
processes of one thread each, both servers up side by side:

- the feed and the bare Django view (`/bench/floor/`, `[]` through the same middleware),
  p50 at one connection, in one-second wrk turns (`harness.wrk_turns`);
- the same at 32 connections, p50 and requests per second, each side in turn.

Each round prints its numbers; the medians of the rounds and the ratios (granian /
gunicorn) close the run. granian is not a dependency of the project: install it into the
virtual environment first.

    .venv/bin/pip install granian
    .venv/bin/python bench/wsgi_servers.py --reuse

`--challenger` names another gunicorn executable instead of granian (another release, in a
virtual environment of its own), served with the same `config/gunicorn.py`:

    python3 -m venv /tmp/g26 && /tmp/g26/bin/pip install -e . "gunicorn[fast]==26.2.0"
    .venv/bin/python bench/wsgi_servers.py --reuse --challenger /tmp/g26/bin/gunicorn
"""

import argparse
import random
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.feed import LARGE, typical_users

GUNICORN_PORT, GRANIAN_PORT = 8731, 8732


def granian(database: str, port: int, workers: int = 4):
    """granian serving `config.wsgi:application` with what harness.gunicorn gives gunicorn."""
    executable = Path(harness.PYTHON).parent / "granian"
    if not executable.exists() and shutil.which("granian") is None:
        raise SystemExit("granian is needed: .venv/bin/pip install granian")
    env = harness.base_env(database, SERVER_ADDRESS="127.0.0.1", DATABASE_POOL_MAX_SIZE=2)
    command = [str(executable), "--interface", "wsgi", "--workers", str(workers)]
    command += ["--blocking-threads", "1", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "config.wsgi:application"]
    return harness.server(command, env, f"http://127.0.0.1:{port}/healthz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--turns", type=int, default=8, help="one-second runs a side a round")
    parser.add_argument("--duration", type=int, default=4, help="seconds at 32 connections")
    parser.add_argument(
        "--challenger",
        default="granian",
        help="granian, or the path of another gunicorn executable",
    )
    args = parser.parse_args()
    harness.seed(LARGE, users=10_000, follows=2_000_000, posts=1_000_000, reuse=args.reuse)

    readers = typical_users(50, random.Random(42))
    tokens = harness.access_tokens(readers)
    paths = {
        "feed": [("/api/feed/", tokens[user]) for user in readers],
        "floor": [("/bench/floor/", tokens[user]) for user in readers],
    }
    servers = {
        "gunicorn": f"http://127.0.0.1:{GUNICORN_PORT}",
        "challenger": f"http://127.0.0.1:{GRANIAN_PORT}",
    }
    rounds = []
    if args.challenger == "granian":
        challenger = granian(LARGE, GRANIAN_PORT)
    else:
        challenger = harness.gunicorn(LARGE, GRANIAN_PORT, executable=args.challenger)
    with harness.gunicorn(LARGE, GUNICORN_PORT), challenger:
        for number in range(args.rounds):
            harness.log(f"round {number + 1}/{args.rounds}")
            result = {}
            for name, requests in paths.items():
                turns = harness.wrk_turns(
                    {server: (base, requests) for server, base in servers.items()}, args.turns
                )
                for server, runs in turns.items():
                    result[f"{server}_{name}_1_p50"] = statistics.median(r["p50"] for r in runs)
                order = list(servers) if number % 2 == 0 else list(servers)[::-1]
                for server in order:
                    stats = harness.wrk(
                        servers[server], requests, connections=32, duration=args.duration
                    )
                    result[f"{server}_{name}_32_p50"] = stats["p50"]
                    result[f"{server}_{name}_32_rps"] = stats["rps"]
            for key, value in result.items():
                harness.log(f"  {key}: {value:.2f}")
            rounds.append(result)

    print()
    print(f"machine: {harness.machine()}; challenger: {args.challenger}")
    print(f"{'measurement':<34} {'gunicorn':>9} {'other':>9} {'ratio':>6}")
    for name in paths:
        for measure, label in (
            ("1_p50", "p50 ms, 1 connection"),
            ("32_p50", "p50 ms, 32 connections"),
            ("32_rps", "req/s, 32 connections"),
        ):
            sides = [harness.median_of(rounds, f"{s}_{name}_{measure}") for s in servers]
            ratio = statistics.median(
                r[f"challenger_{name}_{measure}"] / r[f"gunicorn_{name}_{measure}"] for r in rounds
            )
            label = f"{name}, {label}"
            print(f"{label:<34} {sides[0]:>9.2f} {sides[1]:>9.2f} {ratio:>6.2f}")
    payload = {"machine": harness.machine(), "challenger": args.challenger, "rounds": rounds}
    path = harness.save("wsgi_servers", payload)
    print(f"\nraw results: {path.relative_to(harness.ROOT)}")


if __name__ == "__main__":
    main()
