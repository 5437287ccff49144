from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"

    def ready(self) -> None:
        from common import availability, checks  # noqa: F401  (registers the deploy checks
        # and the receiver that notices the database is back)
