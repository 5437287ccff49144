"""Writes to posts, their interactions and home timelines."""

from posts.services.interactions import (
    bookmark_create,
    bookmark_delete,
    like_create,
    like_delete,
    repost_create,
    repost_delete,
)
from posts.services.posts import (
    DELETE_REFUSED,
    post_create,
    post_deletable,
    post_delete,
    post_publish,
    posts_delete,
)
from posts.services.timelines import timeline_backfill, timeline_remove_author, timeline_trim

__all__ = [
    "DELETE_REFUSED",
    "bookmark_create",
    "bookmark_delete",
    "like_create",
    "like_delete",
    "post_create",
    "post_deletable",
    "post_delete",
    "post_publish",
    "posts_delete",
    "repost_create",
    "repost_delete",
    "timeline_backfill",
    "timeline_remove_author",
    "timeline_trim",
]
