"""What ending sessions at once costs an authenticated request, measured side by side.

Serves one seeded PostgreSQL database with two gunicorn servers as production does: one
with the product's authentication (the token's session is checked by an EXISTS in the query
that loads the user), one with the same user query without the EXISTS and its test
(bench/auth.py, chosen by `BENCH_SESSION_CHECK=off` in bench/settings.py only; no product
setting turns the check off). Every user has a few sessions, as after signing in on
several devices, and the tokens carry a session id.

- feed p50 with the session check / without it    <= 1.05

The two servers are measured in alternation, one request at a time: a client on one
keep-alive connection per server sends the same feed request (same user, same token) to
one server and then to the other, the order swapping from pair to pair. On a shared
two-core machine other work comes and goes on a scale of seconds and moves a run's p50 by
2x; alternating request by request puts both sides under the same load, where alternating
wrk runs of seconds did not (their per-round ratios spread from 0.45 to 2.4). The verdict is
on the median of the per-block ratios of p50s (blocks of --block pairs); the ratio of the
p50s over all requests is printed beside it.

    .venv/bin/python bench/sessions.py                # seeds (a few minutes), then measures
    .venv/bin/python bench/sessions.py --reuse        # keeps the database of an earlier run
"""

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

DATABASE = "warble_bench_sessions"
SESSIONS_PER_USER = 3
PORTS = {"checked": 8711, "unchecked": 8712}
CHECKED, UNCHECKED = (f"http://127.0.0.1:{port}" for port in PORTS.values())


def setup_sessions(user_count: int) -> None:
    """SESSIONS_PER_USER live sessions for every account (after the schema is current)."""
    env = harness.base_env(DATABASE)
    subprocess.run(
        [harness.PYTHON, "manage.py", "migrate", "-v0"], cwd=harness.ROOT, env=env, check=True
    )
    harness.sql(DATABASE, "TRUNCATE accounts_accountsession")
    harness.sql(
        DATABASE,
        "INSERT INTO accounts_accountsession (user_id, created_at, refresh_jti, expires_at) "
        "SELECT u.id, now(), md5(u.id::text || '-' || n), now() + interval '14 days' "
        "FROM accounts_user u CROSS JOIN generate_series(1, %s) n",
        [SESSIONS_PER_USER],
    )
    harness.sql(DATABASE, "ANALYZE accounts_accountsession")
    count = harness.sql(DATABASE, "SELECT COUNT(*) FROM accounts_accountsession")[0][0]
    harness.log(f"{count:,} sessions for {user_count:,} users")


def token(user_id: int, session_id: int) -> str:
    """An access token of that session, signed with the benchmark servers' key."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("SECRET_KEY", harness.SECRET_KEY)
    import django

    django.setup()
    from rest_framework_simplejwt.tokens import AccessToken

    access = AccessToken()
    access["user_id"] = str(user_id)
    access["sid"] = session_id
    return str(access)


def session_tokens(user_ids: list[int]) -> dict[int, str]:
    """An access token of one of its sessions for each user."""
    rows = harness.sql(
        DATABASE,
        "SELECT user_id, MAX(id) FROM accounts_accountsession WHERE user_id = ANY(%s) "
        "GROUP BY user_id",
        [user_ids],
    )
    return {user_id: token(user_id, session_id) for user_id, session_id in rows}


def status_of(base: str, token: str) -> int:
    request = urllib.request.Request(
        f"{base}/api/feed/", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def interleaved(feed: list[tuple[str, str]], pairs: int) -> dict[str, list[float]]:
    """Latencies (ms) of `pairs` feed requests to each server, sent in alternation."""
    connections = {
        name: http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for name, port in PORTS.items()
    }
    samples: dict[str, list[float]] = {name: [] for name in PORTS}
    names = list(PORTS)
    for index in range(pairs):
        path, token = feed[index % len(feed)]
        for name in names if index % 2 else reversed(names):
            connection = connections[name]
            started = time.perf_counter()
            connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            response.read()
            samples[name].append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{name}: {path} answered {response.status}")
    for connection in connections.values():
        connection.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--follows", type=int, default=200_000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=6000, help="requests to each server")
    parser.add_argument("--block", type=int, default=500, help="pairs per block (a round)")
    args = parser.parse_args()
    rng = random.Random(42)

    harness.seed(
        DATABASE, users=args.users, follows=args.follows, posts=args.posts, reuse=args.reuse
    )
    setup_sessions(args.users)
    users = [
        row[0]
        for row in harness.sql(
            DATABASE,
            "SELECT follower_id FROM follows_follow GROUP BY follower_id "
            "HAVING COUNT(*) >= 10 ORDER BY follower_id",
        )
    ]
    typical = rng.sample(users, min(100, len(users)))
    tokens = session_tokens(typical)
    feed = [("/api/feed/", tokens[user]) for user in typical]

    with (
        harness.gunicorn(DATABASE, PORTS["checked"]),
        harness.gunicorn(DATABASE, PORTS["unchecked"], BENCH_SESSION_CHECK="off"),
    ):
        # The two servers differ in the check and nothing else: a token of a session that
        # was signed out (no row) is refused by one and served by the other.
        ended = token(typical[0], 2**62)
        assert (status_of(CHECKED, ended), status_of(UNCHECKED, ended)) == (401, 200)
        assert status_of(CHECKED, tokens[typical[0]]) == 200
        interleaved(feed, 1000)  # warm both servers, their pools and PostgreSQL's cache
        harness.log(f"measuring {args.pairs:,} request pairs")
        samples = interleaved(feed, args.pairs)

    def p50(values: list[float]) -> float:
        return statistics.median(values)

    blocks = [
        p50(samples["checked"][i : i + args.block]) / p50(samples["unchecked"][i : i + args.block])
        for i in range(0, args.pairs - args.block + 1, args.block)
    ]
    ratio = statistics.median(blocks)
    overall = p50(samples["checked"]) / p50(samples["unchecked"])
    print()
    print(f"machine: {harness.machine()}")
    print(f"data: {args.users:,} users, {args.follows:,} follows, {args.posts:,} posts")
    print()
    print(f"{'feed, one request at a time':<28} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for name, values in samples.items():
        print(
            f"{name:<28} {p50(values):>8.2f} {harness.percentile(values, 0.9):>8.2f} "
            f"{harness.percentile(values, 0.99):>8.2f}"
        )
    print()
    print(f"per-block ratios ({args.block} pairs each): " + ", ".join(f"{r:.3f}" for r in blocks))
    outcome = harness.verdict(ratio, 1.05)
    print(
        f"feed p50 with the session check / without   {ratio:.3f} <= 1.05  {outcome}  "
        f"(all requests: {overall:.3f})"
    )
    path = harness.save("sessions", {"machine": harness.machine(), "samples_ms": samples})
    print(f"\nraw results: {path.relative_to(harness.ROOT)}")
    if outcome == "FAIL":
        sys.exit(1)


if __name__ == "__main__":
    main()
