from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_with_counts
from accounts.serializers import UserPublicSerializer
from accounts.views import UserScopedListView
from common.pagination import cursor_pagination
from common.schema import BAD_REQUEST, NOT_FOUND, UNAUTHORIZED
from follows import selectors, services

FollowPagination = cursor_pagination("follow_id")


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
        return selectors.followers_of(username=self.kwargs["username"])


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
        return selectors.following_of(username=self.kwargs["username"])


def _target(username: str) -> User:
    user = User.objects.active_by_username(username).first()
    if user is None:
        raise Http404
    return user


class FollowView(APIView):
    @extend_schema(
        tags=["follows"],
        summary="Follow this user",
        description="`201` when the follow is new, `200` when you already follow them. Their "
        "newest posts enter your feed and they get a `follow.created` notification.",
        request=None,
        responses={
            201: UserPublicSerializer,
            200: UserPublicSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            404: NOT_FOUND,
        },
    )
    def post(self, request, username: str):
        followee = _target(username)
        _, created = services.follow_create(follower=request.user, followee=followee)
        profile = user_with_counts(user=followee)
        return Response(
            UserPublicSerializer(profile, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
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
