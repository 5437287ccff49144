"""Replies, likes, counters, viewer flags and tag pages at scale, measured as ratios in one run.

One PostgreSQL database: the 10k users, 2M follows and 1M posts of `bench/feed.py` (written
by `seed_demo` as it was before this change, at commit f0eeb3b, then migrated forward),
plus, written in SQL with every counter set to its row count:

- about 400k likes and 80k bookmarks spread over the posts in the users' timelines, so
  that feed pages carry real viewer flags;
- 1,000,000 more accounts (`b11fan<n>`), all following `b11celebrity`; `b11quiet` has 10
  followers;
- posts of `b11author`: one with 100,000 likes (fans 1-100,000), one with 100,000 replies
  (by fans 100,001-200,000), a new one with none, and 64 more for the contention runs;
- `#b11big` on every 10th of the 1M posts (100,000) and `#b11small` on 100 of them, among
  1,000 other tags on every third post (333 posts each), so a tag page shares its table
  with other tags as in real data.

The API is served as production serves it (gunicorn, 4 sync workers); likes publish their
events to RabbitMQ, where one `fanout_worker` consumes them. The code before this change
is served by the same gunicorn from a git worktree of f0eeb3b against the same database
(it selects only the columns it knows). Targets, each a ratio of runs alternated in one run:

1. feed page p50, with counts and viewer flags / before this change         <= 1.15
   (and the same number of queries for page_size=1 and page_size=100)
2. like p50, post with 100k likes / new post                                <= 1.2
3. profile p50, account with 1M followers / with 10                         <= 1.2
4. like req/s, 32 clients on the same post / 32 clients on different posts  >= 0.7
5. replies/ of a post with 100k replies, next page p50 / first page p50     <= 1.15
6. tag page p50, tag on 100k of 1M posts / tag on 100 posts                 <= 1.5

Latency runs use one connection (`wrk -t1 -c1`), so their p50 is the service time of a
request on an otherwise idle server; the two contention runs use 32 (`wrk -t1 -c32`).
Every measured run follows a 2-second warm-up run of the same requests. A like run cycles
through 512 users: each likes the post, then (512 requests later) takes the like back, so
its p50 is that of the like/unlike pair; after each like run the likes are reset in SQL.
The verdict is on the median of the per-round ratios; the ratio of the medians is printed
beside it.

    .venv/bin/python bench/interactions.py            # seeds (~6 min), then measures (~9 min)
    .venv/bin/python bench/interactions.py --reuse    # keeps the database of an earlier run

Needs PostgreSQL, wrk and RabbitMQ (BENCH_RABBITMQ_URL, default
amqp://guest:guest@127.0.0.1:5672/), and a worktree of f0eeb3b (created at
BENCH_BEFORE_DIR, default /tmp/warble-before, when missing).
"""

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

DATABASE = "warble_bench11_1m"
BEFORE_COMMIT = "f0eeb3b"
BEFORE_DIR = Path(os.environ.get("BENCH_BEFORE_DIR", "/tmp/warble-before"))  # noqa: S108
BROKER = os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/").rstrip("/")
FANS = 1_000_000
HOT_LIKES = 100_000
REPLIES = 100_000
LIKERS = 512  # accounts that like and unlike in the like runs
DIFFERENT_POSTS = 64
BEFORE_PORT, AFTER_PORT = 8721, 8722
SEED_VERSION = "2"


def log(message: str) -> None:
    harness.log(message)


def sql(query: str, params=()) -> list[tuple]:
    return harness.sql(DATABASE, query, params)


def timed_sql(label: str, *statements) -> None:
    """Run statements, each a query or a (query, params) pair, in order; log the time."""
    started = time.monotonic()
    for statement in statements:
        query, params = statement if isinstance(statement, tuple) else (statement, ())
        sql(query, params)
    log(f"  {label}: {time.monotonic() - started:.1f}s")


# --- data ---------------------------------------------------------------------------------


