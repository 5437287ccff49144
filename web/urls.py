from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from web import views

app_name = "web"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signin/", views.SignInView.as_view(), name="signin"),
    path("signout/", views.SignOutView.as_view(), name="signout"),
    path("settings/password/", views.PasswordChangeView.as_view(), name="password"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/picture/", views.avatar, name="avatar"),
    path("settings/delete/", views.delete_account, name="delete"),
    path("settings/blocked/", views.safety, {"which": "blocked"}, name="blocked"),
    path("settings/muted/", views.safety, {"which": "muted"}, name="muted"),
    path("p/<int:pk>/", views.post_detail, name="post"),
    path("p/<int:pk>/delete/", views.delete_post, name="delete_post"),
    path("p/<int:pk>/likes/", views.post_people, {"which": "likes"}, name="likes"),
    path("p/<int:pk>/reposts/", views.post_people, {"which": "reposts"}, name="reposts"),
    path("p/<int:pk>/<str:action>/", views.interact, name="interact"),
    path("u/<str:username>/", views.profile, name="profile"),
    path("u/<str:username>/likes/", views.profile_likes, name="likes_of"),
    path("u/<str:username>/followers/", views.people, {"which": "followers"}, name="followers"),
    path("u/<str:username>/following/", views.people, {"which": "following"}, name="following"),
    path("u/<str:username>/do/<str:action>/", views.relate, name="relate"),
    path("report/", views.report, name="report"),
    path("search/", views.search, name="search"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("bookmarks/", views.bookmarks, name="bookmarks"),
    path("favicon.ico", RedirectView.as_view(url=static("web/favicon.svg"), permanent=True)),
]
