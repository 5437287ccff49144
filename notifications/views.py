from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import CheckAheadMixin
from accounts.serializers import author_of
from common.pagination import cursor_pagination
from common.schema import BAD_REQUEST, UNAUTHORIZED
from notifications import selectors, services
from notifications.serializers import (
    MarkReadSerializer,
    NotificationFilterSerializer,
    NotificationGroupSerializer,
    NotificationSchema,
    NotificationSerializer,
    UnreadCountSerializer,
    render_notifications,
)


@extend_schema(
    tags=["notifications"],
    summary="Your notifications",
    description="Newest first. `post.created` carries the `post`, `follow.created` the `follower`.",
    parameters=[NotificationFilterSerializer],
    responses={200: NotificationSchema, 400: BAD_REQUEST, 401: UNAUTHORIZED},
)
class NotificationListView(CheckAheadMixin, generics.ListAPIView):
    serializer_class = NotificationSerializer

    def get_queryset(self):
        filters = NotificationFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.notifications_for(
            user=self.request.user,
            since=filters.validated_data.get("since"),
            unread=filters.validated_data["unread"],
        )


class MarkReadView(APIView):
    @extend_schema(
        tags=["notifications"],
        summary="Mark notifications read",
        request=MarkReadSerializer,
        responses={204: None, 400: BAD_REQUEST, 401: UNAUTHORIZED},
    )
    def post(self, request):
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.notifications_mark_read(user=request.user, up_to=body.validated_data.get("up_to"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UnreadCountView(APIView):
    @extend_schema(
        tags=["notifications"],
        summary="How many notifications are unread",
        responses={200: UnreadCountSerializer, 401: UNAUTHORIZED},
    )
    def get(self, request):
        return Response({"unread": selectors.unread_count(user=request.user)})


@extend_schema(
    tags=["notifications"],
    summary="Your notifications, grouped",
    description="Newest group first. Notifications of the same type on the same post form one "
    "group (likes and reposts of one of your posts); `post.created` and `follow.created` are "
    "groups of one. `actors` are the newest three who did it; `unread` is true while any of "
    "the group is unread.",
    responses={200: NotificationGroupSerializer(many=True), 400: BAD_REQUEST, 401: UNAUTHORIZED},
)
class NotificationGroupsView(generics.ListAPIView):
    serializer_class = NotificationGroupSerializer
    pagination_class = cursor_pagination("latest_id")

    def get_queryset(self):
        return selectors.notification_groups(user=self.request.user)

    def list(self, request, *args, **kwargs):
        groups = self.paginate_queryset(self.get_queryset())
        latest, actors = selectors.group_details(user=request.user, groups=groups)
        rendered = {
            item["id"]: item for item in render_notifications(latest.values(), request=request)
        }
        results = []
        for group in groups:
            notification = latest.get(group["latest_id"])
            if notification is None:  # deleted since the page was read
                continue
            item = rendered[group["latest_id"]]
            people = actors.get((group["type"], group["group_post"]), [notification.actor])
            results.append(
                {
                    "type": group["type"],
                    "post": item.get("post"),
                    "count": group["count"],
                    "actors": [author_of(actor, request) for actor in people],
                    "latest_id": group["latest_id"],
                    "latest_at": item["created_at"],
                    "unread": group["unread_count"] > 0,
                }
            )
        return self.get_paginated_response(results)