def ensure_before_worktree() -> None:
    if not (BEFORE_DIR / "manage.py").exists():
        subprocess.run(
            ["git", "worktree", "add", str(BEFORE_DIR), BEFORE_COMMIT], cwd=harness.ROOT, check=True
        )
    head = subprocess.run(
        ["git", "rev-parse", "--short=7", "HEAD"],
        cwd=BEFORE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if head != BEFORE_COMMIT:
        raise SystemExit(f"{BEFORE_DIR} is at {head}, not {BEFORE_COMMIT}")


def seeded() -> dict | None:
    if not harness.database_exists(DATABASE):
        return None
    rows = (
        sql(
            "SELECT value FROM bench11_meta WHERE key = 'ids' AND "
            "EXISTS (SELECT 1 FROM bench11_meta WHERE key = 'version' AND value = %s)",
            [json.dumps(SEED_VERSION)],
        )
        if sql("SELECT to_regclass('bench11_meta') IS NOT NULL")[0][0]
        else []
    )
    return json.loads(rows[0][0]) if rows else None


def seed(reuse: bool) -> dict:
    if reuse:
        ids = seeded()
        if ids is not None:
            log(f"reusing {DATABASE}")
            return ids
    log(
        f"seeding {DATABASE}: 10,000 users, 2,000,000 follows, 1,000,000 posts (seed_demo "
        f"of {BEFORE_COMMIT}), then this change's migrations and the interactions in SQL"
    )
    harness.sql("postgres", f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    harness.sql("postgres", f'CREATE DATABASE "{DATABASE}"')
    env = harness.base_env(DATABASE)
    started = time.monotonic()
    python = harness.PYTHON
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=BEFORE_DIR, env=env, check=True)
    subprocess.run(
        [
            python,
            "manage.py",
            "seed_demo",
            "--users=10000",
            "--follows=2000000",
            "--posts=1000000",
        ],
        cwd=BEFORE_DIR,
        env=env,
        check=True,
    )
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=harness.ROOT, env=env, check=True)
    log(f"seed_demo and migrations: {time.monotonic() - started:.0f}s")
    ids = add_interactions()
    log(f"seeded {DATABASE} in {time.monotonic() - started:.0f}s")
    return ids


