"""Reads of accounts. Counts are columns kept exact by the services that change them, so a
profile or a page of users costs one query whatever the numbers."""

from django.db.models import QuerySet

from accounts.models import User


def visible_users(viewer: User | None = None) -> QuerySet[User]:
    """Active accounts, less those that block `viewer` (to whom they answer 404)."""
    users = User.objects.filter(is_active=True)
    if viewer is not None and viewer.is_authenticated:
        users = users.exclude(blocks_made__blocked=viewer)
    return users


def user_profile(*, username: str, viewer: User | None = None) -> User | None:
    """The active user with that username (any case), unless they block `viewer`; None
    when unknown."""
    return visible_users(viewer).by_username(username).first()


def user_active(*, username: str) -> User | None:
    """The active account with that username (any case), whoever asks: the other end of a
    follow, block or mute, which a block between the two does not hide."""
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


def user_exists(*, username: str, viewer: User | None = None) -> bool:
    return visible_users(viewer).by_username(username).exists()
