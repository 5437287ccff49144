"""Writes to the notification inbox."""

from django.db.models import Q

from accounts.models import User
from common import events
from notifications.models import Notification


def notification_follow_created(*, follower: User, followee: User) -> Notification:
    """Persist a `follow.created` notification for `followee`; its live event goes out after
    commit. Call inside the transaction that created the follow."""
    notification = Notification.objects.create(
        recipient=followee, type=Notification.Type.FOLLOW_CREATED, actor=follower
    )
    events.publish_on_commit("follow.created", notification_id=notification.pk)
    return notification


def notifications_mark_read(*, user: User, up_to: int | None = None) -> int:
    """Mark the user's unread notifications read (those with id <= `up_to`, or all)."""
    queryset = Notification.objects.filter(recipient=user, read=False)
    if up_to is not None:
        queryset = queryset.filter(id__lte=up_to)
    return queryset.update(read=True)


def notifications_forget_between(*, first: User, second: User) -> int:
    """Delete what each of the two accounts was notified of the other (a block)."""
    deleted, _ = Notification.objects.filter(
        Q(recipient=first, actor=second) | Q(recipient=second, actor=first)
    ).delete()
    return deleted


def notifications_forget_from(*, recipient: User, actor: User) -> int:
    """Delete what `recipient` was notified of `actor` (a mute)."""
    deleted, _ = Notification.objects.filter(recipient=recipient, actor=actor).delete()
    return deleted
