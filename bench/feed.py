"""Feed, search and pagination at scale, measured side by side in one run.

Seeds two PostgreSQL databases with the same 10k users and 2M follows, one with 10k posts
and one with 1M posts (`manage.py seed_demo`), serves each with gunicorn as production
does, loads them with wrk, and prints the ratios the targets are stated in:

- feed p50, 1M posts / 10k posts                     <= 1.2
- feed p50, a user following 2,000 / following 200   <= 1.2
- feed throughput / a trivial 20-row DRF list         >= 0.9
- search p50, 1M posts / 10k posts                   <= 1.5
- next page p50 / first page p50                      <= 1.15

Latency runs use one connection, so their p50 is the service time of a request on an
otherwise idle server (on two cores, more connections measure queueing behind wrk, the
workers and PostgreSQL competing for the same cores); throughput runs use 32. Every
measured run follows a 2-second warm-up run of the same requests.
Each comparison alternates its two sides for --rounds rounds; the verdict is on the median
of the per-round ratios (the two runs of a round are made one after the other, so slow drift
of the machine cancels), and the ratio of the medians is printed beside it.

    .venv/bin/python bench/feed.py            # seeds (a few minutes), then measures
    .venv/bin/python bench/feed.py --reuse    # keeps databases seeded by an earlier run
"""

import argparse
import json
import random
import statistics
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SMALL, LARGE = "warble_bench_10k", "warble_bench_1m"
SEARCH_TERMS = [
    "coffee",
    "music",
    "python",
    "weather",
    "garden",
    "river",
    "deploy",
    "summer",
    "happy",
    "mountain",
    "book",
    "travel",
    '"open source"',
    "coffee -music",
    "dog or cat",
]


def typical_users(count: int, rng: random.Random) -> list[int]:
    rows = harness.sql(
        LARGE,
        "SELECT follower_id FROM follows_follow GROUP BY follower_id "
        "HAVING COUNT(*) BETWEEN 100 AND 400 ORDER BY follower_id",
    )
    return rng.sample([row[0] for row in rows], min(count, len(rows)))


def users_following_about(target: int, count: int) -> list[int]:
    rows = harness.sql(
        LARGE,
        "SELECT follower_id FROM follows_follow f JOIN accounts_user u ON u.id = f.follower_id "
        "WHERE u.username NOT LIKE '%%celebrity' "
        "GROUP BY follower_id ORDER BY ABS(COUNT(*) - %s), follower_id LIMIT %s",
        [target, count],
    )
    return [row[0] for row in rows]


def following_count(user_id: int) -> int:
    return harness.sql(
        LARGE, "SELECT COUNT(*) FROM follows_follow WHERE follower_id = %s", [user_id]
    )[0][0]


