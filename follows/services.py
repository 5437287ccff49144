"""Following and unfollowing, with the timeline and notification changes they bring."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from accounts.models import User
from common.locks import author_fanout_lock
from follows.models import Follow
from notifications.services import notification_follow_created
from posts.services import timeline_backfill, timeline_remove_author

logger = logging.getLogger(__name__)


def follow_create(*, follower: User, followee: User) -> tuple[Follow, bool]:
    """Follow `followee`; return `(follow, created)`. Idempotent: following again changes
    nothing. A new follow brings the followee's newest posts into the follower's timeline
    and notifies the followee."""
    if follower.pk == followee.pk:
        raise ValidationError("You cannot follow yourself.")
    with transaction.atomic():
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
