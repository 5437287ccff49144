from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.authentication import CheckAheadMixin
from accounts.serializers import UserPublicSerializer
from accounts.views import UserScopedListView
from common.pagination import cursor_pagination
from common.responses import created_or_ok
from common.schema import BAD_REQUEST, FORBIDDEN, NOT_FOUND, THROTTLED, UNAUTHORIZED
from posts import selectors, services
from posts.serializers import (
    PostCreateSerializer,
    PostFilterSerializer,
    PostSerializer,
    TrendingTagSerializer,
    render_posts,
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Any string up to 255 characters. A retry with the same key by the same user "
    "within 24 h returns the first post with `200` instead of creating another.",
)


class PostListCreateView(CheckAheadMixin, generics.ListAPIView):
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
            viewer=self.request.user,
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
            author=request.user,
            text=body.validated_data["text"],
            reply_to_id=body.validated_data.get("reply_to"),
            idempotency_key=key,
        )
        context = {"request": request}
        if created:
            # Nobody has liked, reposted or bookmarked it yet: once the post is committed the
            # answer needs the database no more, and a database lost just then cannot turn a
            # stored post into a 503.
            context["flags"] = selectors.NO_FLAGS
        return created_or_ok(PostSerializer(post, context=context).data, created)


class PostObjectMixin:
    """Views of one post named by the URL: unknown, deleted or hidden from the requester (a
    suspended author's, or across a block) is a 404."""

    def get_post(self, pk: int):
        post = selectors.post_get(post_id=pk, viewer=self.request.user)
        if post is None:
            raise Http404
        return post


class InteractionMixin(PostObjectMixin):
    """Likes, reposts and bookmarks find the post without the requester's blocks, so that
    acting across a block is the service's `403`, as the contract says."""

    def get_post(self, pk: int):
        post = selectors.post_get(post_id=pk)
        if post is None:
            raise Http404
        return post


