"""The navigation's links for every page, reversed once per process (a page reversed a
dozen URLs each time it was rendered)."""

import functools

from django.urls import get_script_prefix, reverse


@functools.cache
def _links(prefix: str) -> dict:
    names = ["home", "web:bookmarks", "web:notifications", "web:search", "web:settings"]
    names += ["web:signin", "web:signout", "web:signup"]
    links = {name.removeprefix("web:"): reverse(name) for name in names}
    links["profile"] = reverse("web:profile", args=["_"]).removesuffix("_/")
    return links


def links(request) -> dict:
    return {"links": _links(get_script_prefix())}
