from django.urls import path

from posts import views

urlpatterns = [
    path("posts/", views.PostListCreateView.as_view(), name="post-list"),
    path("posts/<int:pk>/", views.PostDetailView.as_view(), name="post-detail"),
    path("posts/<int:pk>/ancestors/", views.AncestorsView.as_view(), name="post-ancestors"),
    path("posts/<int:pk>/replies/", views.RepliesView.as_view(), name="post-replies"),
    path("posts/<int:pk>/like/", views.LikeView.as_view(), name="post-like"),
    path("posts/<int:pk>/likes/", views.LikersView.as_view(), name="post-likes"),
    path("posts/<int:pk>/repost/", views.RepostView.as_view(), name="post-repost"),
    path("posts/<int:pk>/reposts/", views.RepostersView.as_view(), name="post-reposts"),
    path("posts/<int:pk>/bookmark/", views.BookmarkView.as_view(), name="post-bookmark"),
    path("feed/", views.FeedView.as_view(), name="feed"),
    path("tags/trending/", views.TrendingTagsView.as_view(), name="tags-trending"),
    path("tags/<str:tag>/posts/", views.TagPostsView.as_view(), name="tag-posts"),
]
