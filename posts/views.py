from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from accounts.views import UserScopedListView
from common.pagination import cursor_pagination
from common.schema import BAD_REQUEST, FORBIDDEN, NOT_FOUND, THROTTLED, UNAUTHORIZED
from posts import selectors, services
from posts.serializers import (
    PostCreateSerializer,
    PostFilterSerializer,
    PostSerializer,
    post_representation,
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Any string up to 255 characters. A retry with the same key by the same user "
    "within 24 h returns the first post with `200` instead of creating another.",
)


class PostListCreateView(generics.ListAPIView):
    serializer_class = PostSerializer
    throttle_scope = "post"

    def get_throttles(self):
        if self.request.method == "POST":
            return [ScopedRateThrottle()]
        return []

    def get_queryset(self):
        filters = PostFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return selectors.post_list(
            q=data.get("q", ""),
            author=data.get("author", ""),
            date_from=data.get("from"),
            date_to=data.get("to"),
        )

    @extend_schema(
        tags=["posts"],
        summary="Posts, newest first, with search",
        parameters=[PostFilterSerializer],
        responses={200: PostSerializer(many=True), 400: BAD_REQUEST, 401: UNAUTHORIZED},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["posts"],
        summary="Post",
        description="Creates the post and returns at once; the fan-out to followers' feeds, "
        "notifications and websockets happens asynchronously.",
        request=PostCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: PostSerializer,
            200: OpenApiResponse(PostSerializer, description="A retry: the first post."),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            429: THROTTLED,
        },
    )
    def post(self, request):
        body = PostCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 255:
            raise serializers.ValidationError(
                {"Idempotency-Key": ["Ensure this header has no more than 255 characters."]}
            )
        post, created = services.post_create(
            author=request.user, text=body.validated_data["text"], idempotency_key=key
        )
        return Response(
            PostSerializer(post, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PostDetailView(generics.GenericAPIView):
    serializer_class = PostSerializer

    def get_post(self, pk: int):
        post = selectors.post_get(post_id=pk)
        if post is None:
            raise Http404
        return post

    @extend_schema(
        tags=["posts"],
        summary="A post",
        responses={200: PostSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(PostSerializer(self.get_post(pk), context={"request": request}).data)

    @extend_schema(
        tags=["posts"],
        summary="Delete a post (author or admin)",
        responses={204: None, 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def delete(self, request, pk: int):
        services.post_delete(post=self.get_post(pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["posts"],
    summary="One user's posts",
    responses={200: PostSerializer(many=True), 401: UNAUTHORIZED, 404: NOT_FOUND},
)
class UserPostsView(UserScopedListView):
    serializer_class = PostSerializer

    def get_queryset(self):
        return selectors.posts_by_username(username=self.kwargs["username"])


class FeedView(generics.ListAPIView):
    pagination_class = cursor_pagination("post_id")
    serializer_class = PostSerializer

    def get_queryset(self):
        return selectors.feed_for(user=self.request.user)

    @extend_schema(
        tags=["feed"],
        summary="Home timeline",
        description="Your own posts and those of the accounts you follow, newest first. "
        "Following someone brings their newest posts in; unfollowing takes theirs out. The "
        "timeline keeps your newest entries up to a cap (800 by default); the feed ends there "
        "(`next` is null), and older posts stay reachable through `/api/users/{username}/posts/` "
        "and search.",
        responses={200: PostSerializer(many=True), 400: BAD_REQUEST, 401: UNAUTHORIZED},
    )
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            [post_representation(**row._asdict(), request=request) for row in page]
        )