def add_interactions() -> dict:
    """The rows of the special cases, written in SQL, with every counter equal to its rows."""
    base_max = sql("SELECT MAX(id) FROM posts_post")[0][0]
    user_columns = (
        "username, password, is_superuser, is_staff, is_active, date_joined, display_name, "
        "bio, avatar, first_name, last_name, email, followers_count, following_count, "
        "posts_count"
    )
    timed_sql(
        "likes and bookmarks in timelines",
        "INSERT INTO posts_like (user_id, post_id, created_at) SELECT user_id, post_id, now() "
        "FROM posts_timelineentry WHERE (user_id * 31 + post_id) %% 20 = 0",
        "INSERT INTO posts_bookmark (user_id, post_id, created_at) SELECT user_id, post_id, "
        "now() FROM posts_timelineentry WHERE (user_id * 31 + post_id) %% 100 = 7",
    )
    timed_sql(
        f"{FANS:,} accounts",
        (
            f"INSERT INTO accounts_user ({user_columns}) "  # noqa: S608
            "SELECT 'b11fan' || g, '!', false, false, true, now(), 'Fan ' || g, '', '', '', '', "
            "'', 0, 0, 0 FROM generate_series(1, %s) g ORDER BY g",
            [FANS],
        ),
    )
    sql(
        f"INSERT INTO accounts_user ({user_columns}) "  # noqa: S608
        "SELECT name, '!', false, false, true, now(), name, '', '', '', '', '', 0, 0, 0 "
        "FROM unnest(ARRAY['b11celebrity', 'b11quiet', 'b11author']) name"
    )
    users = dict(
        sql(
            "SELECT username, id FROM accounts_user WHERE username IN "
            "('b11celebrity', 'b11quiet', 'b11author', 'b11fan1')"
        )
    )
    first_fan = users["b11fan1"]  # fans have consecutive ids
    timed_sql(
        f"{FANS:,} follows of b11celebrity",
        (
            "INSERT INTO follows_follow (follower_id, followee_id, created_at) "
            "SELECT id, %s, now() - interval '1 day' FROM accounts_user "
            "WHERE id BETWEEN %s AND %s ORDER BY id",
            [users["b11celebrity"], first_fan, first_fan + FANS - 1],
        ),
    )
    sql(
        "INSERT INTO follows_follow (follower_id, followee_id, created_at) "
        "SELECT id, %s, now() - interval '1 day' FROM accounts_user "
        "WHERE username ~ '^user[0-9]+$' ORDER BY id LIMIT 10",
        [users["b11quiet"]],
    )
    post_columns = (
        "author_id, text, created_at, published_at, reply_to_id, reply_to_author_id, "
        "conversation, repost_of_id, reply_count, like_count, repost_count, mentions, hashtags"
    )

    def new_post(text: str) -> int:
        return sql(
            f"INSERT INTO posts_post ({post_columns}) "  # noqa: S608
            "VALUES (%s, %s, now(), now(), NULL, NULL, NULL, NULL, 0, 0, 0, '[]', '[]') "
            "RETURNING id",
            [users["b11author"], text],
        )[0][0]

    hot = new_post("A post everybody likes")
    thread = new_post("A post everybody answers")
    fresh = new_post("A new post")
    same = new_post("A post liked by 32 clients at once")
    different = [new_post(f"One of {DIFFERENT_POSTS} posts") for _ in range(DIFFERENT_POSTS)]
    timed_sql(
        f"{HOT_LIKES:,} likes of one post",
        (
            "INSERT INTO posts_like (user_id, post_id, created_at) "
            "SELECT g, %s, now() - interval '1 hour' FROM generate_series(%s, %s) g",
            [hot, first_fan, first_fan + HOT_LIKES - 1],
        ),
    )
    timed_sql(
        f"{REPLIES:,} replies to one post",
        (
            f"INSERT INTO posts_post ({post_columns}) "  # noqa: S608
            "SELECT g, 'Reply number ' || (g - %s), now() - interval '1 hour', now(), %s, %s, "
            "%s, NULL, 0, 0, 0, '[]', '[]' FROM generate_series(%s, %s) g ORDER BY g",
            [
                first_fan,
                thread,
                users["b11author"],
                thread,
                first_fan + HOT_LIKES,
                first_fan + HOT_LIKES + REPLIES - 1,
            ],
        ),
    )
    tags = dict(
        sql(
            "INSERT INTO posts_hashtag (name, created_at) VALUES ('b11big', now()), "
            "('b11small', now()) RETURNING name, id"
        )
    )
    add_background_tags(base_max)
    for name, condition in (("b11big", "id %% 10 = 0"), ("b11small", "id %% 10000 = 5")):
        timed_sql(
            f"#{name}",
            (
                "INSERT INTO posts_posthashtag (hashtag_id, post_id, author_id, created_at) "  # noqa: S608
                "SELECT %s, id, author_id, created_at FROM posts_post "
                f"WHERE id <= %s AND {condition}",
                [tags[name], base_max],
            ),
            (
                f"UPDATE posts_post SET text = text || ' #{name}', hashtags = %s "  # noqa: S608
                f"WHERE id <= %s AND {condition}",
                [json.dumps([name]), base_max],
            ),
        )
    timed_sql(
        "post counters",
        "UPDATE posts_post p SET like_count = c.n FROM (SELECT post_id, COUNT(*) n "
        "FROM posts_like GROUP BY post_id) c WHERE p.id = c.post_id",
        "UPDATE posts_post p SET reply_count = c.n FROM (SELECT reply_to_id, COUNT(*) n "
        "FROM posts_post WHERE reply_to_id IS NOT NULL GROUP BY reply_to_id) c "
        "WHERE p.id = c.reply_to_id",
    )
    timed_sql(
        "account counters",
        "UPDATE accounts_user u SET following_count = c.n FROM (SELECT follower_id, COUNT(*) n "
        "FROM follows_follow GROUP BY follower_id) c WHERE u.id = c.follower_id",
        "UPDATE accounts_user u SET followers_count = c.n FROM (SELECT followee_id, COUNT(*) n "
        "FROM follows_follow GROUP BY followee_id) c WHERE u.id = c.followee_id",
        "UPDATE accounts_user u SET posts_count = c.n FROM (SELECT author_id, COUNT(*) n "
        "FROM posts_post GROUP BY author_id) c WHERE u.id = c.author_id",
    )
    timed_sql("VACUUM (ANALYZE)", "VACUUM (ANALYZE)")
    ids = {
        "hot": hot,
        "thread": thread,
        "fresh": fresh,
        "same": same,
        "different": different,
        "first_fan": first_fan,
        "base_max": base_max,
        **users,
    }
    sql("CREATE TABLE bench11_meta (key text PRIMARY KEY, value text)")
    sql(
        "INSERT INTO bench11_meta VALUES ('ids', %s), ('version', %s)",
        [json.dumps(ids), json.dumps(SEED_VERSION)],
    )
    return ids


