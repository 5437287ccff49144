from django.contrib import admin

from common.admin import UsernameInputFilter
from posts.models import Post


class AuthorFilter(UsernameInputFilter):
    title = "author"
    parameter_name = "author"
    field = "author"


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["id", "author", "short_text", "created_at", "published_at"]
    list_filter = [AuthorFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["text", "author__username"]
    list_select_related = ["author"]
    autocomplete_fields = ["author"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "published_at", "idempotency_key"]
    show_full_result_count = False

    @admin.display(description="text")
    def short_text(self, post: Post) -> str:
        return post.text[:80]