class PostDetailView(CheckAheadMixin, PostObjectMixin, generics.GenericAPIView):
    serializer_class = PostSerializer

    @extend_schema(
        tags=["posts"],
        summary="A post",
        responses={200: PostSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        post = selectors.post_to_read(post_id=pk, viewer=request.user)
        if post is None:
            raise Http404
        return Response(PostSerializer(post, context={"request": request}).data)

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
class UserPostsView(CheckAheadMixin, UserScopedListView):
    serializer_class = PostSerializer

    def get_queryset(self):
        return selectors.posts_by_username(
            username=self.kwargs["username"], viewer=self.request.user
        )


class FeedView(CheckAheadMixin, generics.ListAPIView):
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
        return self.get_paginated_response(render_posts(page, request=request))


@extend_schema(
    tags=["posts"],
    summary="The thread above a post",
    description=f"The chain of posts this one replies to, root first (at most "
    f"{selectors.MAX_ANCESTORS}); it stops at a deleted post.",
    responses={200: PostSerializer(many=True), 401: UNAUTHORIZED, 404: NOT_FOUND},
)
class AncestorsView(PostObjectMixin, generics.GenericAPIView):
    serializer_class = PostSerializer
    pagination_class = None

    def get(self, request, pk: int):
        ancestors = selectors.post_ancestors(post=self.get_post(pk), viewer=request.user)
        return Response(PostSerializer(ancestors, many=True, context={"request": request}).data)


class PostScopedListView(PostObjectMixin, generics.ListAPIView):
    """A list that belongs to the post named in the URL (404 when there is none)."""

    def list(self, request, *args, **kwargs):
        self.post = self.get_post(self.kwargs["pk"])
        return super().list(request, *args, **kwargs)


@extend_schema(
    tags=["posts"],
    summary="Replies to a post",
    description="Direct replies, oldest first.",
    responses={200: PostSerializer(many=True), 401: UNAUTHORIZED, 404: NOT_FOUND},
)
class RepliesView(PostScopedListView):
    serializer_class = PostSerializer
    pagination_class = cursor_pagination("id", newest_first=False)

    def get_queryset(self):
        return selectors.post_replies(post=self.post, viewer=self.request.user)


@extend_schema(
    tags=["interactions"],
    summary="Who liked a post",
    description="Newest like first.",
    responses={200: UserPublicSerializer(many=True), 401: UNAUTHORIZED, 404: NOT_FOUND},
)
class LikersView(PostScopedListView):
    serializer_class = UserPublicSerializer
    pagination_class = cursor_pagination("like_id")

    def get_queryset(self):
        return selectors.likers_of(post=self.post, viewer=self.request.user)


@extend_schema(
    tags=["interactions"],
    summary="Who reposted a post",
    description="Newest repost first.",
    responses={200: UserPublicSerializer(many=True), 401: UNAUTHORIZED, 404: NOT_FOUND},
)
class RepostersView(PostScopedListView):
    serializer_class = UserPublicSerializer
    pagination_class = cursor_pagination("repost_id")

    def get_queryset(self):
        return selectors.reposters_of(post=self.post, viewer=self.request.user)


def _state(request, post_id: int) -> dict:
    """The post as the requester now sees it, for the answer of a like, repost or bookmark."""
    post = selectors.post_get(post_id=post_id, viewer=request.user)
    if post is None:
        raise Http404
    return PostSerializer(post, context={"request": request}).data


class LikeView(InteractionMixin, APIView):
    throttle_scope = "like"
    throttle_classes = [ScopedRateThrottle]

    @extend_schema(
        tags=["interactions"],
        summary="Like a post",
        description="Likes the post (its original, for a repost); `201`, or `200` when you "
        "liked it already. Answers with the post as you now see it. The author is notified.",
        request=None,
        responses={201: PostSerializer, 200: PostSerializer, 429: THROTTLED},
    )
    def post(self, request, pk: int):
        post = self.get_post(pk)
        like, created = services.like_create(user=request.user, post=post)
        return created_or_ok(_state(request, like.post_id), created)

    @extend_schema(
        tags=["interactions"],
        summary="Take back a like",
        description="`204` whether or not you liked it.",
        request=None,
        responses={204: None},
    )
    def delete(self, request, pk: int):
        services.like_delete(user=request.user, post=self.get_post(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RepostView(InteractionMixin, APIView):
    throttle_scope = "repost"
    throttle_classes = [ScopedRateThrottle]

    @extend_schema(
        tags=["interactions"],
        summary="Repost a post",
        description="Reposts the post (its original, for a repost); `201` with the new repost, "
        "or `200` with your existing one. Your own posts may be reposted. The repost reaches "
        "your followers' feeds, except those that already hold the original.",
        request=None,
        responses={201: PostSerializer, 200: PostSerializer, 429: THROTTLED},
    )
    def post(self, request, pk: int):
        repost, created = services.repost_create(user=request.user, post=self.get_post(pk))
        return created_or_ok(_state(request, repost.pk), created)

    @extend_schema(
        tags=["interactions"],
        summary="Undo your repost",
        description="Deletes your repost of the post; `204` whether or not there was one.",
        request=None,
        responses={204: None},
    )
    def delete(self, request, pk: int):
        services.repost_delete(user=request.user, post=self.get_post(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BookmarkView(InteractionMixin, APIView):
    @extend_schema(
        tags=["interactions"],
        summary="Bookmark a post",
        description="Private: nobody else ever sees your bookmarks. `201`, or `200` when "
        "bookmarked already.",
        request=None,
        responses={201: PostSerializer, 200: PostSerializer},
    )
    def post(self, request, pk: int):
        bookmark, created = services.bookmark_create(user=request.user, post=self.get_post(pk))
        return created_or_ok(_state(request, bookmark.post_id), created)

    @extend_schema(
        tags=["interactions"],
        summary="Remove a bookmark",
        request=None,
        responses={204: None},
    )
    def delete(self, request, pk: int):
        services.bookmark_delete(user=request.user, post=self.get_post(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["interactions"],
    summary="Your bookmarks",
    description="Newest bookmark first. Only you see them.",
    responses={200: PostSerializer(many=True), 401: UNAUTHORIZED},
)
class BookmarksView(generics.ListAPIView):
    serializer_class = PostSerializer
    pagination_class = cursor_pagination("bookmark_id")

    def get_queryset(self):
        return selectors.bookmarks_of(user=self.request.user)


@extend_schema(
    tags=["interactions"],
    summary="Posts a user liked",
    description="Newest like first.",
    responses={200: PostSerializer(many=True), 401: UNAUTHORIZED, 404: NOT_FOUND},
)
class UserLikesView(UserScopedListView):
    serializer_class = PostSerializer
    pagination_class = cursor_pagination("like_id")

    def get_queryset(self):
        return selectors.likes_by(username=self.kwargs["username"], viewer=self.request.user)


@extend_schema(
    tags=["tags"],
    summary="Posts with a hashtag",
    description="Posts carrying `#tag`, in any case (with or without the `#`), newest first.",
    responses={200: PostSerializer(many=True), 401: UNAUTHORIZED},
)
class TagPostsView(generics.ListAPIView):
    serializer_class = PostSerializer
    pagination_class = cursor_pagination("tagged_id")

    def get_queryset(self):
        return selectors.tag_posts(tag=self.kwargs["tag"], viewer=self.request.user)


@extend_schema(
    tags=["tags"],
    summary="Trending hashtags",
    description="Up to 10 tags used in the last 24 hours, ranked by how many accounts used "
    "them, then by how many posts carry them. Recounted at most once a minute.",
    responses={200: TrendingTagSerializer(many=True), 401: UNAUTHORIZED},
)
class TrendingTagsView(APIView):
    def get(self, request):
        return Response(TrendingTagSerializer(selectors.trending_tags(), many=True).data)
