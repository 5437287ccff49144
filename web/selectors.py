"""Reads only the web pages need: the navigation's notification state and how the viewer
stands with a profile. Each is one query."""

from django.db.models import Count, Exists, Max, OuterRef, Q

from accounts.models import User
from follows.models import Block, Follow, Mute
from notifications.selectors import inbox


def nav_state(*, user: User) -> dict:
    """`{"unread": int, "latest": int}`: the unread count for the badge and the newest
    notification id, from which the live connection replays what it missed."""
    state = inbox(user).aggregate(unread=Count("id", filter=Q(read=False)), latest=Max("id"))
    return {"unread": state["unread"], "latest": state["latest"] or 0}


def relationship(*, viewer: User, user: User) -> dict:
    """Whether the viewer follows, blocks and mutes `user` (an active mute)."""
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            following=Exists(Follow.objects.filter(follower=viewer, followee=OuterRef("pk"))),
            blocking=Exists(Block.objects.filter(blocker=viewer, blocked=OuterRef("pk"))),
            muting=Exists(Mute.objects.active().filter(muter=viewer, muted=OuterRef("pk"))),
        )
        .values("following", "blocking", "muting")
        .first()
    )
    return row or {"following": False, "blocking": False, "muting": False}
