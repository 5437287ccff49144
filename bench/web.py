"""The web client's home page against the JSON feed it would otherwise fetch, same data.

Seeds a PostgreSQL database with a reader who follows an author of 20 posts (with mentions,
tags, likes and bookmarks), serves it with gunicorn as production does, and times, one
request at a time (the service time of a request on an idle server), the server-rendered
home page (`GET /`, session cookie) and the JSON feed (`GET /api/feed/`, JWT), each over its
own kept-alive connection, taking the two sides' requests in turn for --rounds rounds (the
verdict is the median of the per-round ratios of the p50s). The home page requests carry the
cookies a browser sends from its second page on: the session's and the CSRF cookie the
first answer set (without it Django makes a new CSRF secret and sets the cookie on every
page; --first-visit measures that). With --wrk the requests are sent by wrk instead of
this script's Python client (whose own time, about 0.1 ms a request, is added to both sides
and pulls the ratio towards 1): one-second runs of each side in turn, --turns a side each
round, a round's p50 the median of its runs'. Target:

- home page HTML p50 / JSON feed p50 (20 posts)      <= 1.5

    .venv/bin/python bench/web.py
    .venv/bin/python bench/web.py --rounds 7 --requests 400
    .venv/bin/python bench/web.py --wrk
    .venv/bin/python bench/web.py --database warble_bench_web_2 --port 8752   # beside another run
"""

import argparse
import http.client
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

DATABASE = "warble_bench_web"
PORT = 8791

SEED = """
import django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from accounts.sessions import SessionStore
from accounts.models import User
from follows.services import follow_create
from posts.services import bookmark_create, like_create, post_create

reader = User.objects.create_user("reader", password="bench-password-123")
author = User.objects.create_user("author", password="bench-password-123",
                                  display_name="The Author")
for n in range(20):
    post, _ = post_create(author=author, text=f"Post {n} for @reader about #bench and #django, "
                          "with a few more words so that it reads like a real post.")
    if n % 3 == 0:
        like_create(user=reader, post=post)
    if n % 5 == 0:
        bookmark_create(user=reader, post=post)
follow_create(follower=reader, followee=author)
session = SessionStore()
session[SESSION_KEY] = str(reader.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
session[HASH_SESSION_KEY] = reader.get_session_auth_hash()
session.create()
print(reader.pk, session.session_key)
"""


def seed(database: str) -> tuple[int, str]:
    harness.sql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    harness.sql("postgres", f'CREATE DATABASE "{database}"')
    env = harness.base_env(database, FANOUT_EAGER="true")
    subprocess.run(
        [harness.PYTHON, "manage.py", "migrate", "-v0"], cwd=harness.ROOT, env=env, check=True
    )
    out = subprocess.run(
        [harness.PYTHON, "-c", SEED],
        cwd=harness.ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    entries = harness.sql(
        database, "SELECT COUNT(*) FROM posts_timelineentry WHERE user_id = %s", [int(out[-2])]
    )[0][0]
    harness.log(f"seeded: the reader's timeline holds {entries} posts")
    return int(out[-2]), out[-1]


def wsgi_environ(path: str, headers: dict) -> dict:
    """A WSGI environ for `GET path` with `headers` (WSGI names: HTTP_COOKIE ...), for
    calling the application in-process (bench/web_cpu.py, bench/web_instructions.py)."""
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        **headers,
    }


def timings(port: int, sides: dict, count: int) -> dict[str, list[float]]:
    """Milliseconds per GET for each side, each over its own kept-alive connection, the
    sides' requests taken in turn (html, json, html, json ...): both see the same moments of
    a machine whose speed changes from second to second."""
    connections = {
        name: http.client.HTTPConnection("127.0.0.1", port, timeout=10) for name in sides
    }
    results: dict[str, list[float]] = {name: [] for name in sides}
    try:
        for _ in range(count):
            for name, (path, headers) in sides.items():
                connection = connections[name]
                started = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                results[name].append((time.perf_counter() - started) * 1000)
                if response.status != 200:
                    raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
    finally:
        for connection in connections.values():
            connection.close()
    return results


