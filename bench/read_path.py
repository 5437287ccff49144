"""The read path before and after, on the same data, served side by side.

Serves the 1M-post database of `bench/feed.py` twice, as production does (gunicorn, four
workers, each checkout with its own `config/gunicorn.py`): once from a checkout of an
earlier commit (`--before`, made with `git worktree` in a temporary directory) and once from
this checkout. Each round loads both with wrk, one after the other, and prints the ratios
the targets are stated in, as medians of the per-round ratios:

- feed req/s at 32 connections / a trivial 20-row DRF list's, same server  >= 2.0
- feed p50 at 1 connection, after / before                                   <= 0.5
- a user's posts, req/s at 32 connections, after / before                   >= 1.5
- search, req/s at 32 connections, after / before                           >= 1.5

and, with no target, the other hot reads at 32 connections, after / before: a post, the
reader's notifications, a profile. For what the first can reach, against the same DRF list
(bench/urls.py): a plain Django view answering `[]` without the database (`/bench/floor/`,
same server and middleware), a DRF view answering `[]` with the same authentication
(`/bench/empty/`), and the same running the feed's one statement and throwing its rows
away (`/bench/statement/`); with the CPU time each request of this checkout's server took
from its own processes, from PostgreSQL's and from wrk's (read from /proc around each run
at 32 connections).

At one connection the two servers take turns in one-second wrk runs (--turns a side each
round, which goes first alternating), and a round's p50 is the median of its runs': both
sides then see the same moments of a machine whose speed changes from second to second
(`--before HEAD` on a clean checkout, the same code on both sides, gave 1.01).

Both servers answer the same requests with the same bytes (compared before measuring). Each
side reads the data with its own schema: this checkout's database is migrated, and the
earlier commit's side reads a copy of it (`<database>_before`, made anew each run) with the
migrations it does not have unapplied (a schema change, such as a table's storage
parameters, is then measured as part of the change).

    .venv/bin/python bench/read_path.py --before dfe68fc --reuse
"""

import argparse
import random
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.feed import LARGE, SEARCH_TERMS, typical_users

BEFORE_PORT, AFTER_PORT = 8711, 8712
OTHER_READS = ("post", "notifications", "profile")
# This checkout's yardsticks (bench/urls.py), besides the DRF list.
YARDSTICKS = {
    "floor": "bare Django view",
    "empty": "empty DRF view",
    "statement": "DRF view, feed's statement only",
}


def authors(count: int, rng: random.Random) -> list[str]:
    rows = harness.sql(
        LARGE,
        "SELECT u.username FROM accounts_user u WHERE u.posts_count BETWEEN 50 AND 500 "
        "AND u.is_active ORDER BY u.id LIMIT 2000",
    )
    return rng.sample([row[0] for row in rows], min(count, len(rows)))


def timeline_post(user_id: int) -> int:
    """The newest post of the reader's home timeline (one they can see)."""
    rows = harness.sql(
        LARGE,
        "SELECT post_id FROM posts_timelineentry WHERE user_id = %s ORDER BY post_id DESC LIMIT 1",
        [user_id],
    )
    return rows[0][0]


def requests(readers: list[int], tokens: dict[int, str], names: list[str]) -> dict[str, list]:
    """Each kind of request measured, as `(path, token)` for each reader in turn."""
    return {
        "feed": [("/api/feed/", tokens[user]) for user in readers],
        "user_posts": [
            (f"/api/users/{name}/posts/", tokens[user])
            for name, user in zip(names, readers, strict=False)
        ],
        "search": [
            (f"/api/posts/?q={urllib.request.quote(term)}", tokens[user])
            for user, term in zip(readers, SEARCH_TERMS * 10, strict=False)
        ],
        # The other hot reads, no target: a post of the reader's timeline, the reader's
        # notifications, an author's profile.
        "post": [(f"/api/posts/{timeline_post(user)}/", tokens[user]) for user in readers],
        "notifications": [("/api/notifications/", tokens[user]) for user in readers],
        "profile": [
            (f"/api/users/{name}/", tokens[user])
            for name, user in zip(names, readers, strict=False)
        ],
        "baseline": [("/bench/baseline/", tokens[user]) for user in readers],
        "floor": [("/bench/floor/", tokens[user]) for user in readers],
        "empty": [("/bench/empty/", tokens[user]) for user in readers],
        "statement": [("/bench/statement/", tokens[user]) for user in readers],
    }


