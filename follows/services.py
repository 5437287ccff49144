"""Following, blocking and muting, with the timeline and notification changes they bring."""

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from common.locks import author_fanout_lock, pair_lock
from follows.models import Block, Follow, Mute
from follows.selectors import block_between
from notifications.services import (
    notification_follow_created,
    notifications_forget_between,
    notifications_forget_from,
)
from posts.services import timeline_backfill, timeline_remove_author

logger = logging.getLogger(__name__)


def follow_create(*, follower: User, followee: User) -> tuple[Follow, bool]:
    """Follow `followee`; return `(follow, created)`. Idempotent: following again changes
    nothing. A new follow brings the followee's newest posts into the follower's timeline
    and notifies the followee."""
    if follower.pk == followee.pk:
        raise ValidationError("You cannot follow yourself.")
    with transaction.atomic():
        # A block between the two, committed before or racing this, wins: no follow is left.
        pair_lock(follower.pk, followee.pk)
        if block_between(follower, followee) is not None:
            raise PermissionDenied("You cannot follow this account.")
        follow, created = Follow.objects.get_or_create(follower=follower, followee=followee)
        if created:
            timeline_backfill(
                user=follower,
                author=followee,
                followees=Follow.objects.filter(follower=follower).values("followee_id"),
            )
            notification_follow_created(follower=follower, followee=followee)
            _count(follower=follower, followee=followee, delta=1)
    if created:
        logger.info("follow created", extra={"user_id": follower.pk, "followee_id": followee.pk})
    return follow, created


def follow_delete(*, follower: User, followee: User) -> bool:
    """Stop following; the followee's posts leave the follower's timeline. True if a follow
    was removed (unfollowing someone you do not follow is not an error)."""
    with transaction.atomic():
        author_fanout_lock(followee.pk, shared=False)
        deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
        if deleted:
            timeline_remove_author(user=follower, author=followee)
            _count(follower=follower, followee=followee, delta=-1)
    return bool(deleted)


def _count(*, follower: User, followee: User, delta: int) -> None:
    # In id order, as every transaction that updates both rows does: no deadlock.
    for pk, field in sorted([(follower.pk, "following_count"), (followee.pk, "followers_count")]):
        User.objects.filter(pk=pk).update(**{field: F(field) + delta})


def block_create(*, blocker: User, blocked: User) -> tuple[Block, bool]:
    """Block `blocked`; return `(block, created)`. Idempotent. Any follow between the two
    goes, both ways, as an unfollow would (timelines, counts); each one's posts and
    reposts leave the other's timeline; notifications between them go. Unblocking later
    restores none of it."""
    if blocker.pk == blocked.pk:
        raise ValidationError("You cannot block yourself.")
    with transaction.atomic():
        pair_lock(blocker.pk, blocked.pk)
        block, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
        if created:
            follow_delete(follower=blocker, followee=blocked)
            follow_delete(follower=blocked, followee=blocker)
            for user, author in [(blocker, blocked), (blocked, blocker)]:
                author_fanout_lock(author.pk, shared=False)
                timeline_remove_author(user=user, author=author, with_reposts_of=True)
            notifications_forget_between(first=blocker, second=blocked)
    if created:
        logger.info("block created", extra={"user_id": blocker.pk, "blocked_id": blocked.pk})
    return block, created


def block_delete(*, blocker: User, blocked: User) -> bool:
    """Unblock; True if there was a block. Nothing comes back by itself (no re-follow)."""
    deleted, _ = Block.objects.filter(blocker=blocker, blocked=blocked).delete()
    return bool(deleted)


def mute_create(
    *, muter: User, muted: User, duration: timedelta | None = None
) -> tuple[Mute, bool]:
    """Mute `muted`, for `duration` or until unmuted; return `(mute, created)`. Muting again
    sets the new end. Their posts and reposts leave the muter's timeline and their
    interactions the muter's notifications; follows stay and nobody is told. A mute that
    ends stops applying by itself (every rule compares `expires_at` with the time)."""
    if muter.pk == muted.pk:
        raise ValidationError("You cannot mute yourself.")
    expires_at = timezone.now() + duration if duration is not None else None
    with transaction.atomic():
        # As an unfollow: fan-out pages of `muted` being written finish first.
        author_fanout_lock(muted.pk, shared=False)
        mute, created = Mute.objects.update_or_create(
            muter=muter, muted=muted, defaults={"expires_at": expires_at}
        )
        timeline_remove_author(user=muter, author=muted, with_reposts_of=True)
        notifications_forget_from(recipient=muter, actor=muted)
    return mute, created


def mute_delete(*, muter: User, muted: User) -> bool:
    deleted, _ = Mute.objects.filter(muter=muter, muted=muted).delete()
    return bool(deleted)
