"""`manage.py seed_demo`: users, follows, posts (with replies, reposts, `@mentions` and
`#tags`), likes, home timelines and notifications in bulk, for trying the product and for
benchmarks.

What it writes is what live traffic through the services would have left: every counter
equals its rows, `mentions`, `hashtags` and the tag links are what posts.text parses from
each text, reposts are empty posts of originals (one per account and original), replies
carry their parent's author and thread. Timelines are each user's newest TIMELINE_CAP posts
among their own and their followees', with the fan-out's rules: a reply only for those who
also follow the account replied to (or are it), a repost not where the original is. Each
timeline entry of someone else's post comes with its `post.created` notification, as the
fan-out writes them together; replies, reposts, mentions, likes and follows notify as the
live path does, never yourself, at most one per (type, actor, post).

Follows, posts and likes are decided in memory first (compact arrays), so each row is
written once with its counters already known: an UPDATE afterwards would rewrite every
post and its full-text index entry. On PostgreSQL rows go in with COPY; 10k users, 200k
follows and 100k posts take about 70 seconds on two busy cores, half of it the inboxes.
"""

import bisect
import itertools
import json
import math
import random
import re
import time
from array import array
from contextlib import contextmanager
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
from notifications.models import Notification
from posts import text as post_text
from posts.models import Hashtag, Like, Post, PostHashtag, TimelineEntry

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

# A small vocabulary of tags, most used first (Zipf-weighted), some written in mixed case:
# they are stored case-folded.
TAGS = (  # noqa: SIM905
    "news Django python WorldCup coffee MondayMotivation music photography travel weather "
    "opensource postgres gamedev books FridayFeeling dogs cats running foodie art climate "
    "movies TBT election"
).split()

