from django.contrib import admin

from common.admin import ModerationAdmin
from follows import services
from follows.models import Follow


@admin.register(Follow)
class FollowAdmin(ModerationAdmin):
    list_display = ["id", "follower", "followee", "created_at"]
    search_fields = ["follower__username", "followee__username"]
    list_select_related = ["follower", "followee"]
    show_full_result_count = False

    def delete_with_service(self, request, obj):
        # The followee's posts leave the follower's timeline, as with an unfollow.
        services.follow_delete(follower=obj.follower, followee=obj.followee)