def next_page(base: str, token: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/feed/", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        link = json.load(response)["next"]
    return link.removeprefix(base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep already seeded databases")
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--latency-connections", type=int, default=1, help="wrk connections of latency runs"
    )
    args = parser.parse_args()
    rng = random.Random(42)

    harness.seed(SMALL, users=10_000, follows=2_000_000, posts=10_000, reuse=args.reuse)
    harness.seed(LARGE, users=10_000, follows=2_000_000, posts=1_000_000, reuse=args.reuse)

    typical = typical_users(100, rng)
    heavy = users_following_about(2000, 5)
    light = users_following_about(200, 5)
    tokens = harness.access_tokens(typical + heavy + light)
    small_url, large_url = "http://127.0.0.1:8701", "http://127.0.0.1:8702"

    def requests(path: str, users: list[int]) -> list[tuple[str, str]]:
        return [(path, tokens[user]) for user in users]

    search = [
        (f"/api/posts/?q={urllib.request.quote(term)}", tokens[user])
        for user, term in zip(typical, SEARCH_TERMS * 10, strict=False)
    ]
    results: dict[str, list[dict]] = {}

    def measure(name: str, base: str, reqs, connections: int = args.latency_connections) -> None:
        # Both databases share one PostgreSQL and its small default buffer cache: each
        # measurement is preceded by a short run of the same requests, so it measures them
        # warm rather than what the previous scenario evicted.
        harness.wrk(base, reqs, connections=connections, duration=2)
        stats = harness.wrk(base, reqs, connections=connections, duration=args.duration)
        results.setdefault(name, []).append(stats)
        harness.log(f"  {name}: p50 {stats['p50']:.2f} ms, {stats['rps']:.0f} req/s")

    with harness.gunicorn(SMALL, 8701), harness.gunicorn(LARGE, 8702):
        second_pages = [(next_page(large_url, tokens[u]), tokens[u]) for u in typical]
        # Warm both servers and caches before measuring.
        for base in (small_url, large_url):
            harness.wrk(base, requests("/api/feed/", typical), connections=4, duration=2)
            harness.wrk(base, search, connections=4, duration=2)
        for round_number in range(1, args.rounds + 1):
            harness.log(f"round {round_number}/{args.rounds}")
            measure("feed_10k_posts", small_url, requests("/api/feed/", typical))
            measure("feed_1m_posts", large_url, requests("/api/feed/", typical))
            measure("feed_following_200", large_url, requests("/api/feed/", light))
            measure("feed_following_2000", large_url, requests("/api/feed/", heavy))
            measure("feed_first_page", large_url, requests("/api/feed/", typical))
            measure("feed_next_page", large_url, second_pages)
            measure("search_10k_posts", small_url, search)
            measure("search_1m_posts", large_url, search)
            measure("throughput_feed", large_url, requests("/api/feed/", typical), connections=32)
            measure(
                "throughput_baseline",
                large_url,
                requests("/bench/baseline/", typical),
                connections=32,
            )

    p50 = {name: harness.median_of(runs, "p50") for name, runs in results.items()}
    rps = {name: harness.median_of(runs, "rps") for name, runs in results.items()}

    def paired(numerator: str, denominator: str, key: str = "p50") -> tuple[float, float]:
        """The median of the per-round ratios (each from two runs made one after the other,
        so drift over the run cancels) and, for reference, the ratio of the medians."""
        per_round = [
            a[key] / b[key] for a, b in zip(results[numerator], results[denominator], strict=True)
        ]
        medians = harness.median_of(results[numerator], key) / harness.median_of(
            results[denominator], key
        )
        return statistics.median(per_round), medians

    checks = [
        ("feed p50, 1M posts / 10k posts", *paired("feed_1m_posts", "feed_10k_posts"), 1.2, False),
        (
            "feed p50, following 2,000 / following 200",
            *paired("feed_following_2000", "feed_following_200"),
            1.2,
            False,
        ),
        (
            "feed throughput / 20-row DRF list",
            *paired("throughput_feed", "throughput_baseline", "rps"),
            0.9,
            True,
        ),
        (
            "search p50, 1M posts / 10k posts",
            *paired("search_1m_posts", "search_10k_posts"),
            1.5,
            False,
        ),
        (
            "next page p50 / first page p50",
            *paired("feed_next_page", "feed_first_page"),
            1.15,
            False,
        ),
    ]
    print()
    print(f"machine: {harness.machine()}")
    print(
        f"users following ~2,000: {[following_count(u) for u in heavy]}; "
        f"~200: {[following_count(u) for u in light]}"
    )
    print()
    print(f"{'measurement':<24} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for name in results:
        p99 = harness.median_of(results[name], "p99")
        print(f"{name:<24} {p50[name]:>8.2f} {p99:>8.2f} {rps[name]:>8.0f}")
    print()
    print(f"{'ratio (median of per-round ratios)':<44} {'value':>6} {'target':>8}   (of medians)")
    for label, ratio, of_medians, limit, at_least in checks:
        target = f">= {limit}" if at_least else f"<= {limit}"
        outcome = harness.verdict(ratio, limit, at_least=at_least)
        print(f"{label:<44} {ratio:>6.2f} {target:>8}  {outcome}  ({of_medians:.2f})")
    path = harness.save("feed", {"machine": harness.machine(), "runs": results})
    print(f"\nraw results: {path.relative_to(harness.ROOT)}")
    if any(harness.verdict(r, limit, at_least=a) == "FAIL" for _, r, _, limit, a in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
