from django.urls import path

from posts import views

urlpatterns = [
    path("me/bookmarks/", views.BookmarksView.as_view(), name="my-bookmarks"),
    path("<str:username>/posts/", views.UserPostsView.as_view(), name="user-posts"),
    path("<str:username>/likes/", views.UserLikesView.as_view(), name="user-likes"),
]
