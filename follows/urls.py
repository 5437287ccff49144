from django.urls import path

from follows import views

urlpatterns = [
    path("me/blocks/", views.BlocksView.as_view(), name="my-blocks"),
    path("me/mutes/", views.MutesView.as_view(), name="my-mutes"),
    path("<str:username>/followers/", views.FollowersView.as_view(), name="user-followers"),
    path("<str:username>/following/", views.FollowingView.as_view(), name="user-following"),
    path("<str:username>/follow/", views.FollowView.as_view(), name="user-follow"),
    path("<str:username>/block/", views.BlockView.as_view(), name="user-block"),
    path("<str:username>/mute/", views.MuteView.as_view(), name="user-mute"),
]
