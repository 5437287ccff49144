"""Reads of posts, threads, interactions, tags and timelines. Every page is one indexed query
for the posts, plus one for what the viewer did to them."""

import functools
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from follows.selectors import hide_blocked
from posts.models import Bookmark, Hashtag, Like, Post, PostHashtag, TimelineEntry
from posts.search import filter_by_search
from posts.text import hashtags as parse_hashtags
from posts.text import normalise_tag

MAX_ANCESTORS = 100
TRENDING_WINDOW = timedelta(hours=24)
TRENDING_SIZE = 10


class PostRow(NamedTuple):
    """A post with what its rendering needs, whether it came from the ORM or from the feed's
    own SQL (posts.serializers renders both alike)."""

    id: int
    text: str
    created_at: datetime
    author_id: int
    username: str
    display_name: str
    avatar: str
    reply_to_id: int | None
    reply_to_username: str | None
    conversation: int | None
    reply_count: int
    like_count: int
    repost_count: int
    mentions: list
    hashtags: list
    repost_of: "PostRow | None" = None

    @property
    def post_id(self) -> int:
        # The feed's cursor key.
        return self.id

    @property
    def original_id(self) -> int:
        return self.repost_of.id if self.repost_of is not None else self.id

    @classmethod
    def of(cls, post: Post) -> "PostRow":
        """From a Post fetched with `with_related` (no further queries)."""
        author = post.author
        original = post.repost_of if post.repost_of_id else None
        return cls(
            post.id,
            post.text,
            post.created_at,
            author.id,
            author.username,
            author.display_name,
            author.avatar.name,
            post.reply_to_id,
            post.reply_to_author.username if post.reply_to_author_id else None,
            post.conversation,
            post.reply_count,
            post.like_count,
            post.repost_count,
            post.mentions,
            post.hashtags,
            cls.of(original) if original is not None else None,
        )


def with_related(queryset: QuerySet[Post]) -> QuerySet[Post]:
    """Everything a post's rendering reads, joined in the same query."""
    return queryset.select_related(
        "author", "reply_to_author", "repost_of__author", "repost_of__reply_to_author"
    )


def visible(queryset: QuerySet[Post], viewer: User | None = None) -> QuerySet[Post]:
    """The posts anyone may see: by active authors (a suspended account's posts, and reposts
    of them, are hidden until it is reinstated); for `viewer`, also none by or of an account
    that blocks them or that they block. Every list of posts goes through here."""
    queryset = queryset.filter(author__is_active=True).exclude(repost_of__author__is_active=False)
    if viewer is not None and viewer.is_authenticated:
        queryset = hide_blocked(queryset, viewer=viewer, field="author")
        queryset = hide_blocked(queryset, viewer=viewer, field="repost_of__author")
    return queryset


