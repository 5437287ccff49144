"""Live notifications, measured with the production transport (RabbitMQ) in one run.

Seeds a PostgreSQL database (10k users, 500k follows, 100k posts, and `usercelebrity`
followed by all 10k), then:

A. create-post p50, author with 10k followers / author with none       <= 1.2
   (gunicorn, wrk POSTs; no worker runs, so the fan-out cannot be on the request's path
   even by competing for CPU: the request only publishes to the queue)
B. fan-out by one `fanout_worker`: rows written per second (timeline + notification)
   through a backlog of 20 10k-follower posts, from the first commit to the last row
   (>= 100k rows/s); and the time from commit to the last row of one 10k-follower post,
   p99 over repeated posts one at a time (<= 0.5 s)
C. 200 connected followers, 10 posts/s: delivery latency from the post's commit
   (`created_at`, same clock) to the frame received, p99 <= 60 ms and <= 4x p50
D. burst: 100 posts at once to the same 200 sockets, frames/s received (>= 10k/s per
   websocket process)
C and D run for uvicorn and for daphne, to choose the websocket server by the numbers.

    .venv/bin/python bench/realtime.py [--reuse]

Needs RabbitMQ (BENCH_RABBITMQ_URL, default amqp://guest:guest@127.0.0.1:5672/).
"""

import argparse
import asyncio
import collections
import json
import os
import statistics
import sys
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import websockets

from bench import harness

DATABASE = "warble_bench_live"
BROKER = os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/").rstrip("/")
API_PORT, WS_PORT = 8711, 8712
BACKLOG = 20