def add_background_tags(base_max: int) -> None:
    """1,000 tags `b11t<n>`, each on 333 posts: every third post carries one."""
    sql(
        "INSERT INTO posts_hashtag (name, created_at) "
        "SELECT 'b11t' || g, now() FROM generate_series(0, 999) g"
    )
    timed_sql(
        "1,000 other tags on every third post",
        (
            "INSERT INTO posts_posthashtag (hashtag_id, post_id, author_id, created_at) "
            "SELECT h.id, p.id, p.author_id, p.created_at FROM posts_post p "
            "JOIN posts_hashtag h ON h.name = 'b11t' || ((p.id / 3) %% 1000) "
            "WHERE p.id <= %s AND p.id %% 3 = 1",
            [base_max],
        ),
        (
            "UPDATE posts_post SET text = text || ' #b11t' || ((id / 3) %% 1000), "
            "hashtags = hashtags || jsonb_build_array('b11t' || ((id / 3) %% 1000)) "
            "WHERE id <= %s AND id %% 3 = 1",
            [base_max],
        ),
    )


def describe(ids: dict) -> dict:
    """The special cases as the database holds them (rows and counters)."""
    rows = sql(
        "SELECT "
        "(SELECT COUNT(*) FROM posts_post WHERE id <= %(base_max)s), "
        "(SELECT COUNT(*) FROM posts_post), "
        "(SELECT COUNT(*) FROM accounts_user), "
        "(SELECT COUNT(*) FROM posts_like), "
        "(SELECT COUNT(*) FROM posts_like WHERE post_id = %(hot)s), "
        "(SELECT like_count FROM posts_post WHERE id = %(hot)s), "
        "(SELECT COUNT(*) FROM posts_post WHERE reply_to_id = %(thread)s), "
        "(SELECT reply_count FROM posts_post WHERE id = %(thread)s), "
        "(SELECT COUNT(*) FROM follows_follow WHERE followee_id = %(celebrity)s), "
        "(SELECT followers_count FROM accounts_user WHERE id = %(celebrity)s), "
        "(SELECT followers_count FROM accounts_user WHERE id = %(quiet)s), "
        "(SELECT COUNT(*) FROM posts_posthashtag h JOIN posts_hashtag t ON t.id = h.hashtag_id "
        " WHERE t.name = 'b11big'), "
        "(SELECT COUNT(*) FROM posts_posthashtag h JOIN posts_hashtag t ON t.id = h.hashtag_id "
        " WHERE t.name = 'b11small'), "
        "(SELECT COUNT(*) FROM posts_posthashtag)",
        {
            "hot": ids["hot"],
            "thread": ids["thread"],
            "celebrity": ids["b11celebrity"],
            "quiet": ids["b11quiet"],
            "base_max": ids["base_max"],
        },
    )[0]
    names = [
        "base_posts",
        "posts",
        "users",
        "likes",
        "hot_post_likes",
        "hot_post_like_count",
        "thread_replies",
        "thread_reply_count",
        "celebrity_followers",
        "celebrity_followers_count",
        "quiet_followers_count",
        "big_tag_posts",
        "small_tag_posts",
        "tag_links",
    ]
    return dict(zip(names, rows, strict=True))


# --- servers and load ---------------------------------------------------------------------


