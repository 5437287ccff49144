"""Deployment checks of our own, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def secret_key_from_environment(app_configs, **kwargs):
    if settings.SECRET_KEY_FROM_ENV:
        return []
    return [
        Warning(
            "SECRET_KEY is not set in the environment; a key generated under var/ is in use.",
            hint="Set SECRET_KEY (and JWT_SECRET_KEY) for every process of a deployment.",
            id="common.W001",
        )
    ]
