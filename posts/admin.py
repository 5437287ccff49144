from django.contrib import admin

from common.admin import ModerationAdmin, UsernameInputFilter
from posts import services
from posts.models import Post


class AuthorFilter(UsernameInputFilter):
    title = "author"
    parameter_name = "author"
    field = "author"


@admin.register(Post)
class PostAdmin(ModerationAdmin):
    list_display = ["id", "author", "short_text", "created_at", "published_at"]
    list_filter = [AuthorFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["text", "author__username"]
    list_select_related = ["author"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def delete_with_service(self, request, obj):
        # Leaves every timeline, takes its notifications and tells open sockets.
        services.post_delete(post=obj, actor=request.user)

    @admin.display(description="text")
    def short_text(self, post: Post) -> str:
        return post.text[:80]
