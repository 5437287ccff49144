"""System checks of our own (`manage.py check`, and `--deploy` for the deployment ones)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

POSITIVE_SETTINGS = (
    "POST_MAX_LENGTH",
    "TIMELINE_CAP",
    "TIMELINE_TRIM_EVERY",
    "FANOUT_BATCH_SIZE",
    "FANOUT_WRITERS",
    "FANOUT_MAX_ATTEMPTS",
    "AVATAR_MAX_BYTES",
    "AVATAR_MAX_PIXELS",
    "AVATAR_SIZE",
    "PUBLISH_TIMEOUT",
)


@register()
def positive_limits(app_configs, **kwargs):
    """Limits that must be at least 1 (a zero would divide, or stop the product working)."""
    return [
        Error(f"{name} must be at least 1; it is {getattr(settings, name)!r}.", id="common.E001")
        for name in POSITIVE_SETTINGS
        if getattr(settings, name) < 1
    ]


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
