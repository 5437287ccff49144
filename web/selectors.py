"""Reads only the web pages need: the navigation's notification state and how the viewer
stands with a profile. Each is one query."""

from django.db import connection
from django.db.models import Exists, OuterRef, Subquery

from accounts.models import User
from follows.models import Block, Follow, Mute
from notifications.models import Notification

# Every page runs it, so it is one fixed statement (prepared once per connection) rather
# than the inbox queryset, whose construction cost more than the query (docs/benchmarks.md,
# "Web client"). It applies the inbox's rules (`notifications.selectors.inbox`): nothing
# from a suspended account or across a block, either way; a test holds the two equal.
_NAV_SQL = (
    "SELECT COUNT(CASE WHEN NOT n.read THEN 1 END), MAX(n.id)"  # noqa: S608 (no user input)
    f' FROM "{Notification._meta.db_table}" n'
    f' JOIN "{User._meta.db_table}" a ON a.id = n.actor_id'
    " WHERE n.recipient_id = %s AND a.is_active"
    f' AND NOT EXISTS (SELECT 1 FROM "{Block._meta.db_table}" b'
    "  WHERE b.blocker_id = %s AND b.blocked_id = n.actor_id)"
    f' AND NOT EXISTS (SELECT 1 FROM "{Block._meta.db_table}" b'
    "  WHERE b.blocked_id = %s AND b.blocker_id = n.actor_id)"
)


def nav_state(*, user: User) -> dict:
    """`{"unread": int, "latest": int}`: the unread count for the badge and the newest
    notification id, from which the live connection replays what it missed."""
    with connection.cursor() as cursor:
        cursor.execute(_NAV_SQL, [user.pk, user.pk, user.pk])
        unread, latest = cursor.fetchone()
    return {"unread": unread or 0, "latest": latest or 0}


def relationship(*, viewer: User, user: User) -> dict:
    """Whether the viewer follows, blocks and mutes `user` (an active mute), and when that
    mute ends (`mute_ends`, None for a mute until unmuted)."""
    mute = Mute.objects.active().filter(muter=viewer, muted=OuterRef("pk"))
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            following=Exists(Follow.objects.filter(follower=viewer, followee=OuterRef("pk"))),
            blocking=Exists(Block.objects.filter(blocker=viewer, blocked=OuterRef("pk"))),
            muting=Exists(mute),
            mute_ends=Subquery(mute.values("expires_at")[:1]),
        )
        .values("following", "blocking", "muting", "mute_ends")
        .first()
    )
    return row or {"following": False, "blocking": False, "muting": False, "mute_ends": None}
