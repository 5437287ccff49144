"""Likes, reposts and bookmarks: idempotent toggles with exact counts.

Each is a row with a unique constraint, so doing it twice, even from two requests at once,
leaves one row. The count it changes is updated in the same transaction, as its last
statement, so a popular post's row is locked only for the commit; a like's commit does not
wait for the disk's flush (common.db.commit_without_flush), so a viral post's likes are not
serialised on it. Anything done to a repost
is done to its original."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import User
from common import events
from common.db import commit_without_flush
from posts.models import Bookmark, Like, Post, TimelineEntry
from posts.services.posts import post_publish, posts_delete, refuse_across_block

logger = logging.getLogger(__name__)


def _original(post: Post) -> Post:
    return post.repost_of if post.repost_of_id else post


def _target(user: User, post: Post) -> Post:
    """The post an interaction acts on (the original of a repost); refused across a block
    between the two accounts, either way."""
    original = _original(post)
    refuse_across_block(user, original.author_id)
    return original


def like_create(*, user: User, post: Post) -> tuple[Like, bool]:
    """Like the post (its original, for a repost); `(like, created)`. The original's author
    is notified (`post.liked`), never yourself. Refused across a block."""
    original = _target(user, post)
    try:
        with transaction.atomic():
            commit_without_flush()
            like, created = Like.objects.get_or_create(user=user, post_id=original.pk)
            if created:
                Post.objects.filter(pk=original.pk).update(like_count=F("like_count") + 1)
                events.publish_on_commit("post.liked", like_id=like.pk)
    except IntegrityError as exc:
        # The post was deleted meanwhile (its foreign key no longer holds).
        raise Post.DoesNotExist("No such post.") from exc
    return like, created


def like_delete(*, user: User, post: Post) -> bool:
    """Take back a like; True if there was one. Its notification goes too."""
    original = _original(post)
    with transaction.atomic():
        commit_without_flush()
        deleted, _ = Like.objects.filter(user=user, post_id=original.pk).delete()
        if deleted:
            Post.objects.filter(pk=original.pk).update(like_count=F("like_count") - 1)
            events.publish_on_commit("post.unliked", user_id=user.pk, post_id=original.pk)
    return bool(deleted)


def repost_create(*, user: User, post: Post) -> tuple[Post, bool]:
    """Repost the post (its original, for a repost); `(repost, created)`. A repost is a post
    with empty text: it enters the reposter's timeline (unless that holds the original
    already) and fans out like any post, skipping timelines that hold the original. Your own
    post may be reposted. Refused across a block."""
    original = _target(user, post)
    existing = Post.objects.filter(author=user, repost_of=original).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            repost = Post.objects.create(author=user, text="", repost_of=original)
            if not TimelineEntry.objects.filter(user=user, post=original).exists():
                TimelineEntry.objects.create(user=user, post=repost)
            User.objects.filter(pk=user.pk).update(posts_count=F("posts_count") + 1)
            Post.objects.filter(pk=original.pk).update(repost_count=F("repost_count") + 1)
            transaction.on_commit(lambda: post_publish(post_id=repost.pk), robust=True)
    except IntegrityError as exc:
        # A concurrent repost by the same account won, or the original is gone.
        existing = Post.objects.filter(author=user, repost_of=original).first()
        if existing is None:
            raise Post.DoesNotExist("No such post.") from exc
        return existing, False
    logger.info("post reposted", extra={"post_id": repost.pk, "user_id": user.pk})
    return repost, True


def repost_delete(*, user: User, post: Post) -> bool:
    """Undo your repost of the post (or of its original); True if there was one. The
    repost is deleted like any post: out of every timeline, its notifications gone."""
    original = _original(post)
    repost_ids = list(
        Post.objects.filter(author=user, repost_of=original).values_list("id", flat=True)
    )
    return bool(repost_ids) and posts_delete(post_ids=repost_ids) > 0


def bookmark_create(*, user: User, post: Post) -> tuple[Bookmark, bool]:
    """Bookmark the post (its original, for a repost); `(bookmark, created)`. Private.
    Refused across a block."""
    original = _target(user, post)
    try:
        return Bookmark.objects.get_or_create(user=user, post_id=original.pk)
    except IntegrityError as exc:
        raise Post.DoesNotExist("No such post.") from exc


def bookmark_delete(*, user: User, post: Post) -> bool:
    deleted, _ = Bookmark.objects.filter(user=user, post_id=_original(post).pk).delete()
    return bool(deleted)