ROOT, REPLY, REPOST = 0, 1, 2
# Replies, reposts and likes go mostly to recent posts: picked among the newest entries of
# a pool where each post appears more often the more followers its author has and the more
# it was engaged with already (the rich get richer).
ENGAGEMENT_WINDOW = 20000
MENTION_SHARE, TAG_SHARE = 0.12, 0.2
# Notifications older than this are seeded as read.
UNREAD_FOR = timedelta(days=2)


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
        "Create demo users, follows, posts (replies, reposts, mentions, tags), likes, home "
        "timelines and notifications in bulk, as live traffic would have left them. --posts "
        "counts every post, replies and reposts included. Example: manage.py seed_demo "
        "--users 10000 --follows 2000000 --posts 1000000"
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1000, help="accounts to create")
        parser.add_argument(
            "--follows", type=int, default=None, help="follows in all (default: 20 per user)"
        )
        parser.add_argument(
            "--posts",
            type=int,
            default=None,
            help="posts in all, replies and reposts included (default: 10 per user)",
        )
        parser.add_argument(
            "--replies", type=int, default=None, help="of the posts, replies (default: 20%%)"
        )
        parser.add_argument(
            "--reposts", type=int, default=None, help="of the posts, reposts (default: 10%%)"
        )
        parser.add_argument(
            "--likes", type=int, default=None, help="likes in all (default: 2 per post)"
        )
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
        replies = posts // 5 if options["replies"] is None else options["replies"]
        reposts = posts // 10 if options["reposts"] is None else options["reposts"]
        likes = 2 * posts if options["likes"] is None else options["likes"]
        if users < 2:
            raise CommandError("--users must be at least 2.")
        sizes = (follows, posts, replies, reposts, likes, options["celebrity"], options["days"])
        if min(sizes) < 0:
            raise CommandError("Sizes must not be negative.")
        if follows > users * (users - 1):
            raise CommandError(f"{users} users can have at most {users * (users - 1)} follows.")
        if replies + reposts > max(posts - 1, 0):
            raise CommandError(
                "--replies and --reposts are among --posts, which needs one post more than "
                "them: the first post answers nobody."
            )
        if likes > users * (posts - reposts):
            raise CommandError(f"{users} users can like {posts - reposts} posts at most once each.")
        prefix = options["prefix"]
        clash = User.objects.filter(username__iregex=rf"^{re.escape(prefix)}[0-9]+$")
        if clash.exists():
            raise CommandError(
                f"Accounts named {prefix}<number> exist already: choose another --prefix."
            )
        self.rng = random.Random(options["seed"])  # noqa: S311 (demo data, not secrets)
        self.batch_size = options["batch_size"]
        self.now = timezone.now()
        started = time.monotonic()
        self.stdout.write(
            f"Seeding {users:,} users, {follows:,} follows, {posts:,} posts ({replies:,} "
            f"replies, {reposts:,} reposts), {likes:,} likes on {connection.vendor}"
        )
        self._plan_users(users, prefix, options["celebrity"])
        self._plan_follows(follows, options["celebrity"])
        self._plan_posts(posts, replies, reposts, likes, options["days"])
        self._write_users(options["password"])
        self._write_follows()
        self._write_posts()
        self._write_likes()
        self._analyze()
        with self._no_jit():
            self._timelines(self.user_ids + self.celebrity_ids)
            self._notifications()
        self._analyze(vacuum=True)
        self.stdout.write(
            self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f}s.")
            + f" Sign in as {prefix}1 with password {options['password']!r}."
        )

    @contextmanager
    def _no_jit(self):
        """The rules' subqueries make PostgreSQL's cost estimates huge, and JIT-compiling
        each batch's statement took longer than running it."""
        if connection.vendor != "postgresql":
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET jit")

    def _analyze(self, vacuum: bool = False) -> None:
        """Fresh planner statistics: bulk-loaded tables look empty to PostgreSQL until then.
        VACUUM also marks the new pages all-visible, so index-only scans skip the heap."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")

    # --- writing rows --------------------------------------------------------------------

    def _write(self, model, columns: list[str], rows, total: int, label: str) -> None:
        """Write `rows` into `model`'s table (or the table named `model`), with progress."""
        if not total:
            return
        progress = Progress(self.stdout, label, total)
        table = model if isinstance(model, str) else model._meta.db_table
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

    # --- planning: users and follows -----------------------------------------------------

    def _plan_users(self, count: int, prefix: str, celebrity: int) -> None:
        first = self._next_id(User)
        self.prefix = prefix
        self.names = [f"{prefix}{index}" for index in range(1, count + 1)]
        self.user_ids = list(range(first, first + count))
        self.celebrity_ids = [first + count] if celebrity else []
        # Per regular user (by index): counters, and who follows them.
        self.followers_count = array("i", bytes(4 * count))
        self.following_count = array("i", bytes(4 * count))
        self.posts_count = array("i", bytes(4 * count))
        self.followers = [array("i") for _ in range(count)]
        # Accounts a text may name: the new ones, and others found by name when needed.
        self.accounts = {
            name.lower(): {"id": self.user_ids[i], "username": name}
            for i, name in enumerate(self.names)
        }

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

    def _plan_follows(self, follows: int, celebrity: int) -> None:
        count = len(self.user_ids)
        counts = self._following_counts(count, follows)
        order, cumulative = _zipf_cumulative(count, 0.9, self.rng)
        top = cumulative[-1]
        # Popular accounts are followed more, and named more in texts.
        self.popular = (order, cumulative)
        self.follow_pairs = array("i")  # follower index, followee index, ...
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
            for pick in sorted(chosen):
                self.follow_pairs.extend((index, pick))
                self.followers[pick].append(index)
            self.following_count[index] = wanted
        for pick in range(count):
            self.followers_count[pick] = len(self.followers[pick])
        self.celebrity_followers = min(celebrity, count) if self.celebrity_ids else 0
        for index in range(self.celebrity_followers):
            self.following_count[index] += 1

    # --- planning: posts and likes -------------------------------------------------------

    def _plan_posts(self, count: int, replies: int, reposts: int, likes: int, days: int) -> None:
        """Decide every post's kind, author and parent or original, and every like, in time
        order, counting as it goes."""
        rng, users = self.rng, len(self.user_ids)
        kinds = bytearray([REPLY]) * replies + bytearray([REPOST]) * reposts
        kinds += bytearray([ROOT]) * (count - replies - reposts)
        rng.shuffle(kinds)
        if count and kinds[0] != ROOT:  # the first post answers nobody
            first_root = kinds.index(ROOT)
            kinds[0], kinds[first_root] = kinds[first_root], kinds[0]
        self.kinds = kinds
        self.post_first = self._next_id(Post)
        self.span = timedelta(days=days).total_seconds()
        self.post_count = count
        self.author = array("i", bytes(4 * count))
        self.parent = array("i", [-1]) * count  # the parent (reply) or original (repost)
        self.thread = array("i", [-1]) * count  # a reply's root
        self.reply_count = array("i", bytes(4 * count))
        self.like_count = array("i", bytes(4 * count))
        self.repost_count = array("i", bytes(4 * count))
        self.like_post, self.like_user, self.like_step = array("i"), array("i"), array("i")

        order, cumulative = _zipf_cumulative(users, 0.7, rng)
        top = cumulative[-1]

        def poster() -> int:
            return order[bisect.bisect(cumulative, rng.random() * top)]

        def actor(author: int) -> int:
            # Mostly the author's followers reply, repost and like.
            followers = self.followers[author]
            if followers and rng.random() < 0.7:
                return followers[int(rng.random() * len(followers))]
            return poster()

        mean_followers = max(len(self.follow_pairs) / 2 / users, 1.0)
        weight = [1 + min(15, int(len(f) / mean_followers)) for f in self.followers]
        pool = array("i")

        def target() -> int:
            size = len(pool)
            return pool[size - 1 - int(rng.random() * min(size, ENGAGEMENT_WINDOW))]

        reposted, liked = set(), set()
        progress = Progress(self.stdout, "planning posts", count)
        for step in range(count):
            kind = kinds[step]
            if kind == REPOST:
                for _ in range(20):
                    original = target()
                    author = actor(self.author[original])
                    if original * users + author not in reposted:
                        break
                else:  # everyone near has reposted it: a post of its own instead
                    kind = kinds[step] = ROOT
            if kind == REPOST:
                reposted.add(original * users + author)
                self.parent[step] = original
                self.repost_count[original] += 1
                pool.append(original)
            elif kind == REPLY:
                parent = target()
                author = self.author[parent] if rng.random() < 0.1 else actor(self.author[parent])
                self.parent[step] = parent
                self.thread[step] = parent if self.thread[parent] < 0 else self.thread[parent]
                self.reply_count[parent] += 1
                pool.append(parent)
            else:
                author = poster()
            self.author[step] = author
            self.posts_count[author] += 1
            if kind != REPOST:
                pool.extend([step] * weight[author])
            due = (step + 1) * likes // count
            while len(self.like_post) < due and self._plan_like(step, target, actor, liked):
                pass
            if step % 10000 == 9999:
                progress.advance(10000)
        progress.done = count
        progress.finish()
        self._fill_likes(likes, liked)
        if missing := reposts - kinds.count(REPOST):
            self.stdout.write(
                f"  {missing:,} reposts found nothing near left to repost: posts instead"
            )

    def _plan_like(self, step: int, target, actor, liked: set) -> bool:
        """One like at `step`, of a recent post; False if none could be found quickly."""
        users = len(self.user_ids)
        for attempt in range(40):
            if attempt < 20:
                post = target()
                user = actor(self.author[post])
            else:
                post = self.rng.randrange(step + 1)
                user = self.rng.randrange(users)
            key = post * users + user
            if self.kinds[post] != REPOST and key not in liked:
                liked.add(key)
                self._add_like(post, user, step)
                return True
        return False

    def _fill_likes(self, likes: int, liked: set) -> None:
        """The likes no quick pick found (small seeds nearly saturated), at the last step."""
        users, last = len(self.user_ids), self.post_count - 1
        if len(self.like_post) >= likes:
            return
        originals = [step for step in range(self.post_count) if self.kinds[step] != REPOST]
        self.rng.shuffle(originals)
        for post in originals:
            for user in range(users):
                if len(self.like_post) >= likes:
                    return
                if post * users + user not in liked:
                    liked.add(post * users + user)
                    self._add_like(post, user, last)

    def _add_like(self, post: int, user: int, step: int) -> None:
        self.like_post.append(post)
        self.like_user.append(user)
        self.like_step.append(step)
        self.like_count[post] += 1

    def _posted_at(self, step: int):
        return self.now - timedelta(seconds=self.span * (1 - (step + 1) / self.post_count))

    # --- writing: users, follows ---------------------------------------------------------

    def _write_users(self, password: str) -> None:
        hashed = make_password(password)
        prefix = self.prefix

        def rows():
            for index, name in enumerate(self.names):
                yield (
                    self.user_ids[index],
                    name,
                    self.followers_count[index],
                    self.following_count[index],
                    self.posts_count[index],
                )
            for user_id in self.celebrity_ids:
                yield user_id, f"{prefix}celebrity", self.celebrity_followers, 0, 0

        columns = [
            "id",
            "username",
            "followers_count",
            "following_count",
            "posts_count",
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
        common = (hashed, False, False, True, self.now)
        full = (
            (*row, *common, row[1].replace(prefix, prefix.title(), 1), "", "", "", "", "")
            for row in rows()
        )
        total = len(self.names) + len(self.celebrity_ids)
        self._write(User, columns, full, total, "users")
        self._reset_sequences(User)

    def _write_follows(self) -> None:
        first = self._next_id(Follow)
        # Follows predate the posts, so each post reached the followers it has now.
        start = self.now - timedelta(seconds=self.span) - timedelta(days=30)
        ids, pairs = self.user_ids, self.follow_pairs

        def rows():
            next_id = first
            for index in range(0, len(pairs), 2):
                yield next_id, ids[pairs[index]], ids[pairs[index + 1]], start
                next_id += 1
            for celebrity_id in self.celebrity_ids:
                for follower in range(self.celebrity_followers):
                    yield next_id, ids[follower], celebrity_id, start
                    next_id += 1

        total = len(pairs) // 2 + self.celebrity_followers
        self.follow_range = (first, first + total - 1)
        self._write(
            Follow, ["id", "follower_id", "followee_id", "created_at"], rows(), total, "follows"
        )
        self._reset_sequences(Follow)

    # --- writing: posts, tags, likes -----------------------------------------------------

    def _account(self, name: str) -> dict | None:
        """`{id, username}` of the active account named `name` (lower-cased), as
        post_create's mentions hold it."""
        if name not in self.accounts:
            user = User.objects.usernames_in([name]).filter(is_active=True).first()
            self.accounts[name] = {"id": user.pk, "username": user.username} if user else None
        return self.accounts[name]

    def _text(self, vocabulary, reply_to_name: str | None) -> str:
        """A few words, sometimes naming accounts and carrying tags, within POST_MAX_LENGTH
        (whole words are dropped, never cut, so what parses is what was meant)."""
        rng = self.rng
        words = [
            WORDS[bisect.bisect(vocabulary, rng.random() * vocabulary[-1])]
            for _ in range(rng.randint(4, 30))
        ]
        words[0] = words[0].capitalize()
        extras = []
        if rng.random() < MENTION_SHARE:
            order, cumulative = self.popular
            for _ in range(1 if rng.random() < 0.8 else 2):
                picked = order[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
                extras.append("@" + self.names[picked] + rng.choice(("", "", "", ".", ",", "!")))
        if rng.random() < TAG_SHARE:
            for _ in range(1 if rng.random() < 0.75 else 2):
                tag = TAGS[bisect.bisect(self.tag_weights, rng.random() * self.tag_weights[-1])]
                extras.append("#" + (tag.lower() if rng.random() < 0.3 else tag))
        for extra in extras:
            words.insert(rng.randint(1, len(words)), extra)
        if reply_to_name and rng.random() < 0.3:
            words.insert(0, "@" + reply_to_name)
        limit = settings.POST_MAX_LENGTH
        while len(" ".join(words)) > limit and len(words) > 1:
            plain = [i for i, word in enumerate(words) if word[0] not in "@#"]
            words.pop(plain[-1] if plain else -1)
        return " ".join(words)[:limit]

    def _write_posts(self) -> None:
        vocabulary = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(WORDS))))
        self.tag_weights = list(
            itertools.accumulate(1.0 / (r + 1) ** 1.1 for r in range(len(TAGS)))
        )
        first, ids = self.post_first, self.user_ids
        self.mentioned: list[tuple[int, int]] = []  # (post id, recipient id)
        self.tagged: list[tuple[int, str, int, object]] = []  # (post id, tag, author, time)

        def rows():
            for step in range(self.post_count):
                kind, author, parent = self.kinds[step], ids[self.author[step]], self.parent[step]
                created = self._posted_at(step)
                reply_to = reply_to_author = conversation = repost_of = None
                text, mentions, tags = "", [], []
                if kind == REPOST:
                    repost_of = first + parent
                else:
                    reply_to_name = None
                    if kind == REPLY:
                        reply_to, reply_to_author = first + parent, ids[self.author[parent]]
                        conversation = first + self.thread[step]
                        reply_to_name = self.names[self.author[parent]]
                    text = self._text(vocabulary, reply_to_name)
                    found = (self._account(n) for n in post_text.mentioned_usernames(text))
                    mentions = [account for account in found if account]
                    tags = post_text.hashtags(text)
                    post_id = first + step
                    self.mentioned += [(post_id, m["id"]) for m in mentions if m["id"] != author]
                    self.tagged += [(post_id, tag, author, created) for tag in tags]
                yield (
                    first + step,
                    author,
                    text,
                    created,
                    created,
                    reply_to,
                    reply_to_author,
                    conversation,
                    repost_of,
                    self.reply_count[step],
                    self.like_count[step],
                    self.repost_count[step],
                    json.dumps(mentions),
                    json.dumps(tags),
                )

        columns = [
            "id",
            "author_id",
            "text",
            "created_at",
            "published_at",
            "reply_to_id",
            "reply_to_author_id",
            "conversation",
            "repost_of_id",
            "reply_count",
            "like_count",
            "repost_count",
            "mentions",
            "hashtags",
        ]
        self._write(Post, columns, rows(), self.post_count, "posts")
        self._reset_sequences(Post)
        self._write_tags()

    def _write_tags(self) -> None:
        first_use = {}
        for _, tag, _, created in self.tagged:
            first_use.setdefault(tag, created)
        Hashtag.objects.bulk_create(
            [Hashtag(name=tag, created_at=created) for tag, created in first_use.items()],
            ignore_conflicts=True,
        )
        tag_ids = dict(Hashtag.objects.filter(name__in=first_use).values_list("name", "id"))
        first = self._next_id(PostHashtag)
        rows = (
            (first + index, tag_ids[tag], post_id, author, created)
            for index, (post_id, tag, author, created) in enumerate(self.tagged)
        )
        columns = ["id", "hashtag_id", "post_id", "author_id", "created_at"]
        self._write(PostHashtag, columns, rows, len(self.tagged), "tags")
        self._reset_sequences(PostHashtag)

    def _write_likes(self) -> None:
        first, post_first, ids = self._next_id(Like), self.post_first, self.user_ids
        self.like_first = first
        rows = (
            (
                first + index,
                ids[self.like_user[index]],
                post_first + self.like_post[index],
                self._posted_at(self.like_step[index]),
            )
            for index in range(len(self.like_post))
        )
        columns = ["id", "user_id", "post_id", "created_at"]
        self._write(Like, columns, rows, len(self.like_post), "likes")
        self._reset_sequences(Like)

    # --- timelines -----------------------------------------------------------------------

    def _timelines(self, user_ids) -> None:
        """Each user's newest TIMELINE_CAP posts among their own and their followees', with
        the fan-out's rules (notifications.fanout): a followee's reply to someone else only if
        the user follows that account or is it; a repost (the user's own too) only if the
        timeline would not hold its original.

        Per batch of users, one INSERT ... SELECT ranks candidates newer than a per-user
        threshold, chosen so about 1.5 times the cap qualify; users left with fewer than the
        cap while older candidates exist are filled again without a threshold."""
        cap = settings.TIMELINE_CAP
        first_post, last_post = self.post_first, self.post_first + self.post_count - 1
        span = max(last_post - first_post + 1, 1)
        candidates = self._candidate_counts(user_ids)
        progress = Progress(self.stdout, "timelines (users)", len(user_ids))
        qn = connection.ops.quote_name
        timeline, follows, posts = (
            qn(TimelineEntry._meta.db_table),
            qn(Follow._meta.db_table),
            qn(Post._meta.db_table),
        )

        def reaches(post: str) -> str:
            # Whether `post`, by someone c.user_id follows, reaches c.user_id.
            return f"""({post}.reply_to_author_id IS NULL
                OR {post}.reply_to_author_id IN ({post}.author_id, c.user_id)
                OR EXISTS (SELECT 1 FROM {follows} r WHERE r.follower_id = c.user_id
                           AND r.followee_id = {post}.reply_to_author_id))"""  # noqa: S608

        # The candidates (own posts and followees') first, as a materialized CTE: with the
        # rules in the same query PostgreSQL joined every follow, not the batch's.
        materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
        fill = f"""
            WITH c AS {materialized} (
                SELECT t.user_id, p.id AS post_id, p.author_id, p.reply_to_author_id,
                       p.repost_of_id
                FROM seed_threshold t
                JOIN {follows} f ON f.follower_id = t.user_id
                JOIN {posts} p ON p.author_id = f.followee_id AND p.id > t.threshold
                UNION ALL
                SELECT t.user_id, p.id, p.author_id, NULL, p.repost_of_id
                FROM seed_threshold t
                JOIN {posts} p ON p.author_id = t.user_id AND p.id > t.threshold
            )
            INSERT INTO {timeline} (user_id, post_id)
            SELECT user_id, post_id FROM (
                SELECT c.user_id, c.post_id,
                       ROW_NUMBER() OVER (PARTITION BY c.user_id ORDER BY c.post_id DESC) AS rn
                FROM c
                WHERE {reaches("c")}
                AND (c.repost_of_id IS NULL OR NOT EXISTS (
                    SELECT 1 FROM {posts} o WHERE o.id = c.repost_of_id
                    AND (o.author_id = c.user_id OR (
                        EXISTS (SELECT 1 FROM {follows} h WHERE h.follower_id = c.user_id
                                AND h.followee_id = o.author_id)
                        AND {reaches("o")}))))
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
                    wanted = min(1.0, 1.5 * cap / max(candidates.get(user_id, 0), 1))
                    thresholds.append((user_id, int(last_post - wanted * span)))
                with transaction.atomic():
                    self._fill(cursor, fill, thresholds, cap)
                    # Users whose threshold left out nothing have all they can have.
                    partial = [user for user, threshold in thresholds if threshold >= first_post]
                    short = self._short_users(cursor, partial, cap, candidates)
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
        if not batch:
            return []
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
        """Posts that could enter each user's timeline, their own and their followees' (an
        upper bound: replies and reposts that stay out are counted too)."""
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

    # --- notifications -------------------------------------------------------------------

    def _notifications(self) -> None:
        """The inbox rows the live path would have written, ids in time order: `follow.created`
        per follow, then per range of posts, sorted by time, `post.created` per timeline entry
        of someone else's post, `post.replied`, `post.reposted`, `post.mentioned` and
        `post.liked`, none to the actor."""
        qn = connection.ops.quote_name
        notifications, posts, likes, timeline, follows = (
            qn(model._meta.db_table) for model in (Notification, Post, Like, TimelineEntry, Follow)
        )
        Type = Notification.Type
        read_before = self.now - UNREAD_FOR
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS seed_mention")
            cursor.execute(
                "CREATE TEMPORARY TABLE seed_mention "
                "(post_id bigint, recipient_id bigint, PRIMARY KEY (post_id, recipient_id))"
            )
        self._write(
            "seed_mention",
            ["post_id", "recipient_id"],
            self.mentioned,
            len(self.mentioned),
            "mentions",
        )
        insert = (
            f"INSERT INTO {notifications} "  # noqa: S608
            "(id, recipient_id, type, actor_id, post_id, created_at, read) "
            "SELECT %s + ROW_NUMBER() OVER (ORDER BY created_at, type, post_id, recipient_id, "
            "actor_id), recipient_id, type, actor_id, post_id, created_at, created_at < %s "
            "FROM ({}) n"
        )
        by_follow = (
            f"SELECT f.followee_id AS recipient_id, '{Type.FOLLOW_CREATED}' AS type, "  # noqa: S608
            "f.follower_id AS actor_id, CAST(NULL AS bigint) AS post_id, "
            "f.created_at AS created_at "
            f"FROM {follows} f WHERE f.id BETWEEN %s AND %s"
        )
        by_post = f"""
            SELECT t.user_id AS recipient_id, '{Type.POST_CREATED}' AS type,
                   p.author_id AS actor_id, p.id AS post_id, p.created_at AS created_at
            FROM {timeline} t JOIN {posts} p ON p.id = t.post_id
            WHERE t.post_id BETWEEN %(low)s AND %(high)s AND p.author_id <> t.user_id
            UNION ALL
            SELECT p.reply_to_author_id, '{Type.POST_REPLIED}', p.author_id, p.id, p.created_at
            FROM {posts} p
            WHERE p.id BETWEEN %(low)s AND %(high)s AND p.reply_to_author_id <> p.author_id
            UNION ALL
            SELECT o.author_id, '{Type.POST_REPOSTED}', p.author_id, o.id, p.created_at
            FROM {posts} p JOIN {posts} o ON o.id = p.repost_of_id
            WHERE p.id BETWEEN %(low)s AND %(high)s AND o.author_id <> p.author_id
            UNION ALL
            SELECT m.recipient_id, '{Type.POST_MENTIONED}', p.author_id, p.id, p.created_at
            FROM seed_mention m JOIN {posts} p ON p.id = m.post_id
            WHERE m.post_id BETWEEN %(low)s AND %(high)s
            UNION ALL
            SELECT p.author_id, '{Type.POST_LIKED}', l.user_id, p.id, l.created_at
            FROM {likes} l JOIN {posts} p ON p.id = l.post_id
            WHERE l.id BETWEEN %(like_low)s AND %(like_high)s AND p.author_id <> l.user_id
        """  # noqa: S608
        next_id = self._next_id(Notification)
        progress = Progress(self.stdout, "notifications (posts)", self.post_count)
        with connection.cursor() as cursor:
            with transaction.atomic():
                cursor.execute(insert.format(by_follow), [next_id, read_before, *self.follow_range])
                next_id += cursor.rowcount
            chunk = 50000
            for low in range(0, self.post_count, chunk):
                high = min(low + chunk, self.post_count) - 1
                params = {
                    "low": self.post_first + low,
                    "high": self.post_first + high,
                    "like_low": self.like_first + bisect.bisect_left(self.like_step, low),
                    "like_high": self.like_first + bisect.bisect_right(self.like_step, high) - 1,
                    "first": next_id,
                    "read_before": read_before,
                }
                sql = insert.replace("%s", "%(first)s", 1).replace("%s", "%(read_before)s", 1)
                with transaction.atomic():
                    cursor.execute(sql.format(by_post), params)
                    next_id += cursor.rowcount
                progress.advance(high - low + 1)
            cursor.execute("DROP TABLE seed_mention")
        progress.finish()
        self._reset_sequences(Notification)
