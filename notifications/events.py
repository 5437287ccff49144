"""Channel-layer group names and the event payloads that websocket clients receive."""

from datetime import datetime

from rest_framework.fields import DateTimeField

_datetime = DateTimeField()


def user_group(user_id: int) -> str:
    """The group every websocket of one user joins."""
    return f"user.{user_id}"


def timestamp(value: datetime) -> str:
    return _datetime.to_representation(value)


def post_created(*, notification_id: int, created_at: datetime, post: dict) -> dict:
    return {
        "type": "post.created",
        "id": notification_id,
        "created_at": timestamp(created_at),
        "post": post,
    }


def follow_created(*, notification_id: int, created_at: datetime, follower: dict) -> dict:
    return {
        "type": "follow.created",
        "id": notification_id,
        "created_at": timestamp(created_at),
        "follower": follower,
    }


def post_deleted(*, post_id: int) -> dict:
    return {"type": "post.deleted", "post_id": post_id}