@contextmanager
def gunicorn(cwd: Path, port: int, **extra_env):
    """gunicorn as production runs it (as harness.gunicorn), from the checkout at `cwd`."""
    env = harness.base_env(
        DATABASE,
        SERVER_ADDRESS="127.0.0.1",
        SERVER_PORT=port,
        WEB_CONCURRENCY=4,
        DATABASE_POOL_MAX_SIZE=2,
        THROTTLE_LIKE_RATE="1000000/min",
        **extra_env,
    )
    command = [
        str(Path(harness.PYTHON).parent / "gunicorn"),
        "-c",
        "config/gunicorn.py",
        "config.wsgi",
    ]
    process = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True)
    try:
        harness.wait_http(f"http://127.0.0.1:{port}/healthz")
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wrk(base: str, requests: list[tuple], *, connections: int, duration: int) -> dict:
    """harness.wrk with one wrk thread, so the requests are sent in the order of the list
    (a like and its undo never overlap)."""
    return harness.wrk(base, requests, connections=connections, duration=duration, threads=1)


def get_json(base: str, path: str, token: str) -> dict:
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def typical_users(count: int, rng: random.Random) -> list[int]:
    rows = sql(
        "SELECT follower_id FROM follows_follow f JOIN accounts_user u ON u.id = f.follower_id "
        "WHERE u.username ~ '^user[0-9]+$' GROUP BY follower_id "
        "HAVING COUNT(*) BETWEEN 100 AND 400 ORDER BY follower_id"
    )
    return rng.sample([row[0] for row in rows], min(count, len(rows)))


def reset_likes(likers: list[int], post_ids: list[int], ids: dict) -> None:
    """Undo what a like run left (a run stops mid-cycle), counters and notifications too."""
    sql("DELETE FROM posts_like WHERE user_id = ANY(%s) AND post_id = ANY(%s)", [likers, post_ids])
    sql(
        "UPDATE posts_post p SET like_count = (SELECT COUNT(*) FROM posts_like l "
        "WHERE l.post_id = p.id) WHERE p.id = ANY(%s)",
        [post_ids],
    )
    sql(
        "DELETE FROM notifications_notification WHERE type = 'post.liked' AND actor_id = ANY(%s)",
        [likers],
    )


def count_queries(token: str, paths: list[str]) -> dict:
    """Queries per page for page_size=1 and 100, counted in-process by Django's test client
    against the benchmark database (the same code path as a served request)."""
    code = (
        "import json, sys\n"
        "from django.db import connection\n"
        "from django.test import Client\n"
        "from django.test.utils import CaptureQueriesContext\n"
        "client, out = Client(), {}\n"
        f"for path in {paths!r}:\n"
        "    for size in (1, 100):\n"
        "        sep = '&' if '?' in path else '?'\n"
        "        with CaptureQueriesContext(connection) as queries:\n"
        "            response = client.get(f'{path}{sep}page_size={size}',\n"
        f"                                  HTTP_AUTHORIZATION='Bearer {token}')\n"
        "        assert response.status_code == 200, (path, response.status_code)\n"
        "        body = response.json()\n"
        "        out.setdefault(path, {})[size] = {'queries': len(queries.captured_queries),\n"
        "            'posts': len(body['results']),\n"
        "            'liked': sum(p['liked'] for p in body['results'])}\n"
        "print('QUERIES_JSON ' + json.dumps(out))\n"
    )
    env = harness.base_env(DATABASE, ALLOWED_HOSTS="127.0.0.1,localhost,testserver")
    result = subprocess.run(
        [harness.PYTHON, "manage.py", "shell", "-c", code],
        cwd=harness.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("QUERIES_JSON "))
    return json.loads(line.removeprefix("QUERIES_JSON "))


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


