"""Reads of posts and timelines. Every page is one indexed query."""

from datetime import UTC, datetime
from typing import NamedTuple

from django.db import connection
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from accounts.models import User
from posts.models import Post, TimelineEntry
from posts.search import filter_by_search


def post_list(
    *,
    q: str = "",
    author: str = "",
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> QuerySet[Post]:
    """Posts newest first, filtered by search words, author username and creation time."""
    queryset = Post.objects.select_related("author")
    if author:
        queryset = queryset.filter(author__in=User.objects.by_username(author).values("pk"))
    if date_from is not None:
        queryset = queryset.filter(created_at__gte=date_from)
    if date_to is not None:
        queryset = queryset.filter(created_at__lte=date_to)
    if q:
        queryset = filter_by_search(queryset, q)
    return queryset.order_by("-id")


def posts_by_username(*, username: str) -> QuerySet[Post]:
    """One user's posts, newest first (the user is matched in the same query)."""
    return (
        Post.objects.select_related("author")
        .filter(author__in=User.objects.active_by_username(username).values("pk"))
        .order_by("-id")
    )


def post_get(*, post_id: int) -> Post | None:
    return Post.objects.select_related("author").filter(pk=post_id).first()


class FeedRow(NamedTuple):
    """One post of a home timeline, with what its rendering needs of the author."""

    post_id: int
    text: str
    created_at: datetime
    author_id: int
    username: str
    display_name: str
    avatar: str


def _feed_sql(bound: str, descending: bool) -> str:
    qn = connection.ops.quote_name
    return (
        f"SELECT t.post_id, p.text, p.created_at, u.id, u.username, u.display_name, u.avatar "  # noqa: S608
        f"FROM {qn(TimelineEntry._meta.db_table)} t "
        f"JOIN {qn(Post._meta.db_table)} p ON p.id = t.post_id "
        f"JOIN {qn(User._meta.db_table)} u ON u.id = p.author_id "
        f"WHERE t.user_id = %s {bound} "
        f"ORDER BY t.post_id {'DESC' if descending else 'ASC'} LIMIT %s"
    )


class FeedRows:
    """A user's home timeline as DRF's CursorPagination sees a queryset: it can be ordered by
    `post_id`, bounded by `post_id__lt` / `post_id__gt` and sliced, and each slice is one
    statement on the (user, post) primary key joined to the post and its author.

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

    def __getitem__(self, window: slice) -> list[FeedRow]:
        if window.start:
            raise ValueError("the feed is paged by keys, never by offset")
        params: list = [self.user_id]
        bound = ""
        if self.bound is not None:
            operator, value = self.bound
            bound = f"AND t.post_id {'<' if operator == 'lt' else '>'} %s"
            params.append(value)
        params.append(window.stop)
        with connection.cursor() as cursor:
            cursor.execute(_feed_sql(bound, self.descending), params)
            return [FeedRow(*row[:2], _aware(row[2]), *row[3:]) for row in cursor.fetchall()]


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
