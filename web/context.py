"""The navigation's links for every page, reversed once per process (a page reversed a
dozen URLs each time it was rendered)."""

import functools

from django.contrib.auth.models import AnonymousUser
from django.template.context_processors import csrf
from django.urls import get_script_prefix, reverse

from accounts.sessions import request_user


@functools.cache
def _links(prefix: str) -> dict:
    names = ["home", "web:bookmarks", "web:notifications", "web:search", "web:settings"]
    names += ["web:signin", "web:signout", "web:signup"]
    links = {name.removeprefix("web:"): reverse(name) for name in names}
    links["profile"] = reverse("web:profile", args=["_"]).removesuffix("_/")
    return links


def links(request) -> dict:
    return {"links": _links(get_script_prefix())}


def resolved(request) -> dict:
    """The signed-in user (or the anonymous one) and the CSRF token themselves, in place of
    the lazy stand-ins that Django's auth and CSRF context processors give: every page
    reads both (the navigation, the forms, each card's controls), and each read through a
    stand-in is a proxied lookup."""
    user = request_user(request) if hasattr(request, "user") else AnonymousUser()
    return {"user": user, "csrf_token": str(csrf(request)["csrf_token"])}
