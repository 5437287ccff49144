"""The embedded mode before and after: the read path's changes must leave it unchanged or
faster.

Seeds an SQLite database with `manage.py seed_demo` (2,000 users, 100,000 follows, 50,000
posts; kept with --reuse), copies it for each side (the earlier commit's copy with the
migrations it does not have unapplied), and serves both as `./dev.sh run` does
(`manage.py serve`: one daphne process, SQLite, the in-memory channel layer), each from its
own checkout (`--before`, made with `git worktree` in a temporary directory). Both answer
the same feed requests with the same bytes (compared first). Then, in alternating rounds:

- the feed (`GET /api/feed/` of 100 readers): p50 at 1 connection and req/s at 8 (wrk);
- the websocket path: 20 followers of an account with about 50 connected to
  `/ws/notifications/`, that account posts 40 times, one post at a time; the time from
  sending the POST until every follower has the post's `post.created` frame, p50 and p90
  over the posts (and the POST's own answer time, p50).

It prints the after / before ratios (the target: <= 1.0 for times, >= 1.0 for req/s, which
this machine's noise blurs by several percent either way).

    .venv/bin/python bench/embedded.py --before dfe68fc [--reuse]
"""

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import websockets

from bench import harness
from bench.read_path import schema_of

BEFORE_PORT, AFTER_PORT = 8721, 8722
DATA = harness.ROOT / "var" / "bench" / "embedded.sqlite3"
USERS, FOLLOWS, POSTS = 2_000, 100_000, 50_000
# The posting account has about AUDIENCE followers, FOLLOWERS of them connected.
AUDIENCE, FOLLOWERS, POSTS_SENT = 50, 20, 40


def env_for(path: Path, port: int) -> dict:
    env = harness.base_env("unused", SERVER_ADDRESS="127.0.0.1", SERVER_PORT=port)
    env["DATABASE_URL"] = f"sqlite:///{path}"
    return env


def seed(reuse: bool) -> None:
    if reuse and DATA.exists():
        with sqlite3.connect(DATA) as db:
            (count,) = db.execute("SELECT COUNT(*) FROM posts_post").fetchone()
        if count == POSTS:
            harness.log(f"reusing {DATA.relative_to(harness.ROOT)}: {count:,} posts")
            return
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.unlink(missing_ok=True)
    env = env_for(DATA, 0)
    harness.log(f"seeding {DATA.relative_to(harness.ROOT)}")
    subprocess.run([harness.PYTHON, "manage.py", "migrate", "-v0"], env=env, check=True)
    subprocess.run(
        [
            harness.PYTHON,
            "manage.py",
            "seed_demo",
            "--users",
            str(USERS),
            "--follows",
            str(FOLLOWS),
            "--posts",
            str(POSTS),
        ],
        env=env,
        check=True,
    )


def copy_for(root: Path, target: Path) -> None:
    """The data with the schema of the checkout at `root`."""
    shutil.copyfile(DATA, target)
    schema_of(root, env_for(target, 0))