def post_list(
    *,
    viewer: User | None = None,
    q: str = "",
    author: str = "",
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> QuerySet[Post]:
    """Posts newest first, filtered by search (words, and `#tags` matched as tags), author
    username and creation time."""
    queryset = Post.objects.all()
    if author:
        queryset = queryset.filter(author__in=User.objects.by_username(author).values("pk"))
    if date_from is not None:
        queryset = queryset.filter(created_at__gte=date_from)
    if date_to is not None:
        queryset = queryset.filter(created_at__lte=date_to)
    if q:
        words = [word for word in q.split() if not word.startswith("#")]
        for tag in parse_hashtags(" ".join(word for word in q.split() if word.startswith("#"))):
            queryset = queryset.filter(
                tag_links__hashtag=Subquery(Hashtag.objects.filter(name=tag).values("pk")[:1])
            )
        queryset = filter_by_search(queryset, " ".join(words))
    return with_related(visible(queryset, viewer)).order_by("-id")


def posts_by_username(*, username: str, viewer: User | None = None) -> QuerySet[Post]:
    """One user's posts, replies and reposts, newest first (the user is matched in the same
    query)."""
    return with_related(
        visible(
            Post.objects.filter(author__in=User.objects.active_by_username(username).values("pk")),
            viewer,
        )
    ).order_by("-id")


def post_get(*, post_id: int, viewer: User | None = None) -> Post | None:
    """The post, if `viewer` may see it (any active author's when no viewer is given)."""
    return with_related(visible(Post.objects.filter(pk=post_id), viewer)).first()


def post_ancestors(*, post: Post, viewer: User | None = None) -> list[Post]:
    """The chain of posts `post` replies to, root first, at most MAX_ANCESTORS. One
    recursive query walks the chain; it stops at a deleted parent."""
    if post.reply_to_id is None:
        return []
    table = connection.ops.quote_name(Post._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE chain(id, reply_to_id, depth) AS ("  # noqa: S608
            f" SELECT id, reply_to_id, 1 FROM {table} WHERE id = %s"
            f" UNION ALL SELECT p.id, p.reply_to_id, c.depth + 1 FROM {table} p"
            f" JOIN chain c ON p.id = c.reply_to_id WHERE c.depth < %s"
            f") SELECT id FROM chain",
            [post.reply_to_id, MAX_ANCESTORS],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return list(with_related(visible(Post.objects.filter(pk__in=ids), viewer)).order_by("id"))


def post_replies(*, post: Post, viewer: User | None = None) -> QuerySet[Post]:
    """Direct replies to the post (to its original, for a repost), oldest first."""
    replies = Post.objects.filter(reply_to=post.repost_of_id or post.pk)
    return with_related(visible(replies, viewer)).order_by("id")


def _visible_users(users: QuerySet[User], viewer: User | None) -> QuerySet[User]:
    if viewer is not None and viewer.is_authenticated:
        users = hide_blocked(users, viewer=viewer, field="pk")
    return users


def likers_of(*, post: Post, viewer: User | None = None) -> QuerySet[User]:
    """Users who liked the post (its original), newest like first, annotated `like_id`."""
    users = User.objects.filter(is_active=True, likes__post=post.repost_of_id or post.pk)
    return _visible_users(users, viewer).annotate(like_id=F("likes__id"))


def reposters_of(*, post: Post, viewer: User | None = None) -> QuerySet[User]:
    """Users who reposted the post (its original), newest first, annotated `repost_id`."""
    users = User.objects.filter(is_active=True, posts__repost_of=post.repost_of_id or post.pk)
    return _visible_users(users, viewer).annotate(repost_id=F("posts__id"))


def bookmarks_of(*, user: User) -> QuerySet[Post]:
    """The user's bookmarked posts, newest bookmark first, annotated `bookmark_id`."""
    bookmarked = Post.objects.filter(bookmarks__user=user)
    return with_related(visible(bookmarked, user)).annotate(bookmark_id=F("bookmarks__id"))


def likes_by(*, username: str, viewer: User | None = None) -> QuerySet[Post]:
    """Posts the user liked, newest like first, annotated `like_id`."""
    liker = User.objects.active_by_username(username).values("pk")
    liked = Post.objects.filter(likes__user__in=liker)
    return with_related(visible(liked, viewer)).annotate(like_id=F("likes__id"))


def tag_posts(*, tag: str, viewer: User | None = None) -> QuerySet[Post]:
    """Posts carrying `#tag` (any case), newest first, annotated `tagged_id` (the post's id,
    read from the tag's own index so deep pages stay cheap)."""
    # A scalar subquery: the planner then walks the (hashtag, post) index backwards for the
    # one tag and stops at the page's end; with `IN` it guessed an average tag and sorted
    # every post of a popular one (0.5 s for a tag on 100k posts).
    hashtag = Subquery(Hashtag.objects.filter(name=normalise_tag(tag)).values("pk")[:1])
    tagged = Post.objects.filter(tag_links__hashtag=hashtag)
    return with_related(visible(tagged, viewer)).annotate(tagged_id=F("tag_links__post_id"))


def trending_tags() -> list[dict]:
    """Up to TRENDING_SIZE tags of the last 24 h, ranked by how many accounts used them,
    then by posts. Computed at most once a minute (cached)."""
    result = cache.get("posts:trending")
    if result is None:
        since = timezone.now() - TRENDING_WINDOW
        result = list(
            PostHashtag.objects.filter(created_at__gte=since)
            .values(name=F("hashtag__name"))
            .annotate(posts=Count("post_id"), authors=Count("author_id", distinct=True))
            .order_by("-authors", "-posts", "name")[:TRENDING_SIZE]
        )
        cache.set("posts:trending", result, settings.TRENDING_CACHE_SECONDS)
    return result


class ViewerFlags(NamedTuple):
    liked: frozenset
    reposted: frozenset
    bookmarked: frozenset


NO_FLAGS = ViewerFlags(frozenset(), frozenset(), frozenset())
_LIKED, _REPOSTED, _BOOKMARKED = 1, 2, 3


def viewer_flags(*, viewer: User | None, post_ids: set[int]) -> ViewerFlags:
    """Which of the posts the viewer liked, reposted and bookmarked: one query, whatever the
    number of posts."""
    if viewer is None or not viewer.is_authenticated or not post_ids:
        return NO_FLAGS
    ids = sorted(post_ids)
    with connection.cursor() as cursor:
        cursor.execute(*_flags_sql(viewer.pk, ids))
        rows = cursor.fetchall()
    found: dict[int, set] = {_LIKED: set(), _REPOSTED: set(), _BOOKMARKED: set()}
    for post_id, kind in rows:
        found[kind].add(post_id)
    return ViewerFlags(
        frozenset(found[_LIKED]), frozenset(found[_REPOSTED]), frozenset(found[_BOOKMARKED])
    )


def _flags_sql(viewer_id: int, ids: list[int]) -> tuple[str, list]:
    """One fixed statement for the three flags. On PostgreSQL the ids are one array
    parameter (`= ANY`), so every page size shares a statement that is planned once per
    connection; the ORM's `UNION` of three querysets was compiled anew on every request and
    cost ten times the query (docs/benchmarks.md)."""
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        match, ids_params = "= ANY(%s)", [ids]
    else:
        match, ids_params = f"IN ({', '.join(['%s'] * len(ids))})", ids
    sql = (
        f"SELECT post_id, {_LIKED} FROM {qn(Like._meta.db_table)} "  # noqa: S608
        f"WHERE user_id = %s AND post_id {match} "
        f"UNION ALL SELECT repost_of_id, {_REPOSTED} FROM {qn(Post._meta.db_table)} "
        f"WHERE author_id = %s AND repost_of_id {match} "
        f"UNION ALL SELECT post_id, {_BOOKMARKED} FROM {qn(Bookmark._meta.db_table)} "
        f"WHERE user_id = %s AND post_id {match}"
    )
    return sql, [viewer_id, *ids_params] * 3


# --- the home timeline ------------------------------------------------------------------

_POST_COLUMNS = (
    "{p}.id, {p}.text, {p}.created_at, {u}.id, {u}.username, {u}.display_name, {u}.avatar, "
    "{p}.reply_to_id, {r}.username, {p}.conversation, {p}.reply_count, {p}.like_count, "
    "{p}.repost_count, {p}.mentions, {p}.hashtags"
)
_WIDTH = 15


@functools.lru_cache(maxsize=512)
def _feed_sql(bound: str, descending: bool, limit: int) -> str:
    # The limit is written into the text: as a parameter, PostgreSQL never moved the
    # prepared statement to its generic plan and planned the 7-way join on every execution
    # (1.6-3.8 ms against 0.2-0.5 ms of execution). Page sizes are bounded (1 to 101), so a
    # connection prepares a few statements at most.
    qn = connection.ops.quote_name
    posts, users = qn(Post._meta.db_table), qn(User._meta.db_table)
    return (
        f"SELECT {_POST_COLUMNS.format(p='p', u='u', r='ru')}, "  # noqa: S608
        f"{_POST_COLUMNS.format(p='o', u='ou', r='oru')} "
        f"FROM {qn(TimelineEntry._meta.db_table)} t "
        f"JOIN {posts} p ON p.id = t.post_id "
        f"JOIN {users} u ON u.id = p.author_id "
        f"LEFT JOIN {users} ru ON ru.id = p.reply_to_author_id "
        f"LEFT JOIN {posts} o ON o.id = p.repost_of_id "
        f"LEFT JOIN {users} ou ON ou.id = o.author_id "
        f"LEFT JOIN {users} oru ON oru.id = o.reply_to_author_id "
        # A suspended account's posts, and reposts of them, are hidden until it is back.
        f"WHERE t.user_id = %s AND u.is_active AND (o.id IS NULL OR ou.is_active) {bound} "
        f"ORDER BY t.post_id {'DESC' if descending else 'ASC'} LIMIT {limit:d}"
    )


def _row(values: tuple[Any, ...]) -> PostRow:
    return PostRow(
        *values[:2],
        _aware(values[2]),
        *values[3:13],
        _json(values[13]),
        _json(values[14]),
    )


def _json(value):
    # PostgreSQL's jsonb may arrive decoded; SQLite's JSON arrives as text. orjson reads
    # what `json` reads into the same values, in a fraction of the time.
    return orjson.loads(value) if isinstance(value, str) else value


class FeedRows:
    """A user's home timeline as DRF's CursorPagination sees a queryset: it can be ordered by
    `post_id`, bounded by `post_id__lt` / `post_id__gt` and sliced, and each slice is one
    statement on the (user, post) primary key joined to the post, its author and, for a
    repost, the original and its author.

    The feed is the hottest read. Its SQL is fixed text with bound parameters, which
    PostgreSQL plans once per connection (a prepared statement), and rows come back without
    building model instances: the ORM's compiling and instantiating took longer than the
    query itself (docs/benchmarks.md). The timeline is capped at TIMELINE_CAP entries, where
    the feed ends."""

    def __init__(self, user_id: int, descending: bool = True, bound: tuple[str, int] | None = None):
        self.user_id, self.descending, self.bound = user_id, descending, bound

    def order_by(self, *fields: str) -> "FeedRows":
        if fields not in (("-post_id",), ("post_id",)):
            raise ValueError(f"the feed is ordered by post_id only, not {fields}")
        return FeedRows(self.user_id, fields[0].startswith("-"), self.bound)

    def filter(self, **kwargs) -> "FeedRows":
        ((key, value),) = kwargs.items()
        if key not in ("post_id__lt", "post_id__gt"):
            raise ValueError(f"the feed is bounded by post_id only, not {key}")
        return FeedRows(self.user_id, self.descending, (key[-2:], int(value)))

    def __getitem__(self, window: slice) -> list[PostRow]:
        if window.start:
            raise ValueError("the feed is paged by keys, never by offset")
        params: list = [self.user_id]
        bound = ""
        if self.bound is not None:
            operator, value = self.bound
            bound = f"AND t.post_id {'<' if operator == 'lt' else '>'} %s"
            params.append(value)
        with connection.cursor() as cursor:
            cursor.execute(_feed_sql(bound, self.descending, int(window.stop)), params)
            rows = cursor.fetchall()
        return [
            _row(values[:_WIDTH])._replace(
                repost_of=_row(values[_WIDTH:]) if values[_WIDTH] is not None else None
            )
            for values in rows
        ]


def _aware(value) -> datetime:
    # PostgreSQL returns aware datetimes; SQLite returns text in UTC.
    if isinstance(value, str):
        return parse_datetime(value).replace(tzinfo=UTC)
    return value


def feed_for(*, user: User) -> FeedRows:
    """The home timeline: own posts and those of followed accounts, newest first.

    Filled on write (own posts at once, followees' posts by fan-out, backfill on follow) and
    capped at TIMELINE_CAP entries per user; the feed ends there."""
    return FeedRows(user.pk)
