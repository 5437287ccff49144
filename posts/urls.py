from django.urls import path

from posts import views

urlpatterns = [
    path("posts/", views.PostListCreateView.as_view(), name="post-list"),
    path("posts/<int:pk>/", views.PostDetailView.as_view(), name="post-detail"),
    path("feed/", views.FeedView.as_view(), name="feed"),
]