def wrk_p50s(port: int, sides: dict, turns: int) -> dict[str, float]:
    """Each side's p50 over one connection, as the median of its runs' in
    `harness.wrk_turns`."""
    base = f"http://127.0.0.1:{port}"
    requests = {}
    for name, (path, headers) in sides.items():
        ((header, value),) = headers.items()
        # bench/wrk_requests.lua sends "Name: value" as that header.
        token = value.removeprefix("Bearer ") if header == "Authorization" else f"{header}: {value}"
        requests[name] = [(path, token)]
    runs = harness.wrk_turns({name: (base, requests[name]) for name in sides}, turns)
    return {name: harness.median_of(values, "p50") for name, values in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database", default=DATABASE, help="dropped and made anew")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--wrk", action="store_true", help="wrk sends the requests")
    parser.add_argument("--turns", type=int, default=8, help="with --wrk: runs a side a round")
    parser.add_argument(
        "--first-visit",
        action="store_true",
        help="home page requests without the CSRF cookie (every one sets a new one)",
    )
    args = parser.parse_args()

    user_id, session_key = seed(args.database)
    token = harness.access_tokens([user_id])[user_id]
    sides = {
        "html": ("/", {"Cookie": f"sessionid={session_key}"}),
        "json": ("/api/feed/", {"Authorization": f"Bearer {token}"}),
    }
    with harness.gunicorn(args.database, args.port, workers=2):
        # Both pages must show the same 20 posts.
        html_body, csrf_cookie = _get(args.port, *sides["html"])
        if not args.first_visit:
            cookie = f"{sides['html'][1]['Cookie']}; {csrf_cookie}"
            sides["html"] = ("/", {"Cookie": cookie})
            # Django sets the cookie again (a later expiry) but keeps the secret it holds.
            if _get(args.port, *sides["html"])[1] != csrf_cookie:
                raise SystemExit("the CSRF cookie sent was not taken")
        json_body = _get(args.port, *sides["json"])[0]
        assert html_body.count(b'class="post"') == 20, "the home page shows 20 posts"
        assert json_body.count(b'"like_count"') >= 20, "the feed has 20 posts"
        rounds = []
        for number in range(args.rounds):
            if args.wrk:
                p50 = wrk_p50s(args.port, sides, args.turns)
            else:
                timings(args.port, sides, 30)  # warm-up
                measured = timings(args.port, sides, args.requests)
                p50 = {name: statistics.median(values) for name, values in measured.items()}
            p50["ratio"] = p50["html"] / p50["json"]
            rounds.append(p50)
            harness.log(
                f"round {number + 1}: html p50 {p50['html']:.2f} ms, "
                f"json p50 {p50['json']:.2f} ms, ratio {p50['ratio']:.3f}"
            )
    ratio = statistics.median(r["ratio"] for r in rounds)
    html_p50, json_p50 = harness.median_of(rounds, "html"), harness.median_of(rounds, "json")
    print()
    print(f"machine: {harness.machine()}")
    print(f"home page HTML p50 {html_p50:.2f} ms ({len(html_body):,} bytes)")
    print(f"JSON feed p50      {json_p50:.2f} ms ({len(json_body):,} bytes)")
    print(
        f"html / json p50: {ratio:.3f} (median of {args.rounds} rounds) <= 1.5 "
        f"{harness.verdict(ratio, 1.5)}"
    )
    path = harness.save(
        "web",
        {
            "machine": harness.machine(),
            "rounds": rounds,
            "ratio": ratio,
            "html_bytes": len(html_body),
            "json_bytes": len(json_body),
            "first_visit": args.first_visit,
            "client": "wrk" if args.wrk else "python",
        },
    )
    print(f"saved {path}")


def _get(port: int, path: str, headers: dict) -> tuple[bytes, str]:
    """The body, and the CSRF cookie the answer sets ("csrftoken=...", or "")."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
        cookies = [c.split(";")[0] for c in response.headers.get_all("Set-Cookie") or []]
        return body, next((c for c in cookies if c.startswith("csrftoken=")), "")
    finally:
        connection.close()


if __name__ == "__main__":
    os.chdir(harness.ROOT)
    main()
