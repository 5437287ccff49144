from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # Registers the handlers of the events this app reacts to (common.events).
        from notifications import fanout, sessions  # noqa: F401
