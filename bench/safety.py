"""What blocks and mutes cost the feed, search and the block request, measured in one run.

Seeds a PostgreSQL database with 10k users, 2M follows and 1M posts (`manage.py seed_demo`,
as bench/feed.py's large database), copies it (the copy is what this benchmark changes, so
`--reuse` keeps a clean original), prepares the accounts below with SQL, serves the copy
with gunicorn as production does, and prints the targets of the safety issue:

- feed p50, a user who blocks 1,000 and mutes 1,000 accounts / a user who blocks none <= 1.1
- search p50 (GET /api/posts/?q=<common word>), a user who blocks 1,000 / none       <= 1.2
- POST /api/users/{username}/block/ of an account you follow, that follows you and
  has 800 posts in your timeline: p50                                               <= 50 ms

Feed and search: --pairs users who block (1,000 accounts each, and mute 1,000 others) and
as many who block nobody, each pair chosen with the same following count, all from the
users following 150-250 accounts. The accounts blocked and muted are drawn at random among
those with no follow either way with the user; their posts, and reposts of them, are then
taken out of the timelines as the block and mute services do, so the data is what the
product would have made. Requests are sent one at a time, alternating the two sides request
by request on one server (the order swapping each time): on this shared two-core machine
other work moves a run's p50 by up to 2x over seconds, which alternating wrk runs of
seconds did not cancel (bench/sessions.py). A ratio is the median of per-block ratios of
p50 (blocks of --block pairs); the ratio over all requests is printed beside it.

Block requests: --blocks fresh (viewer, account) pairs after a few warm-up ones. Each pair
gets follows both ways and 800 new posts by the account in the viewer's timeline, inserted
with SQL once feed and search are measured (as the newest posts they would otherwise be
what search scans first); the viewer then blocks the account through the API (one request
at a time, a plain HTTP client on one connection), and the viewer's feed is read right
after: none of the 800 posts may be on it.

    .venv/bin/python bench/safety.py            # seeds (a few minutes), then measures
    .venv/bin/python bench/safety.py --reuse    # keeps the seeded original of an earlier run
"""

import argparse
import http.client
import json
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

ORIGINAL, DATABASE = "warble_bench12_1m", "warble_bench12_work"
PORT = 8721
SIDES = ("blocks", "none")
BLOCKS_PER_USER, MUTES_PER_USER, TIMELINE_POSTS = 1000, 1000, 800
SEARCH_WORDS = ["coffee", "music", "python", "weather", "time", "people"]
UNTHROTTLED = {
    f"THROTTLE_{scope}_RATE": "1000000/min"
    for scope in ("BLOCK", "FOLLOW", "LIKE", "REPOST", "REPORT", "POST", "PASSWORD_CHANGE")
}


def sql(query: str, params=()) -> list[tuple]:
    return harness.sql(DATABASE, query, params)


