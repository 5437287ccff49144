"""bench/web.py's two requests in one process: the CPU time Django spends on each.

Seeds the same database as bench/web.py (same reader, author and 20 posts), then calls the
WSGI application directly for the home page (`GET /`, session cookie) and the JSON feed
(`GET /api/feed/`, JWT), alternating sides for --rounds rounds, and reports the median CPU
time per request of this process (`time.process_time`: PostgreSQL's work and the HTTP
server's are not in it). On a machine busy with other work, wall-clock times swing from
round to round; CPU time per request moves far less, so this shows what a change to either
side costs or saves. With --profile, prints cProfile's top functions for the home page.

    .venv/bin/python bench/web_cpu.py
    .venv/bin/python bench/web_cpu.py --profile --database warble_bench_web_2
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, web


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database", default=web.DATABASE, help="dropped and made anew")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    user_id, session_key = web.seed(args.database)
    os.environ.update(harness.base_env(args.database, DATABASE_POOL_MAX_SIZE=2))
    token = harness.access_tokens([user_id])[user_id]

    from django.core.handlers.wsgi import WSGIHandler

    application = WSGIHandler()
    sides = {
        "html": ("/", {"HTTP_COOKIE": f"sessionid={session_key}"}),
        "json": ("/api/feed/", {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
    }

    def get(path: str, headers: dict) -> bytes:
        environ = web.wsgi_environ(path, headers)
        status = []
        body = b"".join(application(environ, lambda s, h, e=None: status.append(s)))
        if not status[0].startswith("200"):
            raise RuntimeError(f"{path}: {status[0]} {body[:200]!r}")
        return body

    def cpu_ms(name: str, count: int) -> float:
        results = []
        for _ in range(count):
            started = time.process_time()
            get(*sides[name])
            results.append((time.process_time() - started) * 1000)
        return statistics.median(results)

    assert get(*sides["html"]).count(b'class="post"') == 20, "the home page shows 20 posts"
    for name in sides:
        cpu_ms(name, 50)  # warm-up
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [get(*sides["html"]) for _ in range(args.requests)])
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return
    rounds = []
    for number in range(args.rounds):
        result = {name: cpu_ms(name, args.requests) for name in sides}
        result["ratio"] = result["html"] / result["json"]
        rounds.append(result)
        harness.log(
            f"round {number + 1}: html {result['html']:.2f} ms, json {result['json']:.2f} ms "
            f"CPU, ratio {result['ratio']:.3f}"
        )
    print()
    print(f"machine: {harness.machine()}")
    print(f"home page HTML CPU p50 {harness.median_of(rounds, 'html'):.2f} ms")
    print(f"JSON feed CPU p50      {harness.median_of(rounds, 'json'):.2f} ms")
    ratio = statistics.median(r["ratio"] for r in rounds)
    print(f"html / json CPU: {ratio:.3f} (median of {args.rounds} rounds)")


if __name__ == "__main__":
    os.chdir(harness.ROOT)
    main()
