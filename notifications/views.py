from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.schema import BAD_REQUEST, UNAUTHORIZED
from notifications import selectors, services
from notifications.serializers import (
    MarkReadSerializer,
    NotificationFilterSerializer,
    NotificationSchema,
    NotificationSerializer,
    UnreadCountSerializer,
)


@extend_schema(
    tags=["notifications"],
    summary="Your notifications",
    description="Newest first. `post.created` carries the `post`, `follow.created` the `follower`.",
    parameters=[NotificationFilterSerializer],
    responses={200: NotificationSchema, 400: BAD_REQUEST, 401: UNAUTHORIZED},
)
class NotificationListView(generics.ListAPIView):
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
