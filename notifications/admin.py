from django.contrib import admin

from common.admin import ModerationAdmin
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ModerationAdmin):
    list_display = ["id", "recipient", "type", "actor", "post", "read", "created_at"]
    list_filter = ["type", "read"]
    search_fields = ["recipient__username", "actor__username"]
    list_select_related = ["recipient", "actor", "post"]
    show_full_result_count = False

    def delete_with_service(self, request, obj):
        obj.delete()  # nothing else depends on a notification
