from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from accounts.serializers import UserPublicSerializer
from notifications.models import Notification
from posts.serializers import PostSerializer, timestamp


class _NotificationBase(serializers.ModelSerializer):
    type = serializers.CharField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "type", "created_at", "read"]
        read_only_fields = fields


class PostNotificationSerializer(_NotificationBase):
    post = PostSerializer(read_only=True)

    class Meta(_NotificationBase.Meta):
        fields = [*_NotificationBase.Meta.fields, "post"]
        read_only_fields = fields


class FollowNotificationSerializer(_NotificationBase):
    follower = serializers.SerializerMethodField()

    class Meta(_NotificationBase.Meta):
        fields = [*_NotificationBase.Meta.fields, "follower"]
        read_only_fields = fields

    def get_follower(self, notification) -> dict:
        # The counts come annotated by notifications.selectors.with_payload (no queries here).
        actor = notification.actor
        actor.followers_count = notification.actor_followers_count
        actor.following_count = notification.actor_following_count
        actor.posts_count = notification.actor_posts_count
        return UserPublicSerializer(actor, context=self.context).data


SERIALIZERS = {
    Notification.Type.POST_CREATED: PostNotificationSerializer,
    Notification.Type.FOLLOW_CREATED: FollowNotificationSerializer,
}


class NotificationSerializer(serializers.BaseSerializer):
    """A notification in the shape of its websocket event, plus `read`."""

    def to_representation(self, instance):
        return SERIALIZERS[instance.type](instance, context=self.context).data


NotificationSchema = PolymorphicProxySerializer(
    component_name="Notification",
    serializers={
        Notification.Type.POST_CREATED.value: PostNotificationSerializer,
        Notification.Type.FOLLOW_CREATED.value: FollowNotificationSerializer,
    },
    resource_type_field_name="type",
)


def notification_event(notification: Notification) -> dict:
    """The websocket frame for a persisted notification (used by `since` replay)."""
    data = NotificationSerializer(notification).data
    data.pop("read", None)
    data["created_at"] = timestamp(notification.created_at)
    return data


class NotificationFilterSerializer(serializers.Serializer):
    since = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text="Only notifications with a larger id.",
    )
    unread = serializers.BooleanField(required=False, default=False, help_text="Only unread ones.")


class MarkReadSerializer(serializers.Serializer):
    up_to = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text="Mark notifications with id up to this one; all when absent.",
    )


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()