def drain(queue: str, timeout: float = 60.0) -> None:
    """Wait until the fan-out worker has taken every event of the posts queue."""
    import aio_pika

    async def waiting() -> int:
        connection = await aio_pika.connect(BROKER)
        async with connection:
            channel = await connection.channel()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                declared = await channel.declare_queue(queue, passive=True)
                if declared.declaration_result.message_count == 0:
                    return 0
                await asyncio.sleep(0.1)
            return declared.declaration_result.message_count

    left = asyncio.run(waiting())
    if left:
        log(f"  the worker still had {left} events to handle after {timeout:.0f}s")
    time.sleep(0.5)  # the last events taken are being handled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--seed-only", action="store_true", help="seed the database and stop (no measuring)"
    )
    args = parser.parse_args()
    rng = random.Random(42)

    ensure_before_worktree()
    ids = seed(args.reuse)
    data = describe(ids)
    log(f"data: {data}")
    if args.seed_only:
        return

    typical = typical_users(100, rng)
    first_fan = ids["first_fan"]
    # Fans after those who like the hot post and those who replied: they have liked nothing.
    likers = list(range(first_fan + 500_000, first_fan + 500_000 + LIKERS))
    tokens = harness.access_tokens(typical + likers)
    liker_tokens = [tokens[user] for user in likers]
    before_url = f"http://127.0.0.1:{BEFORE_PORT}"
    after_url = f"http://127.0.0.1:{AFTER_PORT}"

    def gets(path: str) -> list[tuple[str, str]]:
        return [(path, tokens[user]) for user in typical]

    def likes(post_for) -> list[tuple]:
        """Each liker likes its post, and 512 requests later takes the like back."""
        paths = [f"/api/posts/{post_for(i)}/like/" for i in range(LIKERS)]
        return [
            ("POST", path, token, "") for path, token in zip(paths, liker_tokens, strict=True)
        ] + [("DELETE", path, token, "") for path, token in zip(paths, liker_tokens, strict=True)]

    different = ids["different"]
    like_posts = [ids["hot"], ids["fresh"], ids["same"], *different]
    reset_likes(likers, like_posts, ids)
    log("counting queries per page (page_size=1 and 100)")
    queries = count_queries(
        tokens[typical[0]],
        [
            "/api/feed/",
            "/api/tags/b11big/posts/",
            f"/api/posts/{ids['thread']}/replies/",
            "/api/users/user1/posts/",
        ],
    )
    log(f"  {queries}")

    results: dict[str, list[dict]] = {}

    queue = f"bench-posts-{uuid.uuid4().hex[:8]}"

    def measure(name, base, reqs, connections=1, after=None) -> None:
        wrk(base, reqs, connections=connections, duration=2)
        if after:
            after()
        stats = wrk(base, reqs, connections=connections, duration=args.duration)
        if after:
            after()
        results.setdefault(name, []).append(stats)
        log(f"  {name}: p50 {stats['p50']:.2f} ms, {stats['rps']:.0f} req/s")

    def reset() -> None:
        """After a like run: the worker has handled its events, and the likes are undone."""
        drain(queue)
        reset_likes(likers, like_posts, ids)

    try:
        with (
            gunicorn(BEFORE_DIR, BEFORE_PORT),
            gunicorn(harness.ROOT, AFTER_PORT, **broker_env(queue)),
            harness.fanout_worker(DATABASE, **broker_env(queue)),
        ):
            token = tokens[typical[0]]
            first = get_json(after_url, f"/api/posts/{ids['thread']}/replies/", token)
            replies_next = first["next"].removeprefix(after_url)
            for base in (before_url, after_url):
                wrk(base, gets("/api/feed/"), connections=4, duration=2)
            thread = ids["thread"]
            # Each pair: (name, server, requests, connections, after each run).
            pairs = [
                (
                    ("feed_before", before_url, gets("/api/feed/"), 1, None),
                    ("feed_after", after_url, gets("/api/feed/"), 1, None),
                ),
                (
                    ("like_hot", after_url, likes(lambda i: ids["hot"]), 1, reset),
                    ("like_new", after_url, likes(lambda i: ids["fresh"]), 1, reset),
                ),
                (
                    ("profile_1m_followers", after_url, gets("/api/users/b11celebrity/"), 1, None),
                    ("profile_10_followers", after_url, gets("/api/users/b11quiet/"), 1, None),
                ),
                (
                    (
                        "replies_first_page",
                        after_url,
                        gets(f"/api/posts/{thread}/replies/"),
                        1,
                        None,
                    ),
                    ("replies_next_page", after_url, gets(replies_next), 1, None),
                ),
                (
                    ("tag_100k_posts", after_url, gets("/api/tags/b11big/posts/"), 1, None),
                    ("tag_100_posts", after_url, gets("/api/tags/b11small/posts/"), 1, None),
                ),
                (
                    ("like_32_same_post", after_url, likes(lambda i: ids["same"]), 32, reset),
                    (
                        "like_32_different_posts",
                        after_url,
                        likes(lambda i: different[i % DIFFERENT_POSTS]),
                        32,
                        reset,
                    ),
                ),
            ]
            for round_number in range(1, args.rounds + 1):
                log(f"round {round_number}/{args.rounds}")
                for pair in pairs:
                    # The two sides of a pair run one after the other, in turns first.
                    for name, base, reqs, connections, after in (
                        pair if round_number % 2 else pair[::-1]
                    ):
                        measure(name, base, reqs, connections, after)
    finally:
        delete_queue(queue)

    def paired(numerator: str, denominator: str, key: str = "p50") -> tuple[float, float]:
        per_round = [
            a[key] / b[key] for a, b in zip(results[numerator], results[denominator], strict=True)
        ]
        medians = harness.median_of(results[numerator], key) / harness.median_of(
            results[denominator], key
        )
        return statistics.median(per_round), medians

    feed_queries = queries["/api/feed/"]
    same_queries = all(
        sizes["1"]["queries"] == sizes["100"]["queries"] for sizes in queries.values()
    )
    checks = [
        (
            "feed p50, with counts and flags / before",
            *paired("feed_after", "feed_before"),
            1.15,
            False,
        ),
        ("like p50, 100k-like post / new post", *paired("like_hot", "like_new"), 1.2, False),
        (
            "profile p50, 1M followers / 10",
            *paired("profile_1m_followers", "profile_10_followers"),
            1.2,
            False,
        ),
        (
            "like req/s, 32 on one post / on 64 posts",
            *paired("like_32_same_post", "like_32_different_posts", "rps"),
            0.7,
            True,
        ),
        (
            "replies, next page p50 / first page",
            *paired("replies_next_page", "replies_first_page"),
            1.15,
            False,
        ),
        (
            "tag page p50, 100k posts / 100 posts",
            *paired("tag_100k_posts", "tag_100_posts"),
            1.5,
            False,
        ),
    ]
    print()
    print(f"machine: {harness.machine()}")
    print(f"data: {data}")
    print(
        "queries per page, page_size=1 / 100: "
        + ", ".join(
            f"{path} {s['1']['queries']}/{s['100']['queries']}" for path, s in queries.items()
        )
    )
    print()
    print(f"{'measurement':<26} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for name, runs in results.items():
        print(
            f"{name:<26} {harness.median_of(runs, 'p50'):>8.2f} "
            f"{harness.median_of(runs, 'p99'):>8.2f} {harness.median_of(runs, 'rps'):>8.0f}"
        )
    print()
    print(f"{'ratio (median of per-round ratios)':<44} {'value':>6} {'target':>8}   (of medians)")
    outcomes = []
    for label, ratio, of_medians, limit, at_least in checks:
        target = f">= {limit}" if at_least else f"<= {limit}"
        outcome = harness.verdict(ratio, limit, at_least=at_least)
        outcomes.append(outcome)
        print(f"{label:<44} {ratio:>6.2f} {target:>8}  {outcome}  ({of_medians:.2f})")
    outcome = "PASS" if same_queries else "FAIL"
    outcomes.append(outcome)
    print(
        f"{'same queries for page_size=1 and 100':<44} "
        f"{feed_queries['1']['queries']:>3}/{feed_queries['100']['queries']:<3} {'equal':>7}  "
        f"{outcome}"
    )
    path = harness.save(
        "interactions",
        {
            "machine": harness.machine(),
            "data": data,
            "queries": queries,
            "checks": [
                {
                    "label": label,
                    "ratio": ratio,
                    "ratio_of_medians": of_medians,
                    "limit": limit,
                    "at_least": at_least,
                }
                for label, ratio, of_medians, limit, at_least in checks
            ],
            "runs": results,
        },
    )
    print(f"\nraw results: {path.relative_to(harness.ROOT)}")
    if "FAIL" in outcomes:
        sys.exit(1)


if __name__ == "__main__":
    main()
