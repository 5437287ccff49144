"""`manage.py seed_demo`: users, follows and posts in bulk, for trying the product and for
benchmarks. Timelines are filled with the product's rules: each user's newest TIMELINE_CAP
posts among their own and their followees'.

On PostgreSQL rows go in with COPY; 10k users, 2M follows and 1M posts take a few minutes.
"""

import bisect
import itertools
import math
import random
import re
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from follows.models import Follow
from posts.models import Post, TimelineEntry

WORDS = (  # noqa: SIM905 (a word list reads better as text)
    "the of and to in is you that it he was for on are as with his they at be this have "
    "from or one had by word but not what all were we when your can said there use an each "
    "which she do how their if will up other about out many then them these so some her "
    "would make like him into time has look two more write go see number no way could "
    "people my than first water been call who oil its now find long down day did get come "
    "made may part coffee music django python postgres rabbit queue feed follow post search "
    "live news sport weather city travel food book movie game code bug deploy release team "
    "morning night weekend friday happy sad great new old big small fast slow open source "
    "data cloud web phone photo garden dog cat bird tree river mountain beach summer winter "
    "spring autumn"
).split()


def batched(iterable, size: int):
    iterator = iter(iterable)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class Progress:
    """Prints `label: done/total (pct) rate/s` about every second, and a final line."""

    def __init__(self, stdout, label: str, total: int):
        self.stdout, self.label, self.total = stdout, label, max(total, 1)
        self.done, self.started = 0, time.monotonic()
        self.shown = self.started
        # On a terminal the line updates in place; in a log, a line every 5 seconds.
        self.interval, self.ending = (1.0, "\r") if stdout.isatty() else (5.0, "\n")

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.shown >= self.interval:
            self.shown = now
            self._line(ending=self.ending)

    def finish(self) -> None:
        self._line(ending="\n")

    def _line(self, ending: str) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.stdout.write(
            f"  {self.label}: {self.done:,}/{self.total:,} "
            f"({100 * self.done / self.total:.0f}%) {self.done / elapsed:,.0f}/s",
            ending=ending,
        )
        self.stdout.flush()


def _zipf_cumulative(size: int, exponent: float, rng: random.Random) -> tuple[list, list[float]]:
    """A random order of range(size) and cumulative Zipf weights over it."""
    order = list(range(size))
    rng.shuffle(order)
    weights = itertools.accumulate(1.0 / (rank + 1) ** exponent for rank in range(size))
    return order, list(weights)


