from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from common.admin import ModerationAdmin, UsernameInputFilter
from posts import services
from posts.models import Bookmark, Hashtag, Like, Post
from posts.text import normalise_tag


class AuthorFilter(UsernameInputFilter):
    title = "author"
    parameter_name = "author"
    field = "author"


class UserFilter(UsernameInputFilter):
    title = "user"
    parameter_name = "user"
    field = "user"


class TagFilter(UsernameInputFilter):
    """A text box for a hashtag (any case, with or without `#`)."""

    title = "hashtag"
    parameter_name = "tag"

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(tag_links__hashtag__name=normalise_tag(self.value().strip()))
        return queryset


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("post", "Post"), ("reply", "Reply"), ("repost", "Repost")]

    def queryset(self, request, queryset):
        match self.value():
            case "post":
                return queryset.filter(reply_to__isnull=True, repost_of__isnull=True)
            case "reply":
                return queryset.filter(reply_to__isnull=False)
            case "repost":
                return queryset.filter(repost_of__isnull=False)
        return queryset


@admin.register(Post)
class PostAdmin(ModerationAdmin):
    list_display = [
        "id",
        "author",
        "short_text",
        "reply_to_id",
        "repost_of_id",
        "reply_count",
        "like_count",
        "repost_count",
        "created_at",
        "published_at",
    ]
    list_filter = [AuthorFilter, TagFilter, KindFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["text", "author__username"]
    list_select_related = ["author"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def delete_with_service(self, request, obj):
        # Leaves every timeline with its reposts, takes its notifications, keeps the counts
        # exact and tells open sockets.
        services.post_delete(post=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        # One transaction for the selection, with the same guarantees as one by one.
        services.posts_delete(post_ids=list(queryset.values_list("pk", flat=True)))

    @admin.display(description="text")
    def short_text(self, post: Post) -> str:
        if post.repost_of_id:
            return f"(repost of {post.repost_of_id})"
        return post.text[:80]


class InteractionAdmin(ModerationAdmin):
    list_display = ["id", "user", "post", "created_at"]
    list_filter = [UserFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["user__username", "post__text", "post__author__username"]
    list_select_related = ["user", "post"]
    raw_id_fields = ["user", "post"]
    show_full_result_count = False


@admin.register(Like)
class LikeAdmin(InteractionAdmin):
    def delete_with_service(self, request, obj):
        # As an unlike: the post's count shrinks and the author's notification goes.
        services.like_delete(user=obj.user, post=obj.post)


@admin.register(Bookmark)
class BookmarkAdmin(InteractionAdmin):
    def delete_with_service(self, request, obj):
        services.bookmark_delete(user=obj.user, post=obj.post)


@admin.register(Hashtag)
class HashtagAdmin(ModerationAdmin):
    """Tags come from posts' texts: they are looked at here, never edited or deleted."""

    list_display = ["name", "posts", "created_at"]
    search_fields = ["name"]
    ordering = ["name"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="posts")
    def posts(self, hashtag: Hashtag) -> str:
        url = reverse("admin:posts_post_changelist")
        return format_html(
            '<a href="{}?{}">posts with #{}</a>',
            url,
            urlencode({"tag": hashtag.name}),
            hashtag.name,
        )
