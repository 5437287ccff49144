"""A websocket `since` replay's pages: the inbox's fixed statement against the ORM's query.

On the 1M-post database of `bench/feed.py`, in one process, for 50 typical readers in turn:
what the websocket consumer does for each page of a replay (`notifications.consumers`:
read up to 500 notifications after `since`, oldest first, and render them as frames), once
through `notifications.selectors.notifications_after` (on PostgreSQL `InboxRows`: one
statement with the recipient's flags) and once through the ORM's queryset
(`with_payload(inbox(user))`, then `viewer_flags`), alternating, medians over --rounds turns.
Both give the same frames (checked for each reader first). With `--behind N`, `since` is
each reader's Nth-newest notification instead of 0: the short page a reconnecting client
asks for, where planning the statement costs more than running it.

    .venv/bin/python bench/replay.py
    .venv/bin/python bench/replay.py --behind 5
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.feed import LARGE, typical_users

PAGE = 500  # notifications.consumers.REPLAY_BATCH


def reconnecting_readers(behind: int) -> tuple[list, dict[int, int]]:
    """50 typical readers (Django set up), and the `since` each reconnects with: its
    `behind`-th newest notification (0: since=0)."""
    from accounts.models import User
    from notifications import selectors

    readers = list(User.objects.filter(pk__in=typical_users(50, random.Random(42))))
    since = {user.pk: 0 for user in readers}
    if behind:
        for user in readers:
            newest = selectors.inbox(user).order_by("-id").values_list("id", flat=True)
            since[user.pk] = ([0, *newest[:behind]])[-1]
    return readers, since


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--behind", type=int, default=0, help="since: the reader's Nth-newest (0: since=0)"
    )
    args = parser.parse_args()
    os.environ.update(harness.base_env(LARGE))
    import django

    django.setup()
    from notifications import selectors
    from notifications.serializers import notification_events

    readers, since = reconnecting_readers(args.behind)

    def fixed(user) -> list[dict]:
        return notification_events(
            selectors.notifications_after(user=user, after=since[user.pk], limit=PAGE),
            viewer=user,
        )

    def orm(user) -> list[dict]:
        queryset = selectors.inbox(user).filter(id__gt=since[user.pk]).order_by("id")
        return notification_events(list(selectors.with_payload(queryset)[:PAGE]), viewer=user)

    sizes = []
    for user in readers:
        frames = fixed(user)
        if frames != orm(user):
            raise SystemExit(f"different frames for user {user.pk}")
        sizes.append(len(frames))
    timings: dict[str, list[float]] = {"orm": [], "fixed": []}
    for turn in range(args.rounds):
        user = readers[turn % len(readers)]
        for name, read in (("orm", orm), ("fixed", fixed))[:: 1 if turn % 2 else -1]:
            started = time.perf_counter()
            read(user)
            timings[name].append((time.perf_counter() - started) * 1000)
    orm_ms, fixed_ms = statistics.median(timings["orm"]), statistics.median(timings["fixed"])
    harness.log(f"frames a page: median {statistics.median(sizes):.0f} (max {max(sizes)})")
    harness.log(f"ORM query: {orm_ms:.2f} ms a page; fixed statement: {fixed_ms:.2f} ms a page")
    harness.log(f"fixed / ORM: {fixed_ms / orm_ms:.2f}")


if __name__ == "__main__":
    main()