def post(base: str, token: str, text: str) -> dict:
    request = urllib.request.Request(
        f"{base}/api/posts/",
        data=json.dumps({"text": text}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def user_id(username: str) -> int:
    return harness.sql(DATABASE, "SELECT id FROM accounts_user WHERE username = %s", [username])[0][
        0
    ]


def ensure_audience(author: str, followers: int) -> tuple[int, list[int]]:
    """An author followed by exactly `followers` users (created once)."""
    rows = harness.sql(DATABASE, "SELECT id FROM accounts_user WHERE username = %s", [author])
    if not rows:
        harness.sql(
            DATABASE,
            "INSERT INTO accounts_user (username, password, is_superuser, is_staff, is_active, "
            "date_joined, display_name, bio, avatar, first_name, last_name, email) "
            "VALUES (%s, '!', false, false, true, now(), %s, '', '', '', '', '')",
            [author, author],
        )
    author_id = user_id(author)
    fans = [
        row[0]
        for row in harness.sql(
            DATABASE,
            "SELECT id FROM accounts_user WHERE username ~ '^user[0-9]+$' ORDER BY id LIMIT %s",
            [followers],
        )
    ]
    harness.sql(
        DATABASE,
        "INSERT INTO follows_follow (follower_id, followee_id, created_at) "
        "SELECT unnest(%s::bigint[]), %s, now() - interval '1 day' ON CONFLICT DO NOTHING",
        [fans, author_id],
    )
    return author_id, fans


def broker_env(queue: str) -> dict:
    return {"RABBITMQ_URL": BROKER, "POSTS_QUEUE": queue, "CHANNEL_LAYER_EXCHANGE": "bench.groups"}


def delete_queue(queue: str) -> None:
    import aio_pika

    async def run():
        connection = await aio_pika.connect(BROKER)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(queue)

    asyncio.run(run())


# --- A: create-post latency ---------------------------------------------------------------


def create_post_latency(tokens: dict, rounds: int, duration: int) -> dict:
    queue = f"bench-posts-{uuid.uuid4().hex[:8]}"
    runs: dict[str, list[dict]] = collections.defaultdict(list)
    body = json.dumps({"text": "benchmark post"})
    try:
        with harness.gunicorn(DATABASE, API_PORT, **broker_env(queue)):
            base = f"http://127.0.0.1:{API_PORT}"
            for name in ("celebrity", "quiet"):  # warm up, and declare the queue
                post(base, tokens[name], "warm-up")
                harness.wrk(
                    base, [("POST", "/api/posts/", tokens[name], body)], connections=4, duration=2
                )
            for round_number in range(rounds):
                for name in ("celebrity", "quiet"):
                    stats = harness.wrk(
                        base,
                        [("POST", "/api/posts/", tokens[name], body)],
                        connections=4,
                        duration=duration,
                    )
                    runs[name].append(stats)
                    harness.log(
                        f"  A round {round_number + 1}: {name}: p50 {stats['p50']:.2f} ms, "
                        f"{stats['rps']:.0f} posts/s"
                    )
    finally:
        delete_queue(queue)
    unpublished = harness.sql(
        DATABASE, "SELECT COUNT(*) FROM posts_post WHERE published_at IS NULL"
    )[0][0]
    return {
        "p50_10k_followers": harness.median_of(runs["celebrity"], "p50"),
        "p50_no_followers": harness.median_of(runs["quiet"], "p50"),
        "posts_per_second_10k_followers": harness.median_of(runs["celebrity"], "rps"),
        "unpublished_posts": unpublished,
        "runs": runs,
    }


# --- B: fan-out rate ----------------------------------------------------------------------


def sentinels(author_id: int) -> list[int]:
    """One follower per fan-out page (FANOUT_BATCH_SIZE, default 1000, in follow order): a
    page is one transaction, so its first recipient's row means the whole page is there.
    Polling these few rows costs the database nothing, unlike counting every row."""
    followers = [
        row[0]
        for row in harness.sql(
            DATABASE,
            "SELECT follower_id FROM follows_follow WHERE followee_id = %s ORDER BY id",
            [author_id],
        )
    ]
    return followers[::1000] + followers[-1:]


def wait_persisted(post_ids: list[int], marks: list[int]) -> float:
    """Poll until every page of every post is committed; return the time it was seen."""
    expected = len(post_ids) * len(marks)
    while True:
        found = harness.sql(
            DATABASE,
            "SELECT COUNT(*) FROM notifications_notification "
            "WHERE post_id = ANY(%s) AND recipient_id = ANY(%s)",
            [post_ids, marks],
        )[0][0]
        if found >= expected:
            return time.time()
        time.sleep(0.005)


def fanout_rate(tokens: dict, celebrity: int, celebrity_followers: int, repeats: int) -> dict:
    queue = f"bench-posts-{uuid.uuid4().hex[:8]}"
    marks = sentinels(celebrity)
    durations = []
    try:
        with (
            harness.gunicorn(DATABASE, API_PORT, **broker_env(queue)),
            harness.fanout_worker(DATABASE, **broker_env(queue)),
        ):
            base = f"http://127.0.0.1:{API_PORT}"
            for index in range(repeats + 2):
                created = post(base, tokens["celebrity"], f"fan-out {index}")
                committed = datetime.fromisoformat(created["created_at"]).timestamp()
                done = wait_persisted([created["id"]], marks)
                counts = harness.sql(
                    DATABASE,
                    "SELECT (SELECT COUNT(*) FROM notifications_notification WHERE post_id = %s),"
                    " (SELECT COUNT(*) FROM posts_timelineentry WHERE post_id = %s)",
                    [created["id"], created["id"]],
                )[0]
                if counts != (celebrity_followers, celebrity_followers + 1):
                    raise RuntimeError(f"post {created['id']}: {counts} rows after fan-out")
                if index >= 2:  # the first two warm the worker up
                    durations.append(done - committed)
                    harness.log(
                        f"  B post {index - 1}: persisted in {1000 * (done - committed):.0f} ms"
                    )
            # Throughput: a backlog of BACKLOG posts, from the first commit to the last row.
            created = [post(base, tokens["celebrity"], f"backlog {i}") for i in range(BACKLOG)]
            started = datetime.fromisoformat(created[0]["created_at"]).timestamp()
            ids = [item["id"] for item in created]
            backlog_seconds = wait_persisted(ids, marks) - started
            total = harness.sql(
                DATABASE,
                "SELECT COUNT(*) FROM notifications_notification WHERE post_id = ANY(%s)",
                [ids],
            )[0][0]
            if total != BACKLOG * celebrity_followers:
                raise RuntimeError(f"{total} notifications after the backlog")
    finally:
        delete_queue(queue)
    rows_per_post = 2 * celebrity_followers
    return {
        "persist_p50_ms": 1000 * statistics.median(durations),
        "persist_p99_ms": 1000 * harness.percentile(durations, 0.99),
        "persist_max_ms": 1000 * max(durations),
        "rows_per_second_single_post": rows_per_post / statistics.median(durations),
        "rows_per_second_backlog": BACKLOG * rows_per_post / backlog_seconds,
        "durations_s": durations,
    }


# --- C and D: websocket delivery ---------------------------------------------------------


async def websocket_runs(kind: str, author_token: str, fan_tokens: list[str], seconds: int) -> dict:
    received: dict[int, list[float]] = collections.defaultdict(list)
    arrivals: list[float] = []
    latencies: list[float] = []
    phase = {"name": "live"}
    sockets = []
    for token in fan_tokens:
        sockets.append(
            await websockets.connect(
                f"ws://127.0.0.1:{WS_PORT}/ws/notifications/",
                additional_headers={"Authorization": f"Bearer {token}"},
                max_queue=None,
            )
        )

    async def listen(index, socket):
        async for frame in socket:
            now = time.time()
            event = json.loads(frame)
            if event.get("type") != "post.created":
                continue
            received[index].append(event["post"]["id"])
            if phase["name"] == "live":
                created = datetime.fromisoformat(event["post"]["created_at"]).timestamp()
                latencies.append(now - created)
            else:
                arrivals.append(now)

    listeners = [asyncio.create_task(listen(i, s)) for i, s in enumerate(sockets)]
    base = f"http://127.0.0.1:{API_PORT}"

    # C: a steady 10 posts/s.
    live_ids = []
    started = time.monotonic()
    for index in range(10 * seconds):
        target = started + index / 10
        await asyncio.sleep(max(0.0, target - time.monotonic()))
        live_ids.append((await asyncio.to_thread(post, base, author_token, f"live {index}"))["id"])
    await wait_all(received, len(sockets), set(live_ids), 30)
    live_delivered = len(latencies)

    # D: a burst of 100 posts, 10 at a time.
    phase["name"] = "burst"
    burst_ids = []
    for start in range(0, 100, 10):
        created = await asyncio.gather(
            *(
                asyncio.to_thread(post, base, author_token, f"burst {i}")
                for i in range(start, start + 10)
            )
        )
        burst_ids += [item["id"] for item in created]
    await wait_all(received, len(sockets), set(live_ids) | set(burst_ids), 60)
    for task in listeners:
        task.cancel()
    for socket in sockets:
        await socket.close()
    expected_burst = len(sockets) * len(burst_ids)
    span = max(arrivals) - min(arrivals)
    p50 = 1000 * harness.percentile(latencies, 0.50)
    p99 = 1000 * harness.percentile(latencies, 0.99)
    harness.log(
        f"  {kind}: live p50 {p50:.1f} ms, p99 {p99:.1f} ms ({live_delivered} frames); "
        f"burst {len(arrivals)} frames in {span:.2f} s = {len(arrivals) / span:,.0f} frames/s"
    )
    return {
        "live_frames": live_delivered,
        "live_expected": len(sockets) * len(live_ids),
        "latency_p50_ms": p50,
        "latency_p99_ms": p99,
        "latency_max_ms": 1000 * max(latencies),
        "burst_frames": len(arrivals),
        "burst_expected": expected_burst,
        "burst_seconds": span,
        "burst_frames_per_second": len(arrivals) / span,
    }


async def wait_all(received, clients: int, expected: set, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(expected <= set(received[i]) for i in range(clients)):
            return
        await asyncio.sleep(0.05)
    missing = sum(len(expected - set(received[i])) for i in range(clients))
    raise RuntimeError(f"{missing} deliveries missing after {timeout}s")


def websocket_benchmark(kind: str, tokens: dict, fan_tokens: list[str], seconds: int) -> dict:
    queue = f"bench-posts-{uuid.uuid4().hex[:8]}"
    env = broker_env(queue)
    try:
        with (
            harness.gunicorn(DATABASE, API_PORT, **env),
            harness.fanout_worker(DATABASE, **env),
            harness.asgi_server(kind, DATABASE, WS_PORT, **env),
        ):
            return asyncio.run(websocket_runs(kind, tokens["ws_author"], fan_tokens, seconds))
    finally:
        delete_queue(queue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=30, help="posts timed in part B")
    parser.add_argument("--seconds", type=int, default=20, help="length of the 10 posts/s run")
    args = parser.parse_args()

    harness.seed(
        DATABASE, users=10_000, follows=500_000, posts=100_000, celebrity=10_000, reuse=args.reuse
    )
    celebrity = user_id("usercelebrity")
    celebrity_followers = harness.sql(
        DATABASE, "SELECT COUNT(*) FROM follows_follow WHERE followee_id = %s", [celebrity]
    )[0][0]
    quiet, _ = ensure_audience("bench_quiet", 0)
    ws_author, fans = ensure_audience("bench_ws_author", 200)
    tokens_by_id = harness.access_tokens([celebrity, quiet, ws_author, *fans])
    tokens = {
        "celebrity": tokens_by_id[celebrity],
        "quiet": tokens_by_id[quiet],
        "ws_author": tokens_by_id[ws_author],
    }
    fan_tokens = [tokens_by_id[fan] for fan in fans]

    harness.log(f"A: create-post latency ({celebrity_followers:,} followers vs none)")
    create = create_post_latency(tokens, args.rounds, args.duration)
    harness.log("B: fan-out of a 10k-follower post")
    fanout = fanout_rate(tokens, celebrity, celebrity_followers, args.repeats)
    servers = {}
    for kind in ("uvicorn", "daphne"):
        harness.log(f"C+D: websocket delivery on {kind}")
        servers[kind] = websocket_benchmark(kind, tokens, fan_tokens, args.seconds)

    print()
    print(f"machine: {harness.machine()}")
    print(
        f"A  create-post p50: {create['p50_10k_followers']:.2f} ms with {celebrity_followers:,} "
        f"followers, {create['p50_no_followers']:.2f} ms with none"
    )
    print(
        f"B  fan-out of {celebrity_followers:,} followers: persisted p50 "
        f"{fanout['persist_p50_ms']:.0f} ms, p99 {fanout['persist_p99_ms']:.0f} ms; "
        f"{fanout['rows_per_second_single_post']:,.0f} rows/s one post at a time, "
        f"{fanout['rows_per_second_backlog']:,.0f} rows/s through a backlog of {BACKLOG}"
    )
    for kind, result in servers.items():
        print(
            f"CD {kind:8} latency p50 {result['latency_p50_ms']:.1f} ms, p99 "
            f"{result['latency_p99_ms']:.1f} ms, max {result['latency_max_ms']:.1f} ms "
            f"({result['live_frames']}/{result['live_expected']} frames); burst "
            f"{result['burst_frames_per_second']:,.0f} frames/s "
            f"({result['burst_frames']}/{result['burst_expected']} frames)"
        )
    chosen = servers["uvicorn"]
    checks = [
        (
            "create-post p50, 10k followers / none",
            create["p50_10k_followers"] / create["p50_no_followers"],
            1.2,
            False,
        ),
        (
            "fan-out rows/s (backlog of 10k-follower posts)",
            fanout["rows_per_second_backlog"],
            100_000,
            True,
        ),
        ("10k-follower post persisted, p99 seconds", fanout["persist_p99_ms"] / 1000, 0.5, False),
        ("delivery latency p99 ms (uvicorn)", chosen["latency_p99_ms"], 60, False),
        (
            "delivery p99 / p50 (uvicorn)",
            chosen["latency_p99_ms"] / chosen["latency_p50_ms"],
            4,
            False,
        ),
        (
            "burst frames/s per websocket process (uvicorn)",
            chosen["burst_frames_per_second"],
            10_000,
            True,
        ),
    ]
    print()
    print(f"{'check':<50} {'value':>10} {'target':>10}")
    for label, value, limit, at_least in checks:
        target = f">= {limit:,}" if at_least else f"<= {limit}"
        outcome = harness.verdict(value, limit, at_least=at_least)
        print(f"{label:<50} {value:>10,.2f} {target:>10}  {outcome}")
    path = harness.save(
        "realtime",
        {"machine": harness.machine(), "create": create, "fanout": fanout, "servers": servers},
    )
    print(f"\nraw results: {path.relative_to(harness.ROOT)}")
    if any(harness.verdict(v, limit, at_least=a) == "FAIL" for _, v, limit, a in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
