"""Reads of accounts. Counts are columns kept exact by the services that change them, so a
profile or a page of users costs one query whatever the numbers."""

from django.db.models import QuerySet

from accounts.models import User


def user_profile(*, username: str) -> User | None:
    """The active user with that username (any case); None when unknown."""
    return User.objects.active_by_username(username).first()


def user_with_counts(*, user: User) -> User:
    """The account as stored now (its counts may have changed since `user` was read)."""
    return User.objects.get(pk=user.pk)


def user_list() -> QuerySet[User]:
    """Every account, active or not, newest first (the admin list)."""
    return User.objects.order_by("-id")


def user_for_admin(*, username: str) -> User | None:
    """Any account with that username (any case), active or not."""
    return User.objects.by_username(username).first()


def user_exists(*, username: str) -> bool:
    return User.objects.active_by_username(username).exists()
