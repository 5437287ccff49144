from django.urls import path

from notifications import views

urlpatterns = [
    path("", views.NotificationListView.as_view(), name="notification-list"),
    path("read/", views.MarkReadView.as_view(), name="notification-read"),
    path("unread-count/", views.UnreadCountView.as_view(), name="notification-unread-count"),
    path("groups/", views.NotificationGroupsView.as_view(), name="notification-groups"),
]