def get(base: str, path: str, token: str) -> bytes:
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def post(base: str, token: str, text: str) -> int:
    request = urllib.request.Request(
        f"{base}/api/posts/",
        data=json.dumps({"text": text}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["id"]


async def frame_for(socket, post_id: int) -> None:
    while True:
        event = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if event.get("type") == "post.created" and event["post"]["id"] == post_id:
            return


async def deliveries(
    base: str, author_token: str, follower_tokens: list[str]
) -> tuple[list[float], list[float]]:
    """Seconds from sending each POST to its answer, and to the last follower's frame for
    it."""
    ws_base = base.replace("http://", "ws://")
    sockets = [
        await websockets.connect(f"{ws_base}/ws/notifications/?token={token}")
        for token in follower_tokens
    ]
    loop = asyncio.get_running_loop()
    try:
        answered, times = [], []
        for number in range(POSTS_SENT):
            started = time.perf_counter()
            post_id = await loop.run_in_executor(
                None, post, base, author_token, f"embedded bench {number} {random.random()}"
            )
            answered.append(time.perf_counter() - started)

            await asyncio.gather(*(frame_for(socket, post_id) for socket in sockets))
            times.append(time.perf_counter() - started)
        return answered, times
    finally:
        for socket in sockets:
            await socket.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the commit to compare with")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(42)

    seed(args.reuse)
    with sqlite3.connect(DATA) as db:
        readers = rng.sample(
            [
                row[0]
                for row in db.execute(
                    "SELECT follower_id FROM follows_follow GROUP BY follower_id "
                    "HAVING COUNT(*) BETWEEN 20 AND 200"
                )
            ],
            100,
        )
        author, followers = db.execute(
            "SELECT followee_id, COUNT(*) FROM follows_follow GROUP BY followee_id "
            "ORDER BY ABS(COUNT(*) - ?), followee_id LIMIT 1",
            [AUDIENCE],
        ).fetchone()
        follower_ids = [
            row[0]
            for row in db.execute(
                "SELECT follower_id FROM follows_follow WHERE followee_id = ? ORDER BY id LIMIT ?",
                [author, FOLLOWERS],
            )
        ]
    harness.log(f"websocket: account {author} ({followers} followers), {FOLLOWERS} connected")
    tokens = harness.access_tokens([*readers, author, *follower_ids])
    feed = [("/api/feed/", tokens[user]) for user in readers]
    results: dict[str, list] = {}

    with harness.worktree(args.before) as (scratch, before_root):
        before_data, after_data = (
            scratch / "before.sqlite3",
            scratch / "after.sqlite3",
        )
        copy_for(before_root, before_data)
        shutil.copyfile(DATA, after_data)
        sides = {
            "before": (before_root, before_data, BEFORE_PORT),
            "after": (harness.ROOT, after_data, AFTER_PORT),
        }
        servers = {}
        for side, (root, data, port) in sides.items():
            command = [harness.PYTHON, "manage.py", "serve", "--skip-setup"]
            servers[side] = harness.server(
                command, env_for(data, port), f"http://127.0.0.1:{port}/healthz", root
            )
        with servers["before"], servers["after"]:
            bases = {side: f"http://127.0.0.1:{port}" for side, (_, _, port) in sides.items()}
            for path, token in feed[:20]:
                answers = [
                    get(base, path, token).replace(base.encode(), b"BASE")
                    for base in bases.values()
                ]
                if answers[0] != answers[1]:
                    raise SystemExit(f"different answers to {path}")
            for number in range(1, args.rounds + 1):
                harness.log(f"round {number}/{args.rounds}")
                for side, base in bases.items():
                    harness.wrk(base, feed, connections=1, duration=2)
                    one = harness.wrk(base, feed, connections=1, duration=args.duration)
                    eight = harness.wrk(base, feed, connections=8, duration=args.duration)
                    answered, times = asyncio.run(
                        deliveries(base, tokens[author], [tokens[user] for user in follower_ids])
                    )
                    ws = {
                        "post_p50": statistics.median(answered) * 1000,
                        "p50": statistics.median(times) * 1000,
                        "p90": harness.percentile(times, 0.9) * 1000,
                    }
                    results.setdefault(side, []).append({"feed_1": one, "feed_8": eight, "ws": ws})
                    harness.log(
                        f"  {side}: feed p50 {one['p50']:.2f} ms, {eight['rps']:.0f} req/s "
                        f"at 8; POST answered p50 {ws['post_p50']:.1f} ms, websocket p50 "
                        f"{ws['p50']:.1f} ms, p90 {ws['p90']:.1f} ms"
                    )

    def paired(measure: str, key: str) -> float:
        return statistics.median(
            a[measure][key] / b[measure][key]
            for a, b in zip(results["after"], results["before"], strict=True)
        )

    print()
    print(f"machine: {harness.machine()}; before: {args.before}")
    for side, runs in results.items():
        print(
            f"{side:<7} feed p50 {statistics.median(r['feed_1']['p50'] for r in runs):.2f} ms, "
            f"{statistics.median(r['feed_8']['rps'] for r in runs):.0f} req/s at 8; "
            f"websocket p50 {statistics.median(r['ws']['p50'] for r in runs):.1f} ms, "
            f"p90 {statistics.median(r['ws']['p90'] for r in runs):.1f} ms"
        )
    print()
    print(f"feed p50 at 1 connection, after / before   {paired('feed_1', 'p50'):.2f}")
    print(f"feed req/s at 8 connections, after / before {paired('feed_8', 'rps'):.2f}")
    print(f"POST answered p50, after / before           {paired('ws', 'post_p50'):.2f}")
    print(f"websocket delivery p50, after / before      {paired('ws', 'p50'):.2f}")
    print(f"websocket delivery p90, after / before      {paired('ws', 'p90'):.2f}")
    path = harness.save("embedded", {"machine": harness.machine(), "runs": results})
    print(f"\nraw results: {path.relative_to(harness.ROOT)}")


if __name__ == "__main__":
    main()
