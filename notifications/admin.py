from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "type", "actor", "post", "read", "created_at"]
    list_filter = ["type", "read"]
    search_fields = ["recipient__username", "actor__username"]
    list_select_related = ["recipient", "actor", "post"]
    raw_id_fields = ["recipient", "actor", "post"]
    show_full_result_count = False
