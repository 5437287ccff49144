from django.urls import re_path

from notifications.consumers import NotificationConsumer, UnknownPathConsumer

websocket_urlpatterns = [
    re_path(r"^ws/notifications/?$", NotificationConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
