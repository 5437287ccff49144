"""Writes to the notification inbox."""

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