def migrations(root: Path) -> dict[str, list[str]]:
    """Each app's migrations in the checkout at `root`, in order."""
    return {
        folder.parent.name: sorted(path.stem for path in folder.glob("[0-9]*.py"))
        for folder in root.glob("*/migrations")
    }


def schema_of(before_root: Path, env: dict) -> None:
    """Give the database `env` names the schema of the checkout at `before_root`: unapply
    the migrations this checkout has and that one does not."""
    theirs = migrations(before_root)
    for app, ours in migrations(harness.ROOT).items():
        known = theirs.get(app, [])
        if ours != known:
            target = known[-1] if known else "zero"
            harness.log(f"  {app}: back to {target}")
            subprocess.run(
                [harness.PYTHON, "manage.py", "migrate", app, target, "-v0"],
                cwd=harness.ROOT,
                env=env,
                check=True,
            )


def before_database(before_root: Path) -> str:
    """A copy of the data with the schema of the checkout at `before_root`."""
    database = f"{LARGE}_before"
    harness.log(f"copying {LARGE} to {database}")
    harness.sql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    harness.sql("postgres", f'CREATE DATABASE "{database}" TEMPLATE "{LARGE}"')
    schema_of(before_root, harness.base_env(database))
    return database


def body(base: str, path: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the commit to compare with")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--turns", type=int, default=8, help="1-second runs per side a round, one connection"
    )
    args = parser.parse_args()
    rng = random.Random(42)

    harness.seed(LARGE, users=10_000, follows=2_000_000, posts=1_000_000, reuse=args.reuse)
    subprocess.run(
        [harness.PYTHON, "manage.py", "migrate", "-v0"],
        cwd=harness.ROOT,
        env=harness.base_env(LARGE),
        check=True,
    )
    readers = typical_users(100, rng)
    tokens = harness.access_tokens(readers)
    names = authors(100, rng)
    workload = requests(readers, tokens, names)
    before_base = f"http://127.0.0.1:{BEFORE_PORT}"
    after_base = f"http://127.0.0.1:{AFTER_PORT}"
    results: dict[str, list[dict]] = {}

    def measure(name: str, base: str, reqs, connections: int, server=None) -> None:
        harness.wrk(base, reqs, connections=connections, duration=2)
        used = harness.cpu_seconds(server.pid) if server else None
        stats = harness.wrk(base, reqs, connections=connections, duration=args.duration)
        if server:
            # Where each request's CPU went: the server's processes, PostgreSQL's, wrk's.
            after = harness.cpu_seconds(server.pid)
            stats["cpu_ms"] = {
                key: (after[key] - used[key]) * 1000 / stats["requests"] for key in after
            }
        results.setdefault(name, []).append(stats)
        harness.log(f"  {name}: p50 {stats['p50']:.2f} ms, {stats['rps']:.0f} req/s")

    with harness.worktree(args.before) as (_, before_root):
        before_data = before_database(before_root)
        with (
            harness.gunicorn(before_data, BEFORE_PORT, root=before_root),
            harness.gunicorn(LARGE, AFTER_PORT) as after_server,
        ):
            for kind in ("feed", "user_posts", "search", *OTHER_READS):
                for path, token in workload[kind][:20]:
                    # `next` links name the server's own address.
                    before = body(before_base, path, token)[1].replace(
                        before_base.encode(), after_base.encode()
                    )
                    if before != body(after_base, path, token)[1]:
                        raise SystemExit(f"different answers to {path}")
            for round_number in range(1, args.rounds + 1):
                harness.log(f"round {round_number}/{args.rounds}")
                # At one connection the two sides take turns in short runs, so both
                # p50s come from the same moments of a machine whose speed changes
                # from second to second; the round's p50 is the median of its runs'.
                turns = harness.wrk_turns(
                    {
                        "before": (before_base, workload["feed"]),
                        "after": (after_base, workload["feed"]),
                    },
                    args.turns,
                )
                for side, runs in turns.items():
                    stats = {key: harness.median_of(runs, key) for key in ("p50", "p99", "rps")}
                    results.setdefault(f"{side}_feed_1", []).append(stats)
                    harness.log(f"  {side}_feed_1: p50 {stats['p50']:.2f} ms")
                for side, base in (("before", before_base), ("after", after_base)):
                    for kind in ("feed", "user_posts", "search", *OTHER_READS, "baseline"):
                        server = after_server if side == "after" else None
                        measure(f"{side}_{kind}_32", base, workload[kind], 32, server)
                # The earlier commit has none of the other yardsticks.
                for kind in YARDSTICKS:
                    measure(f"after_{kind}_32", after_base, workload[kind], 32, after_server)

    def paired(numerator: str, denominator: str, key: str) -> float:
        return statistics.median(
            a[key] / b[key] for a, b in zip(results[numerator], results[denominator], strict=True)
        )

    checks = [
        ("feed req/s / 20-row DRF list, after", "after_feed_32", "after_baseline_32", "rps", 2.0),
        ("  (the same, before)", "before_feed_32", "before_baseline_32", "rps", None),
        ("feed p50, after / before", "after_feed_1", "before_feed_1", "p50", 0.5),
        (
            "user's posts req/s, after / before",
            "after_user_posts_32",
            "before_user_posts_32",
            "rps",
            1.5,
        ),
        ("search req/s, after / before", "after_search_32", "before_search_32", "rps", 1.5),
        ("feed req/s, after / before", "after_feed_32", "before_feed_32", "rps", None),
        *(
            (f"{kind} req/s, after / before", f"after_{kind}_32", f"before_{kind}_32", "rps", None)
            for kind in OTHER_READS
        ),
        *(
            (
                f"{label} req/s / DRF list, after",
                f"after_{kind}_32",
                "after_baseline_32",
                "rps",
                None,
            )
            for kind, label in YARDSTICKS.items()
        ),
    ]
    print()
    print(f"machine: {harness.machine()}; before: {args.before}")
    print(f"{'measurement':<24} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for name, runs in results.items():
        p50, p99 = harness.median_of(runs, "p50"), harness.median_of(runs, "p99")
        print(f"{name:<24} {p50:>8.2f} {p99:>8.2f} {harness.median_of(runs, 'rps'):>8.0f}")
    print()
    print("CPU per request at 32 connections, after (ms of one core; medians of the rounds):")
    for name in (
        "after_feed_32",
        "after_baseline_32",
        *(f"after_{kind}_32" for kind in YARDSTICKS),
    ):
        split = {
            key: statistics.median(run["cpu_ms"][key] for run in results[name])
            for key in results[name][0]["cpu_ms"]
        }
        print(
            f"  {name:<20} "
            + ", ".join(f"{key} {value:.3f}" for key, value in split.items())
            + f"; total {sum(split.values()):.3f}"
        )
    print()
    failed = False
    for label, numerator, denominator, key, limit in checks:
        ratio = paired(numerator, denominator, key)
        if limit is None:
            print(f"{label:<42} {ratio:>6.2f}")
            continue
        at_least = key == "rps"
        outcome = harness.verdict(ratio, limit, at_least=at_least)
        failed |= outcome == "FAIL"
        print(f"{label:<42} {ratio:>6.2f} {'>=' if at_least else '<='} {limit}  {outcome}")
    path = harness.save("read_path", {"machine": harness.machine(), "runs": results})
    print(f"\nraw results: {path.relative_to(harness.ROOT)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
