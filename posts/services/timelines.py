"""Writes to home timelines (fan-out on write): backfill, removal, trimming."""

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery

from accounts.models import User
from posts.models import Post, TimelineEntry


def timeline_backfill(
    *, user: User, author: User, followees: QuerySet, limit: int | None = None
) -> None:
    """Put `author`'s newest posts into `user`'s timeline (after a follow), then keep the
    timeline within its cap. As in the fan-out, a reply comes in only when `user` also
    follows the account replied to (`followees`: the ids `user` follows) or is that account,
    and a repost only when the timeline does not hold its original."""
    limit = settings.FOLLOW_BACKFILL if limit is None else limit
    if limit <= 0:
        return
    held = TimelineEntry.objects.filter(user=user).values("post_id")
    post_ids = (
        Post.objects.filter(author=author)
        .filter(
            Q(reply_to_author__isnull=True)
            | Q(reply_to_author__in=[user.pk, author.pk])
            | Q(reply_to_author__in=followees)
        )
        .exclude(repost_of__in=held)
        .order_by("-id")
        .values_list("id", flat=True)[:limit]
    )
    TimelineEntry.objects.bulk_create(
        [TimelineEntry(user=user, post_id=post_id) for post_id in post_ids],
        ignore_conflicts=True,
    )
    timeline_trim(user_ids=[user.pk])


def timeline_remove_author(*, user: User, author: User, with_reposts_of: bool = False) -> None:
    """Take `author`'s posts (and reposts) out of `user`'s timeline (after an unfollow);
    `with_reposts_of` also takes out others' reposts of `author`'s posts (a block, a
    mute)."""
    TimelineEntry.objects.filter(
        user=user, post_id__in=Post.objects.filter(author=author).values("id")
    ).delete()
    if with_reposts_of:
        TimelineEntry.objects.filter(
            user=user, post_id__in=Post.objects.filter(repost_of__author=author).values("id")
        ).delete()


def timeline_trim(*, user_ids: list[int], cap: int | None = None) -> int:
    """Delete entries past the newest `cap` (TIMELINE_CAP) of each user's timeline; return
    how many went. One read finds each user's oldest entry to keep (an index-only scan of at
    most `cap` entries per user), one delete drops what is older."""
    cap = settings.TIMELINE_CAP if cap is None else cap
    if not user_ids:
        return 0
    oldest_kept = (
        TimelineEntry.objects.filter(user_id=OuterRef("pk"))
        .order_by("-post_id")
        .values("post_id")[cap - 1 : cap]
    )
    boundaries = (
        User.objects.filter(pk__in=user_ids)
        .annotate(boundary=Subquery(oldest_kept))
        .filter(boundary__isnull=False)
        .values_list("pk", "boundary")
    )
    condition = Q()
    for user_id, boundary in boundaries:
        condition |= Q(user_id=user_id, post_id__lt=boundary)
    if not condition:
        return 0
    deleted, _ = TimelineEntry.objects.filter(condition).delete()
    return deleted