def copy_original() -> None:
    """A fresh copy of the seeded original (a file copy: nobody may be connected to it)."""
    started = time.monotonic()
    harness.sql("postgres", f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    harness.sql(
        "postgres", f'CREATE DATABASE "{DATABASE}" TEMPLATE "{ORIGINAL}" STRATEGY FILE_COPY'
    )
    harness.log(f"copied {ORIGINAL} to {DATABASE} in {time.monotonic() - started:.0f}s")


def following_counts() -> dict[int, int]:
    return dict(sql("SELECT follower_id, COUNT(*) FROM follows_follow GROUP BY follower_id"))


def pick_users(rng: random.Random, pairs: int, block_pairs: int):
    """(blockers, plain users) of equal following counts, and (viewer, account) pairs for
    the block requests; nobody in two roles."""
    counts = following_counts()
    typical = sorted(user for user, count in counts.items() if 150 <= count <= 250)
    rng.shuffle(typical)
    by_count: dict[int, list[int]] = {}
    for user in typical:
        by_count.setdefault(counts[user], []).append(user)
    blockers, plain = [], []
    for same in sorted(by_count.values(), key=len, reverse=True):
        while len(same) >= 2 and len(blockers) < pairs:
            blockers.append(same.pop())
            plain.append(same.pop())
    taken = set(blockers) | set(plain)
    rest = [user for user in typical if user not in taken]
    viewers = rest[:block_pairs]
    others = [user for user in counts if user not in taken and user not in set(viewers)]
    rng.shuffle(others)
    accounts = others[:block_pairs]
    return blockers, plain, list(zip(viewers, accounts, strict=True)), counts


def prepare_blockers(blockers: list[int], reserved: set[int], rng: random.Random) -> None:
    """1,000 blocks and 1,000 mutes for each blocker, of accounts with no follow either way,
    and their timelines cleaned as block_create / mute_create would have."""
    everyone = [row[0] for row in sql("SELECT id FROM accounts_user ORDER BY id")]
    for blocker in blockers:
        related = {
            row[0]
            for row in sql(
                "SELECT followee_id FROM follows_follow WHERE follower_id = %s UNION "
                "SELECT follower_id FROM follows_follow WHERE followee_id = %s",
                [blocker, blocker],
            )
        }
        candidates = [u for u in everyone if u not in related and u not in reserved]
        chosen = rng.sample(candidates, BLOCKS_PER_USER + MUTES_PER_USER)
        blocked, muted = chosen[:BLOCKS_PER_USER], chosen[BLOCKS_PER_USER:]
        sql(
            "INSERT INTO follows_block (blocker_id, blocked_id, created_at) "
            "SELECT %s, unnest(%s::bigint[]), now()",
            [blocker, blocked],
        )
        sql(
            "INSERT INTO follows_mute (muter_id, muted_id, created_at, expires_at) "
            "SELECT %s, unnest(%s::bigint[]), now(), NULL",
            [blocker, muted],
        )
        # What the services take out: the accounts' posts and reposts of them from the
        # blocker's timeline, and for a block the blocker's from the blocked account's.
        sql(
            "DELETE FROM posts_timelineentry t USING posts_post p "
            "LEFT JOIN posts_post o ON o.id = p.repost_of_id "
            "WHERE t.user_id = %s AND t.post_id = p.id "
            "AND (p.author_id = ANY(%s) OR o.author_id = ANY(%s))",
            [blocker, chosen, chosen],
        )
        sql(
            "DELETE FROM posts_timelineentry t USING posts_post p "
            "LEFT JOIN posts_post o ON o.id = p.repost_of_id "
            "WHERE t.user_id = ANY(%s) AND t.post_id = p.id "
            "AND (p.author_id = %s OR o.author_id = %s)",
            [blocked, blocker, blocker],
        )
        sql(
            "DELETE FROM notifications_notification WHERE recipient_id = %s AND actor_id = ANY(%s)",
            [blocker, chosen],
        )
    sql("ANALYZE follows_block")
    sql("ANALYZE follows_mute")


def prepare_block_pairs(pairs: list[tuple[int, int]]) -> None:
    """For each (viewer, account): follows both ways, 800 new posts by the account in the
    viewer's timeline, and the viewer's posts in the account's timeline."""
    for viewer, account in pairs:
        for follower, followee in ((viewer, account), (account, viewer)):
            added = sql(
                "INSERT INTO follows_follow (follower_id, followee_id, created_at) "
                "VALUES (%s, %s, now()) ON CONFLICT DO NOTHING RETURNING id",
                [follower, followee],
            )
            if added:
                sql(
                    "UPDATE accounts_user SET following_count = following_count + 1 WHERE id = %s",
                    [follower],
                )
                sql(
                    "UPDATE accounts_user SET followers_count = followers_count + 1 WHERE id = %s",
                    [followee],
                )
        sql(
            "WITH new AS (INSERT INTO posts_post (text, created_at, published_at, author_id, "
            "hashtags, mentions, like_count, reply_count, repost_count) "
            "SELECT 'Benchmark post number ' || n, now() - (%s - n) * interval '1 second', "
            "now(), %s, '[]', '[]', 0, 0, 0 FROM generate_series(1, %s) n RETURNING id) "
            "INSERT INTO posts_timelineentry (user_id, post_id) SELECT %s, id FROM new",
            [TIMELINE_POSTS, account, TIMELINE_POSTS, viewer],
        )
        sql(
            "UPDATE accounts_user SET posts_count = posts_count + %s WHERE id = %s",
            [TIMELINE_POSTS, account],
        )
        sql(
            "INSERT INTO posts_timelineentry (user_id, post_id) "
            "SELECT %s, id FROM posts_post WHERE author_id = %s ON CONFLICT DO NOTHING",
            [account, viewer],
        )
    sql("ANALYZE posts_post")
    sql("ANALYZE posts_timelineentry")
    sql("ANALYZE follows_follow")


def timeline_size(user: int) -> int:
    return sql("SELECT COUNT(*) FROM posts_timelineentry WHERE user_id = %s", [user])[0][0]


class Client:
    """One keep-alive connection (reopened whenever gunicorn closes it)."""

    def __init__(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)

    def call(self, method: str, path: str, token: str) -> tuple[float, int, bytes]:
        started = time.perf_counter()
        self.connection.request(method, path, headers={"Authorization": f"Bearer {token}"})
        response = self.connection.getresponse()
        body = response.read()
        return (time.perf_counter() - started) * 1000, response.status, body


def interleaved(client: Client, requests: list[tuple], pairs: int) -> dict[str, list[float]]:
    """Latencies (ms) of `pairs` request pairs: each pair is the same path read by a blocker
    and by a user who blocks nobody, in an order that swaps from pair to pair."""
    samples: dict[str, list[float]] = {"blocks": [], "none": []}
    for index in range(pairs):
        path, sides = requests[index % len(requests)]
        order = ["blocks", "none"] if index % 2 else ["none", "blocks"]
        for side in order:
            elapsed, status, _ = client.call("GET", path, sides[side])
            if status != 200:
                raise RuntimeError(f"{path} ({side}) answered {status}")
            samples[side].append(elapsed)
    return samples


def summary(samples: dict[str, list[float]], block: int) -> dict:
    blocks = [
        statistics.median(samples["blocks"][i : i + block])
        / statistics.median(samples["none"][i : i + block])
        for i in range(0, len(samples["blocks"]) - block + 1, block)
    ]
    return {
        "ratio": statistics.median(blocks),
        "per_block": blocks,
        "overall": statistics.median(samples["blocks"]) / statistics.median(samples["none"]),
        **{
            f"{side}_{name}": function(values)
            for side, values in samples.items()
            for name, function in (
                ("p50", statistics.median),
                ("p90", lambda v: harness.percentile(v, 0.9)),
                ("p99", lambda v: harness.percentile(v, 0.99)),
            )
        },
    }


def measure_blocks(
    client: Client, pairs: list[tuple[int, int]], tokens: dict[int, str], names: dict[int, str]
) -> tuple[list[float], list[float]]:
    """Block each pair's account through the API; return the block latencies (ms) and those
    of the viewer's feed read right after."""
    blocked, feeds = [], []
    for viewer, account in pairs:
        elapsed, status, _ = client.call(
            "POST", f"/api/users/{quote(names[account])}/block/", tokens[viewer]
        )
        if status != 201:
            raise RuntimeError(f"blocking {names[account]} answered {status}")
        blocked.append(elapsed)
        elapsed, status, body = client.call("GET", "/api/feed/", tokens[viewer])
        if status != 200:
            raise RuntimeError(f"the feed after a block answered {status}")
        shown = [
            post
            for post in json.loads(body)["results"]
            if post["author"]["username"] == names[account]
            or (post["repost_of"] or {}).get("author", {}).get("username") == names[account]
        ]
        if shown:
            raise RuntimeError(f"the feed of {viewer} still shows {len(shown)} blocked posts")
        feeds.append(elapsed)
        time.sleep(0.1)
    return blocked, feeds


def check_block_effects(pairs: list[tuple[int, int]]) -> None:
    for viewer, account in pairs:
        left = sql(
            "SELECT (SELECT COUNT(*) FROM posts_timelineentry t JOIN posts_post p "
            "ON p.id = t.post_id WHERE t.user_id = %s AND p.author_id = %s), "
            "(SELECT COUNT(*) FROM follows_follow WHERE (follower_id, followee_id) IN "
            "((%s, %s), (%s, %s)))",
            [viewer, account, viewer, account, account, viewer],
        )[0]
        if left != (0, 0):
            raise RuntimeError(f"after {viewer} blocked {account}: {left} entries/follows left")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded original")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--follows", type=int, default=2_000_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=10, help="blockers, and as many users without")
    parser.add_argument("--feed-pairs", type=int, default=6000, help="feed request pairs")
    parser.add_argument("--search-pairs", type=int, default=1500, help="search request pairs")
    parser.add_argument("--block", type=int, default=500, help="request pairs per block")
    parser.add_argument("--blocks", type=int, default=40, help="block requests measured")
    parser.add_argument("--warm-blocks", type=int, default=5, help="block requests not counted")
    args = parser.parse_args()
    rng = random.Random(12)

    harness.seed(
        ORIGINAL, users=args.users, follows=args.follows, posts=args.posts, reuse=args.reuse
    )
    copy_original()
    blockers, plain, block_pairs, counts = pick_users(
        rng, args.pairs, args.warm_blocks + args.blocks
    )
    reserved = set(blockers) | set(plain) | {user for pair in block_pairs for user in pair}
    started = time.monotonic()
    prepare_blockers(blockers, reserved, rng)
    harness.log(f"prepared the blockers in {time.monotonic() - started:.0f}s")
    tokens = harness.access_tokens(sorted(reserved))
    names = dict(
        sql("SELECT id, username FROM accounts_user WHERE id = ANY(%s)", [sorted(reserved)])
    )
    sizes = {user: timeline_size(user) for user in blockers + plain}

    feed = [
        ("/api/feed/", {"blocks": tokens[a], "none": tokens[b]})
        for a, b in zip(blockers, plain, strict=True)
    ]
    search = [
        (f"/api/posts/?q={quote(word)}", {"blocks": tokens[a], "none": tokens[b]})
        for word in SEARCH_WORDS
        for a, b in zip(blockers, plain, strict=True)
    ]
    rng.shuffle(search)

    with harness.gunicorn(DATABASE, PORT, **UNTHROTTLED):
        client = Client()
        harness.log("warming up")
        interleaved(client, feed, 1000)
        interleaved(client, search, 300)
        harness.log(f"feed: {args.feed_pairs:,} request pairs")
        feed_samples = interleaved(client, feed, args.feed_pairs)
        harness.log(f"search: {args.search_pairs:,} request pairs")
        search_samples = interleaved(client, search, args.search_pairs)
        search_paths = [search[i % len(search)][0] for i in range(args.search_pairs)]
        # The block pairs' posts are the newest: made only now, so that feed and search ran
        # on the seeded data alone (search reads posts newest first).
        prepare_block_pairs(block_pairs)
        posts_total = sql("SELECT COUNT(*) FROM posts_post")[0][0]
        harness.log(f"blocks: {args.warm_blocks} warm-up, {args.blocks} measured")
        measure_blocks(client, block_pairs[: args.warm_blocks], tokens, names)
        block_ms, after_ms = measure_blocks(client, block_pairs[args.warm_blocks :], tokens, names)
    check_block_effects(block_pairs)

    search_block = max(50, args.block * args.search_pairs // args.feed_pairs)
    results = {
        "feed": summary(feed_samples, args.block),
        "search": summary(search_samples, search_block),
        "block_ms": {
            "p50": statistics.median(block_ms),
            "p95": harness.percentile(block_ms, 0.95),
            "max": max(block_ms),
            "feed_after_p50": statistics.median(after_ms),
        },
    }
    print()
    print(f"machine: {harness.machine()}")
    print(
        f"data: {args.users:,} users, {args.follows:,} follows, {posts_total:,} posts "
        f"({args.posts:,} seeded during feed and search, then {TIMELINE_POSTS} for each block "
        "pair)"
    )
    print(
        f"{len(blockers)} blockers following {sorted(counts[u] for u in blockers)}, "
        f"timelines {sorted(sizes[u] for u in blockers)}"
    )
    print(
        f"{len(plain)} users blocking none, following {sorted(counts[u] for u in plain)}, "
        f"timelines {sorted(sizes[u] for u in plain)}"
    )
    print()
    print(f"{'one request at a time':<34} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for name, label in (("feed", "feed"), ("search", "search")):
        result = results[name]
        for side, who in (("blocks", "blocks 1,000"), ("none", "blocks none")):
            print(
                f"{label + ', ' + who:<34} {result[side + '_p50']:>8.2f} "
                f"{result[side + '_p90']:>8.2f} {result[side + '_p99']:>8.2f}"
            )
    block = results["block_ms"]
    print(
        f"block request ({args.blocks} accounts)   p50 {block['p50']:.1f} ms, "
        f"p95 {block['p95']:.1f} ms, max {block['max']:.1f} ms "
        f"(the feed right after: p50 {block['feed_after_p50']:.1f} ms)"
    )
    print()
    checks = [
        ("feed p50, blocks+mutes 1,000 each / none", results["feed"]["ratio"], 1.1),
        ("search p50, blocks 1,000 / none", results["search"]["ratio"], 1.2),
        ("block request p50, ms", block["p50"], 50),
    ]
    for word in SEARCH_WORDS:
        path = f"/api/posts/?q={quote(word)}"
        mine = [i for i, p in enumerate(search_paths) if p == path]
        p50s = [statistics.median(search_samples[side][i] for i in mine) for side in SIDES]
        results["search"][f"p50_{word}"] = p50s
        print(f"search '{word}': p50 {p50s[0]:.2f} ms with 1,000 blocks, {p50s[1]:.2f} ms without")
    print()
    for name in ("feed", "search"):
        per_block = ", ".join(f"{r:.3f}" for r in results[name]["per_block"])
        print(f"{name} per-block ratios: {per_block}")
    print()
    for label, value, limit in checks:
        print(f"{label:<44} {value:>7.3f} <= {limit:<4} {harness.verdict(value, limit)}")
    print(
        f"(ratios over all requests: feed {results['feed']['overall']:.3f}, "
        f"search {results['search']['overall']:.3f})"
    )
    path = harness.save(
        "safety",
        {
            "machine": harness.machine(),
            "results": results,
            "samples_ms": {"feed": feed_samples, "search": search_samples, "block": block_ms},
        },
    )
    print(f"\nraw results: {path.relative_to(harness.ROOT)}")
    if any(harness.verdict(value, limit) == "FAIL" for _, value, limit in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
