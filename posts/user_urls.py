from django.urls import path

from posts import views

urlpatterns = [
    path("<str:username>/posts/", views.UserPostsView.as_view(), name="user-posts"),
]
