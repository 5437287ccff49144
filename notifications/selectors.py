"""Reads of the notification inbox."""

from django.db.models import Case, OuterRef, QuerySet, When

from accounts.models import User
from common.db import subquery_count
from follows.models import Follow
from notifications.models import Notification
from posts.models import Post


def _for_follows(expression):
    # Only follow notifications show their actor with counts; post rows skip the subqueries.
    return Case(When(type=Notification.Type.FOLLOW_CREATED, then=expression), default=None)


def with_payload(queryset: QuerySet[Notification]) -> QuerySet[Notification]:
    """Everything the serializer needs, in the same query: the post with its author, the
    actor, and for follow notifications the follower's counts."""
    return queryset.select_related("post__author", "actor").annotate(
        actor_followers_count=_for_follows(
            subquery_count(Follow.objects.filter(followee=OuterRef("actor_id")))
        ),
        actor_following_count=_for_follows(
            subquery_count(Follow.objects.filter(follower=OuterRef("actor_id")))
        ),
        actor_posts_count=_for_follows(
            subquery_count(Post.objects.filter(author=OuterRef("actor_id")))
        ),
    )


def notifications_for(
    *, user: User, since: int | None = None, unread: bool = False
) -> QuerySet[Notification]:
    """The user's notifications, newest first; only those after `since`, or only unread."""
    queryset = Notification.objects.filter(recipient=user)
    if since is not None:
        queryset = queryset.filter(id__gt=since)
    if unread:
        queryset = queryset.filter(read=False)
    return with_payload(queryset).order_by("-id")


def notifications_after(*, user_id: int, after: int, limit: int) -> list[Notification]:
    """Up to `limit` notifications with id > `after`, oldest first (websocket replay)."""
    queryset = Notification.objects.filter(recipient_id=user_id, id__gt=after).order_by("id")
    return list(with_payload(queryset)[:limit])


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read=False).count()
