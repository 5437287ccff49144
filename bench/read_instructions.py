"""The read path's requests counted in instructions, an earlier commit against this checkout.

On the 1M-post database of `bench/feed.py`, for each side (`--before`, checked out with `git
worktree` in a temporary directory, and this checkout), runs the WSGI application of that
side's code (after its gunicorn `post_worker_init` hook, where it has one, as a worker does)
under `valgrind --tool=callgrind` twice, --low and --high requests (each after --warm-up),
spread over 50 typical readers, and reports the instructions per request as the difference
over (high - low): start-up and warm-up cancel out. Only the server process is counted, not
PostgreSQL. Counts are repeatable where this virtual machine's times are not
(bench/web_instructions.py). Both sides read the same database, so the earlier commit must
have the same migrations (for older ones, bench/read_path.py). Needs valgrind.

    .venv/bin/python bench/read_instructions.py --before ad5c537
"""

import argparse
import json
import os
import random
import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, read_path, web
from bench.feed import LARGE, typical_users


def requests(paths: list[list], count: int, warm_up: int) -> None:
    """Call this side's WSGI application `warm_up + count` times (run under valgrind)."""
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    application = WSGIHandler()
    # What gunicorn does once a worker has loaded the application (this side's settings).
    hooks = runpy.run_path(str(Path("config/gunicorn.py").resolve()))
    if "post_worker_init" in hooks:
        hooks["post_worker_init"](None)
    environs = []
    for path, token in paths:
        path, _, query = path.partition("?")
        environ = web.wsgi_environ(path, {"HTTP_AUTHORIZATION": f"Bearer {token}"})
        environs.append({**environ, "QUERY_STRING": query})
    harness.call_wsgi(application, environs, warm_up + count)


def instructions(root: Path, paths_file: Path, count: int, warm_up: int) -> int:
    arguments = [__file__, "--run", str(root), str(paths_file), str(count), str(warm_up)]
    return harness.callgrind(arguments, harness.base_env(LARGE, DATABASE_POOL_MAX_SIZE=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="the commit to compare with (required)")
    parser.add_argument(
        "--kinds",
        default="feed,user_posts,search",
        help="of feed, user_posts, search, post, notifications, profile",
    )
    parser.add_argument("--low", type=int, default=50)
    parser.add_argument("--high", type=int, default=200)
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--run", nargs=4, help=argparse.SUPPRESS)  # the counted process
    args = parser.parse_args()
    if args.run:
        root, paths_file, count, warm_up = args.run
        sys.path.insert(0, root)
        os.chdir(root)
        requests(json.loads(Path(paths_file).read_text()), int(count), int(warm_up))
        return
    if not args.before:
        parser.error("the following arguments are required: --before")

    rng = random.Random(42)
    readers = typical_users(50, rng)
    tokens = harness.access_tokens(readers)
    names = read_path.authors(50, rng)
    workload = read_path.requests(readers, tokens, names)
    counts: dict[str, dict[str, float]] = {}
    with harness.worktree(args.before) as (scratch, before_root):
        for kind in args.kinds.split(","):
            paths_file = scratch / f"{kind}.json"
            paths_file.write_text(json.dumps(workload[kind]))
            for side, root in (("before", before_root), ("after", harness.ROOT)):
                low, high = (
                    instructions(root, paths_file, n, args.warm_up) for n in (args.low, args.high)
                )
                counts.setdefault(kind, {})[side] = (high - low) / (args.high - args.low)
                harness.log(f"{kind} {side}: {counts[kind][side] / 1e6:.3f} M a request")
    print()
    print(f"machine: {harness.machine()}; before: {args.before}")
    for kind, sides in counts.items():
        ratio = sides["after"] / sides["before"]
        print(
            f"{kind}: {sides['before'] / 1e6:.3f} -> {sides['after'] / 1e6:.3f} M instructions "
            f"a request ({ratio:.3f})"
        )


if __name__ == "__main__":
    os.chdir(harness.ROOT)
    main()
