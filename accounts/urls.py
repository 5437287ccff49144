from django.urls import path

from accounts import views

auth_urlpatterns = [
    path("register/", views.RegisterView.as_view(), name="register"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("refresh/", views.RefreshView.as_view(), name="refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]

users_urlpatterns = [
    path("", views.UserListView.as_view(), name="user-list"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/avatar/", views.AvatarView.as_view(), name="me-avatar"),
    path("me/password/", views.PasswordView.as_view(), name="me-password"),
    path("<str:username>/", views.UserDetailView.as_view(), name="user-detail"),
]
