from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from accounts.serializers import AuthorSerializer, UserPublicSerializer, author_representation
from notifications.models import Notification
from notifications.selectors import NotificationRow
from posts.selectors import ViewerFlags, flags_of
from posts.serializers import PostSerializer, post_representation, timestamp_writer

Type = Notification.Type
# The types whose payload names who did it as `actor`.
WITH_ACTOR = {Type.POST_LIKED, Type.POST_REPOSTED}


class _NotificationBase(serializers.ModelSerializer):
    type = serializers.CharField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "type", "created_at", "read"]
        read_only_fields = fields


class PostNotificationSerializer(_NotificationBase):
    """`post.created`, `post.replied` (the reply) and `post.mentioned`."""

    post = PostSerializer(read_only=True)

    class Meta(_NotificationBase.Meta):
        fields = [*_NotificationBase.Meta.fields, "post"]
        read_only_fields = fields


class ActorPostNotificationSerializer(_NotificationBase):
    """`post.liked` and `post.reposted`: who did it, to which of your posts."""

    actor = AuthorSerializer(read_only=True)
    post = PostSerializer(read_only=True)

    class Meta(_NotificationBase.Meta):
        fields = [*_NotificationBase.Meta.fields, "actor", "post"]
        read_only_fields = fields


class FollowNotificationSerializer(_NotificationBase):
    follower = UserPublicSerializer(read_only=True, source="actor")

    class Meta(_NotificationBase.Meta):
        fields = [*_NotificationBase.Meta.fields, "follower"]
        read_only_fields = fields


def notification_body(
    notification: NotificationRow, *, flags: ViewerFlags, request=None, stamp=None
) -> dict:
    """The type-specific part of a notification other than a follow (`post`, `actor`)."""
    body = {}
    if notification.type in WITH_ACTOR:
        actor = notification.actor
        body["actor"] = author_representation(
            user_id=actor.id,
            username=actor.username,
            display_name=actor.display_name,
            avatar=actor.avatar,
            request=request,
        )
    body["post"] = post_representation(notification.post, flags=flags, request=request, stamp=stamp)
    return body


def render_notifications(notifications, *, request=None, viewer=None, read: bool = True) -> list:
    """Notifications (model instances fetched `with_payload`, or `NotificationRow`s) in the
    shape of their websocket events (plus `read`), with what the viewer did to their posts:
    read with the rows (`InboxRows`), or one query for the whole list. The followers of
    `follow.created` are serialized together (one serializer, not one per notification)."""
    rows = [n if isinstance(n, NotificationRow) else NotificationRow.of(n) for n in notifications]
    viewer = viewer if viewer is not None else getattr(request, "user", None)
    flags = flags_of([row.post for row in rows if row.post is not None], viewer)
    follows = [row.actor.as_user() for row in rows if row.type == Type.FOLLOW_CREATED]
    followers = iter(
        UserPublicSerializer(follows, many=True, context={"request": request}).data
        if follows
        else ()
    )
    stamp = timestamp_writer()
    rendered = []
    for row in rows:
        item = {"type": row.type, "id": row.id, "created_at": stamp(row.created_at)}
        if read:
            item["read"] = row.read
        if row.type == Type.FOLLOW_CREATED:
            item["follower"] = next(followers)
        else:
            item.update(notification_body(row, flags=flags, request=request, stamp=stamp))
        rendered.append(item)
    return rendered


class NotificationListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        return render_notifications(data, request=self.context.get("request"))


class NotificationSerializer(serializers.BaseSerializer):
    """A notification in the shape of its websocket event, plus `read`."""

    class Meta:
        list_serializer_class = NotificationListSerializer

    def to_representation(self, instance):
        return render_notifications([instance], request=self.context.get("request"))[0]


NotificationSchema = PolymorphicProxySerializer(
    component_name="Notification",
    serializers={
        Type.POST_CREATED.value: PostNotificationSerializer,
        Type.FOLLOW_CREATED.value: FollowNotificationSerializer,
        Type.POST_LIKED.value: ActorPostNotificationSerializer,
        Type.POST_REPOSTED.value: ActorPostNotificationSerializer,
        Type.POST_REPLIED.value: PostNotificationSerializer,
        Type.POST_MENTIONED.value: PostNotificationSerializer,
    },
    resource_type_field_name="type",
)


def notification_events(notifications, *, viewer) -> list[dict]:
    """The websocket frames for persisted notifications (`since` replay)."""
    return render_notifications(notifications, viewer=viewer, read=False)


class NotificationGroupSerializer(serializers.Serializer):
    """Notifications of one type on one post, newest first; `post.created` and
    `follow.created` are groups of one."""

    type = serializers.ChoiceField(choices=Type.choices)
    post = PostSerializer(allow_null=True, help_text="Null for `follow.created`.")
    count = serializers.IntegerField(help_text="How many notifications the group holds.")
    actors = AuthorSerializer(many=True, help_text="Who did it, up to 3, newest first.")
    latest_id = serializers.IntegerField(help_text="The id of the group's newest notification.")
    latest_at = serializers.DateTimeField()
    unread = serializers.BooleanField(help_text="Whether any of the group is unread.")


class NotificationFilterSerializer(serializers.Serializer):
    since = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text=(
            "Only what a client that has seen this notification has not: those with a larger"
            " id, and any with a smaller one that committed after it."
        ),
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
