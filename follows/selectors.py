"""Followers and following lists: users (counts are columns), newest follow first, one
query."""

from django.db.models import F, QuerySet

from accounts.models import User


def followers_of(*, username: str) -> QuerySet[User]:
    """Users who follow `username`, annotated with `follow_id` (the pagination key)."""
    target = User.objects.active_by_username(username).values("pk")
    return User.objects.filter(is_active=True, following_relations__followee__in=target).annotate(
        follow_id=F("following_relations__id")
    )


def following_of(*, username: str) -> QuerySet[User]:
    """Users whom `username` follows, annotated with `follow_id`."""
    source = User.objects.active_by_username(username).values("pk")
    return User.objects.filter(is_active=True, follower_relations__follower__in=source).annotate(
        follow_id=F("follower_relations__id")
    )