class Command(BaseCommand):
    help = (
        "Create demo users, follows and posts in bulk, with the home timelines the product "
        "would have built. Example: manage.py seed_demo --users 10000 --follows 2000000 "
        "--posts 1000000"
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1000, help="accounts to create")
        parser.add_argument(
            "--follows", type=int, default=None, help="follows in all (default: 20 per user)"
        )
        parser.add_argument("--posts", type=int, default=None, help="posts (default: 10 per user)")
        parser.add_argument(
            "--celebrity",
            type=int,
            default=0,
            metavar="N",
            help="also create the account `<prefix>celebrity`, followed by N of the new users",
        )
        parser.add_argument(
            "--prefix", default="user", help="usernames are <prefix>1, <prefix>2, ..."
        )
        parser.add_argument("--password", default="demo-password", help="password of every account")
        parser.add_argument(
            "--days", type=int, default=365, help="posts spread over this many days"
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed (same seed, same data)"
        )
        parser.add_argument("--batch-size", type=int, default=20000, help="rows per write")

    def handle(self, *args, **options):
        users = options["users"]
        follows = 20 * users if options["follows"] is None else options["follows"]
        posts = 10 * users if options["posts"] is None else options["posts"]
        if users < 2:
            raise CommandError("--users must be at least 2.")
        if min(follows, posts, options["celebrity"], options["days"]) < 0:
            raise CommandError("Sizes must not be negative.")
        if follows > users * (users - 1):
            raise CommandError(f"{users} users can have at most {users * (users - 1)} follows.")
        prefix = options["prefix"]
        clash = User.objects.filter(username__iregex=rf"^{re.escape(prefix)}[0-9]+$")
        if clash.exists():
            raise CommandError(
                f"Accounts named {prefix}<number> exist already: choose another --prefix."
            )
        self.rng = random.Random(options["seed"])  # noqa: S311 (demo data, not secrets)
        self.batch_size = options["batch_size"]
        started = time.monotonic()
        self.stdout.write(
            f"Seeding {users:,} users, {follows:,} follows, {posts:,} posts on {connection.vendor}"
        )
        user_ids = self._users(users, prefix, options["password"], options["celebrity"])
        celebrity_id = user_ids.pop() if options["celebrity"] else None
        self._follows(user_ids, follows, celebrity_id, options["celebrity"])
        post_range = self._posts(user_ids, posts, options["days"])
        self._analyze()
        self._timelines(user_ids + ([celebrity_id] if celebrity_id else []), post_range)
        self._analyze(vacuum=True)
        self.stdout.write(
            self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f}s.")
            + f" Sign in as {prefix}1 with password {options['password']!r}."
        )

    def _analyze(self, vacuum: bool = False) -> None:
        """Fresh planner statistics: bulk-loaded tables look empty to PostgreSQL until then.
        VACUUM also marks the new pages all-visible, so index-only scans skip the heap."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")

    # --- writing rows --------------------------------------------------------------------

    def _write(self, model, columns: list[str], rows, total: int, label: str) -> None:
        progress = Progress(self.stdout, label, total)
        table = model._meta.db_table
        if connection.vendor == "postgresql":
            copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with transaction.atomic(), connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    progress.done += 1
                    if progress.done % 10000 == 0:
                        progress.advance(0)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
            with transaction.atomic(), connection.cursor() as cursor:
                for batch in batched(rows, self.batch_size):
                    cursor.executemany(sql, batch)
                    progress.advance(len(batch))
        progress.finish()

    def _next_id(self, model) -> int:
        return (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1

    def _reset_sequences(self, *models) -> None:
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)

    # --- users ---------------------------------------------------------------------------

    def _users(self, count: int, prefix: str, password: str, celebrity: int) -> list[int]:
        first = self._next_id(User)
        hashed = make_password(password)
        now = timezone.now()
        total = count + (1 if celebrity else 0)
        names = [f"{prefix}{index}" for index in range(1, count + 1)]
        if celebrity:
            names.append(f"{prefix}celebrity")
        rows = (
            (
                first + index,
                name,
                hashed,
                False,
                False,
                True,
                now,
                name.replace(prefix, prefix.title(), 1),
                "",
                "",
                "",
                "",
                "",
            )
            for index, name in enumerate(names)
        )
        columns = [
            "id",
            "username",
            "password",
            "is_superuser",
            "is_staff",
            "is_active",
            "date_joined",
            "display_name",
            "bio",
            "avatar",
            "first_name",
            "last_name",
            "email",
        ]
        self._write(User, columns, rows, total, "users")
        self._reset_sequences(User)
        return list(range(first, first + total))

    # --- follows -------------------------------------------------------------------------

    def _following_counts(self, users: int, follows: int) -> list[int]:
        """How many accounts each user follows: a skewed (log-normal) spread around the mean,
        so some follow a handful and a few follow thousands, summing to `follows`."""
        if follows == 0:
            return [0] * users
        mean = follows / users
        sigma = 1.0
        mu = math.log(mean) - sigma**2 / 2
        raw = [self.rng.lognormvariate(mu, sigma) for _ in range(users)]
        scale = follows / sum(raw)
        counts = [min(users - 1, max(0, round(value * scale))) for value in raw]
        # Round-off: adjust random users until the sum is exact.
        difference = follows - sum(counts)
        while difference:
            index = self.rng.randrange(users)
            if difference > 0 and counts[index] < users - 1:
                counts[index] += 1
                difference -= 1
            elif difference < 0 and counts[index] > 0:
                counts[index] -= 1
                difference += 1
        return counts

    def _follows(self, user_ids, follows: int, celebrity_id, celebrity: int) -> None:
        count = len(user_ids)
        counts = self._following_counts(count, follows)
        order, cumulative = _zipf_cumulative(count, 0.9, self.rng)
        top = cumulative[-1]
        first = self._next_id(Follow)
        now = timezone.now()
        start = now - timedelta(days=800)

        def rows():
            next_id = first
            for index, wanted in enumerate(counts):
                if wanted > count // 2:
                    # Following most accounts: sampling uniformly is quicker than by weight.
                    others = [i for i in range(count) if i != index]
                    chosen = set(self.rng.sample(others, wanted))
                else:
                    chosen: set[int] = set()
                    while len(chosen) < wanted:
                        pick = order[bisect.bisect(cumulative, self.rng.random() * top)]
                        if pick != index:
                            chosen.add(pick)
                follower = user_ids[index]
                for pick in sorted(chosen):
                    # Follows predate the posts, so each post reached the followers it has now.
                    yield next_id, follower, user_ids[pick], start
                    next_id += 1
            for follower in user_ids[: min(celebrity, count)] if celebrity_id else ():
                yield next_id, follower, celebrity_id, start
                next_id += 1

        total = follows + (min(celebrity, count) if celebrity_id else 0)
        self._write(
            Follow, ["id", "follower_id", "followee_id", "created_at"], rows(), total, "follows"
        )
        self._reset_sequences(Follow)

    # --- posts ---------------------------------------------------------------------------

    def _text(self, vocabulary_cumulative) -> str:
        words = self.rng.randint(4, 30)
        picked = [
            WORDS[
                bisect.bisect(vocabulary_cumulative, self.rng.random() * vocabulary_cumulative[-1])
            ]
            for _ in range(words)
        ]
        text = " ".join(picked).capitalize()
        return text[: settings.POST_MAX_LENGTH].strip()

    def _posts(self, user_ids, count: int, days: int) -> tuple[int, int]:
        order, cumulative = _zipf_cumulative(len(user_ids), 0.7, self.rng)
        top = cumulative[-1]
        vocabulary = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(WORDS))))
        first = self._next_id(Post)
        now = timezone.now()
        span = timedelta(days=days).total_seconds()

        def rows():
            for index in range(count):
                author = user_ids[order[bisect.bisect(cumulative, self.rng.random() * top)]]
                created = now - timedelta(seconds=span * (1 - (index + 1) / count))
                yield first + index, author, self._text(vocabulary), created, created

        columns = ["id", "author_id", "text", "created_at", "published_at"]
        self._write(Post, columns, rows(), count, "posts")
        self._reset_sequences(Post)
        return first, first + count - 1

    # --- timelines -----------------------------------------------------------------------

    def _timelines(self, user_ids, post_range) -> None:
        """Each user's newest TIMELINE_CAP posts among their own and their followees'.

        Per batch of users, one INSERT ... SELECT ranks candidates newer than a per-user
        threshold, chosen so about 1.25 times the cap qualify; users left with fewer than the cap
        while older candidates exist are filled again without a threshold."""
        cap = settings.TIMELINE_CAP
        first_post, last_post = post_range
        span = max(last_post - first_post + 1, 1)
        candidates = self._candidate_counts(user_ids)
        progress = Progress(self.stdout, "timelines (users)", len(user_ids))
        qn = connection.ops.quote_name
        timeline, follows, posts = (
            qn(TimelineEntry._meta.db_table),
            qn(Follow._meta.db_table),
            qn(Post._meta.db_table),
        )
        fill = f"""
            INSERT INTO {timeline} (user_id, post_id)
            SELECT user_id, post_id FROM (
                SELECT c.user_id, c.post_id,
                       ROW_NUMBER() OVER (PARTITION BY c.user_id ORDER BY c.post_id DESC) AS rn
                FROM (
                    SELECT t.user_id, p.id AS post_id
                    FROM seed_threshold t
                    JOIN {follows} f ON f.follower_id = t.user_id
                    JOIN {posts} p ON p.author_id = f.followee_id AND p.id > t.threshold
                    UNION ALL
                    SELECT t.user_id, p.id
                    FROM seed_threshold t
                    JOIN {posts} p ON p.author_id = t.user_id AND p.id > t.threshold
                ) c
            ) ranked
            WHERE rn <= %s
            ON CONFLICT DO NOTHING
        """  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS seed_threshold")
            cursor.execute(
                "CREATE TEMPORARY TABLE seed_threshold "
                "(user_id bigint PRIMARY KEY, threshold bigint)"
            )
            for batch in batched(user_ids, 500):
                thresholds = []
                for user_id in batch:
                    wanted = min(1.0, 1.25 * cap / max(candidates.get(user_id, 0), 1))
                    thresholds.append((user_id, int(last_post - wanted * span)))
                with transaction.atomic():
                    self._fill(cursor, fill, thresholds, cap)
                    short = self._short_users(cursor, batch, cap, candidates)
                    if short:
                        self._fill(cursor, fill, [(u, 0) for u in short], cap)
                progress.advance(len(batch))
            cursor.execute("DROP TABLE seed_threshold")
        progress.finish()

    def _fill(self, cursor, sql, thresholds, cap) -> None:
        cursor.execute("DELETE FROM seed_threshold")
        cursor.executemany("INSERT INTO seed_threshold VALUES (%s, %s)", thresholds)
        cursor.execute(sql, [cap])

    def _short_users(self, cursor, batch, cap, candidates) -> list[int]:
        placeholders = ", ".join(["%s"] * len(batch))
        cursor.execute(
            f"SELECT user_id, COUNT(*) FROM {TimelineEntry._meta.db_table} "  # noqa: S608
            f"WHERE user_id IN ({placeholders}) GROUP BY user_id",
            list(batch),
        )
        filled = dict(cursor.fetchall())
        return [
            user_id
            for user_id in batch
            if filled.get(user_id, 0) < min(cap, candidates.get(user_id, 0))
        ]

    def _candidate_counts(self, user_ids) -> dict[int, int]:
        """Posts that could enter each user's timeline: their own and their followees'."""
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT u.id, COALESCE(own.n, 0) + COALESCE(SUM(followed.n), 0)
                FROM {qn(User._meta.db_table)} u
                LEFT JOIN (SELECT author_id, COUNT(*) AS n FROM {qn(Post._meta.db_table)}
                           GROUP BY author_id) own ON own.author_id = u.id
                LEFT JOIN {qn(Follow._meta.db_table)} f ON f.follower_id = u.id
                LEFT JOIN (SELECT author_id, COUNT(*) AS n FROM {qn(Post._meta.db_table)}
                           GROUP BY author_id) followed ON followed.author_id = f.followee_id
                WHERE u.id >= %s AND u.id <= %s
                GROUP BY u.id, own.n
                """,  # noqa: S608
                [min(user_ids), max(user_ids)],
            )
            return {user_id: int(count) for user_id, count in cursor.fetchall()}
