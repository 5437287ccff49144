"""Reads of accounts. Counts are correlated subqueries in the same SELECT, so a page of users
costs one query whatever its size."""

from django.db.models import OuterRef, QuerySet

from accounts.models import User
from common.db import subquery_count
from follows.models import Follow
from posts.models import Post


def with_counts(queryset: QuerySet[User]) -> QuerySet[User]:
    """Annotate `followers_count`, `following_count` and `posts_count`."""
    return queryset.annotate(
        followers_count=subquery_count(Follow.objects.filter(followee=OuterRef("pk"))),
        following_count=subquery_count(Follow.objects.filter(follower=OuterRef("pk"))),
        posts_count=subquery_count(Post.objects.filter(author=OuterRef("pk"))),
    )


def user_profile(*, username: str) -> User | None:
    """The active user with that username (any case), with counts; None when unknown."""
    return with_counts(User.objects.active_by_username(username)).first()


def user_with_counts(*, user: User) -> User:
    return with_counts(User.objects.filter(pk=user.pk)).get()


def user_list() -> QuerySet[User]:
    """Every account, active or not, newest first, with counts (the admin list)."""
    return with_counts(User.objects.order_by("-id"))


def user_for_admin(*, username: str) -> User | None:
    """Any account with that username (any case), active or not, with counts."""
    return with_counts(User.objects.by_username(username)).first()


def user_exists(*, username: str) -> bool:
    return User.objects.active_by_username(username).exists()
