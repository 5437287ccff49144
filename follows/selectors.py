"""Reads of follows, blocks and mutes. Lists are users (counts are columns), newest first,
one query each; blocks hide accounts from each other in every list that uses them."""

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from follows.models import Block


def followers_of(*, username: str, viewer: User) -> QuerySet[User]:
    """Users who follow `username`, annotated with `follow_id` (the pagination key); none
    that the viewer blocks or is blocked by."""
    target = User.objects.active_by_username(username).values("pk")
    users = User.objects.filter(is_active=True, following_relations__followee__in=target)
    return hide_blocked(users, viewer=viewer, field="pk").annotate(
        follow_id=F("following_relations__id")
    )


def following_of(*, username: str, viewer: User) -> QuerySet[User]:
    """Users whom `username` follows, annotated with `follow_id`; as `followers_of`."""
    source = User.objects.active_by_username(username).values("pk")
    users = User.objects.filter(is_active=True, follower_relations__follower__in=source)
    return hide_blocked(users, viewer=viewer, field="pk").annotate(
        follow_id=F("follower_relations__id")
    )


def blocked_by(user: User) -> QuerySet:
    """Ids of the accounts `user` blocks (a subquery)."""
    return Block.objects.filter(blocker=user).values("blocked_id")


def blockers_of(user: User) -> QuerySet:
    """Ids of the accounts that block `user` (a subquery)."""
    return Block.objects.filter(blocked=user).values("blocker_id")


def hide_blocked(queryset: QuerySet, *, viewer: User, field: str) -> QuerySet:
    """`queryset` without rows whose `field` (an account) blocks `viewer` or is blocked by
    them: two anti-joins on the blocks' indexes."""
    return queryset.exclude(**{f"{field}__in": blocked_by(viewer)}).exclude(
        **{f"{field}__in": blockers_of(viewer)}
    )


def block_between(first: User, second: User) -> Block | None:
    """A block between the two accounts, either way, or None."""
    return Block.objects.filter(
        Q(blocker=first, blocked=second) | Q(blocker=second, blocked=first)
    ).first()


def blocks_of(*, user: User) -> QuerySet[User]:
    """The accounts `user` blocks, newest block first, annotated `block_id`."""
    return User.objects.filter(blocks_received__blocker=user).annotate(
        block_id=F("blocks_received__id")
    )


def mutes_of(*, user: User) -> QuerySet[User]:
    """The accounts `user` mutes (mutes in force), newest first, annotated `mute_id` and
    `mute_expires_at`."""
    now = timezone.now()
    return User.objects.filter(
        Q(mutes_received__expires_at__isnull=True) | Q(mutes_received__expires_at__gt=now),
        mutes_received__muter=user,
    ).annotate(mute_id=F("mutes_received__id"), mute_expires_at=F("mutes_received__expires_at"))
