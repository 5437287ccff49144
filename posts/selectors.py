"""Reads of posts and timelines. Every page is one indexed query."""

from datetime import datetime

from django.db.models import QuerySet

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
        .filter(author__in=User.objects.by_username(username).filter(is_active=True).values("pk"))
        .order_by("-id")
    )


def post_get(*, post_id: int) -> Post | None:
    return Post.objects.select_related("author").filter(pk=post_id).first()


def feed_for(*, user: User) -> QuerySet[TimelineEntry]:
    """The home timeline: the user's entries newest first, each with its post and author.

    The timeline table is filled on write (own posts at once, followees' posts by fan-out,
    backfill on follow) and capped at TIMELINE_CAP entries per user; the feed ends there."""
    return (
        TimelineEntry.objects.filter(user=user).select_related("post__author").order_by("-post_id")
    )
