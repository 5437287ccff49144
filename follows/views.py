from datetime import timedelta

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_active, user_with_counts
from accounts.serializers import UserPublicSerializer
from accounts.views import UserScopedListView
from common.pagination import cursor_pagination
from common.responses import created_or_ok
from common.schema import BAD_REQUEST, FORBIDDEN, NOT_FOUND, THROTTLED, UNAUTHORIZED
from follows import selectors, services

FollowPagination = cursor_pagination("follow_id")

# A mute lasts at most this long (about ten years); longer is a 400.
MAX_MUTE_SECONDS = 10 * 366 * 24 * 3600


class MuteSerializer(serializers.Serializer):
    duration = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_MUTE_SECONDS,
        help_text="Seconds until the mute ends by itself; none: until you unmute.",
    )


class MutedUserSerializer(UserPublicSerializer):
    expires_at = serializers.DateTimeField(
        source="mute_expires_at", allow_null=True, help_text="When the mute ends; null: never."
    )

    class Meta(UserPublicSerializer.Meta):
        fields = [*UserPublicSerializer.Meta.fields, "expires_at"]
        read_only_fields = fields


@extend_schema(
    tags=["follows"],
    summary="Who follows this user",
    description="Newest follower first.",
    responses={200: UserPublicSerializer(many=True), 401: UNAUTHORIZED, 404: NOT_FOUND},
)
class FollowersView(UserScopedListView):
    serializer_class = UserPublicSerializer
    pagination_class = FollowPagination

    def get_queryset(self):
        return selectors.followers_of(username=self.kwargs["username"], viewer=self.request.user)


@extend_schema(
    tags=["follows"],
    summary="Whom this user follows",
    description="Most recently followed first.",
    responses={200: UserPublicSerializer(many=True), 401: UNAUTHORIZED, 404: NOT_FOUND},
)
class FollowingView(UserScopedListView):
    serializer_class = UserPublicSerializer
    pagination_class = FollowPagination

    def get_queryset(self):
        return selectors.following_of(username=self.kwargs["username"], viewer=self.request.user)


def _target(username: str) -> User:
    user = user_active(username=username)
    if user is None:
        raise Http404
    return user


class ThrottledWrites:
    """Throttles the view's writes (POST) by `throttle_scope`, per user; reads are free."""

    def get_throttles(self):
        if self.request.method == "POST":
            return [ScopedRateThrottle()]
        return []


class FollowView(ThrottledWrites, APIView):
    throttle_scope = "follow"

    @extend_schema(
        tags=["follows"],
        summary="Follow this user",
        description="`201` when the follow is new, `200` when you already follow them. Their "
        "newest posts enter your feed and they get a `follow.created` notification. Refused "
        "(`403`) across a block, either way.",
        request=None,
        responses={
            201: UserPublicSerializer,
            200: UserPublicSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            429: THROTTLED,
        },
    )
    def post(self, request, username: str):
        followee = _target(username)
        _, created = services.follow_create(follower=request.user, followee=followee)
        profile = user_with_counts(user=followee)
        return created_or_ok(
            UserPublicSerializer(profile, context={"request": request}).data, created
        )

    @extend_schema(
        tags=["follows"],
        summary="Unfollow this user",
        description="`204` whether or not you followed them; their posts leave your feed.",
        request=None,
        responses={204: None, 401: UNAUTHORIZED, 404: NOT_FOUND},
    )
    def delete(self, request, username: str):
        services.follow_delete(follower=request.user, followee=_target(username))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BlockView(ThrottledWrites, APIView):
    throttle_scope = "block"

    @extend_schema(
        tags=["safety"],
        summary="Block this user",
        description="`201` when the block is new, `200` when you block them already. Any follow "
        "between you goes, both ways; neither can follow the other while it lasts; they cannot "
        "like, repost, reply to or bookmark your posts (`403`) and get `404` for your profile "
        "and posts; you no longer meet their posts, reposts or replies anywhere. Yourself: "
        "`400`.",
        request=None,
        responses={
            201: UserPublicSerializer,
            200: UserPublicSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            404: NOT_FOUND,
            429: THROTTLED,
        },
    )
    def post(self, request, username: str):
        blocked = _target(username)
        _, created = services.block_create(blocker=request.user, blocked=blocked)
        return created_or_ok(
            UserPublicSerializer(user_with_counts(user=blocked), context={"request": request}).data,
            created,
        )

    @extend_schema(
        tags=["safety"],
        summary="Unblock this user",
        description="`204` whether or not you blocked them. Nothing comes back by itself: "
        "follows removed by the block stay removed.",
        request=None,
        responses={204: None, 401: UNAUTHORIZED, 404: NOT_FOUND},
    )
    def delete(self, request, username: str):
        services.block_delete(blocker=request.user, blocked=_target(username))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MuteView(ThrottledWrites, APIView):
    throttle_scope = "block"

    @extend_schema(
        tags=["safety"],
        summary="Mute this user",
        description="`201` when the mute is new, `200` when it replaces one (with the new end). "
        "Their posts and reposts leave your feed and their interactions your notifications; "
        "follows stay and nobody is told. With `duration` (seconds) the mute ends by itself.",
        request=MuteSerializer,
        responses={
            201: MutedUserSerializer,
            200: MutedUserSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            404: NOT_FOUND,
            429: THROTTLED,
        },
    )
    def post(self, request, username: str):
        body = MuteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        muted = _target(username)
        duration = body.validated_data.get("duration")
        mute, created = services.mute_create(
            muter=request.user,
            muted=muted,
            duration=timedelta(seconds=duration) if duration else None,
        )
        muted = user_with_counts(user=muted)
        muted.mute_expires_at = mute.expires_at
        return created_or_ok(MutedUserSerializer(muted, context={"request": request}).data, created)

    @extend_schema(
        tags=["safety"],
        summary="Unmute this user",
        description="`204` whether or not you muted them.",
        request=None,
        responses={204: None, 401: UNAUTHORIZED, 404: NOT_FOUND},
    )
    def delete(self, request, username: str):
        services.mute_delete(muter=request.user, muted=_target(username))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["safety"],
    summary="Accounts you block",
    description="Newest block first.",
    responses={200: UserPublicSerializer(many=True), 401: UNAUTHORIZED},
)
class BlocksView(generics.ListAPIView):
    serializer_class = UserPublicSerializer
    pagination_class = cursor_pagination("block_id")

    def get_queryset(self):
        return selectors.blocks_of(user=self.request.user)


@extend_schema(
    tags=["safety"],
    summary="Accounts you mute",
    description="Newest mute first, with when each ends (`expires_at`, null for never). Mutes "
    "that have ended are not listed.",
    responses={200: MutedUserSerializer(many=True), 401: UNAUTHORIZED},
)
class MutesView(generics.ListAPIView):
    serializer_class = MutedUserSerializer
    pagination_class = cursor_pagination("mute_id")

    def get_queryset(self):
        return selectors.mutes_of(user=self.request.user)
