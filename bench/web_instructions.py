"""bench/web.py's two requests counted in instructions: deterministic where times are not.

Seeds the same database as bench/web.py (same reader, author and 20 posts), then, for each
side, runs this script under `valgrind --tool=callgrind` twice: once calling the WSGI
application --low times and once --high times (each after --warm-up requests), and reports
the instructions per request as the difference divided by (high - low), so Django's start-up
and the warm-up cancel out. Counts move by well under 1% between runs on a busy machine,
where wall-clock and CPU times of the same code swing by tens of percent (docs/benchmarks.md,
"Web client"). Needs valgrind (`apt-get install valgrind`); each side takes a few minutes.

    .venv/bin/python bench/web_instructions.py
    .venv/bin/python bench/web_instructions.py --side html --database warble_bench_web_2
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, web


def requests(side: str, count: int, warm_up: int, session_key: str, user_id: int) -> None:
    """Call the WSGI application `warm_up + count` times for one side (run under valgrind)."""
    token = harness.access_tokens([user_id])[user_id]
    from django.core.handlers.wsgi import WSGIHandler

    application = WSGIHandler()
    path, headers = {
        "html": ("/", {"HTTP_COOKIE": f"sessionid={session_key}"}),
        "json": ("/api/feed/", {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
    }[side]
    harness.call_wsgi(application, [web.wsgi_environ(path, headers)], warm_up + count)


def instructions(args, side: str, count: int, session_key: str, user_id: int) -> int:
    arguments = [__file__, "--run", side, str(count), str(args.warm_up), session_key]
    env = harness.base_env(args.database, DATABASE_POOL_MAX_SIZE=2)
    return harness.callgrind([*arguments, str(user_id)], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", choices=["html", "json", "both"], default="both")
    parser.add_argument("--low", type=int, default=50)
    parser.add_argument("--high", type=int, default=150)
    parser.add_argument("--warm-up", type=int, default=30)
    parser.add_argument("--database", default=web.DATABASE, help="dropped and made anew")
    parser.add_argument("--run", nargs=5, help=argparse.SUPPRESS)  # the counted process
    args = parser.parse_args()
    if args.run:
        side, count, warm_up, session_key, user_id = args.run
        requests(side, int(count), int(warm_up), session_key, int(user_id))
        return

    user_id, session_key = web.seed(args.database)
    counts = {}
    for side in ["html", "json"] if args.side == "both" else [args.side]:
        low, high = (
            instructions(args, side, n, session_key, user_id) for n in (args.low, args.high)
        )
        counts[side] = (high - low) / (args.high - args.low)
        harness.log(f"{side}: {counts[side] / 1e6:.2f} M instructions per request")
    print()
    print(f"machine: {harness.machine()}")
    for side, count in counts.items():
        print(f"{side}: {count / 1e6:.2f} M instructions per request")
    if len(counts) == 2:
        print(f"html / json instructions: {counts['html'] / counts['json']:.2f}")


if __name__ == "__main__":
    os.chdir(harness.ROOT)
    main()
