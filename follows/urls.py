from django.urls import path

from follows import views

urlpatterns = [
    path("<str:username>/followers/", views.FollowersView.as_view(), name="user-followers"),
    path("<str:username>/following/", views.FollowingView.as_view(), name="user-following"),
    path("<str:username>/follow/", views.FollowView.as_view(), name="user-follow"),
]
