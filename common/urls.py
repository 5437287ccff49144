"""Absolute URLs for media, with or without a request at hand."""

from django.conf import settings


def absolute_url(url: str, request=None) -> str:
    if url.startswith(("http://", "https://")):
        return url
    if url.startswith("//"):
        return f"https:{url}"
    if request is not None:
        return request.build_absolute_uri(url)
    return f"{settings.PUBLIC_URL}{url}"
