"""Filters for the web pages: a post's text with its mentions and tags as links, relative
times, pictures."""

from datetime import datetime
from urllib.parse import quote

from django import template
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from posts.text import _HASHTAG, _MENTION

register = template.Library()


@register.filter
def linked_text(post) -> str:
    """The text, escaped, with `@mentions` of existing accounts and `#tags` as links (the
    names the post was parsed with when it was created)."""
    text = post.text
    mentioned = {mention["username"].lower() for mention in post.mentions or []}
    tags = set(post.hashtags or [])
    found = []
    for match in _MENTION.finditer(text):
        name = match.group(1).rstrip(".+-")
        if name.lower() in mentioned:
            url = reverse("web:profile", args=[name])
            found.append((match.start(), match.start() + 1 + len(name), url))
    for match in _HASHTAG.finditer(text):
        if match.group(1).casefold() in tags:
            url = reverse("web:search") + "?q=" + quote("#" + match.group(1).casefold())
            found.append((match.start(), match.end(), url))
    parts, position = [], 0
    for start, end, url in sorted(found):
        if start < position:
            continue
        parts.append(escape(text[position:start]))
        parts.append(format_html('<a href="{}">{}</a>', url, text[start:end]))
        position = end
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every part is escaped above


@register.filter
def ago(value: datetime) -> str:
    """ "5 minutes ago", "just now"; the page's <time> carries the exact time."""
    if not value:
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, depth=1)} ago"


@register.filter
def media_url(name: str) -> str:
    return default_storage.url(name) if name else ""
