"""Filters for the web pages: a post's text with its mentions and tags as links, relative
times, pictures."""

import functools
from datetime import datetime
from html import escape as _e
from urllib.parse import quote

from django import template
from django.core.files.storage import default_storage
from django.urls import get_script_prefix, reverse
from django.utils import timezone
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
            url = paths()["profile"].format(name)
            found.append((match.start(), match.start() + 1 + len(name), url))
    for match in _HASHTAG.finditer(text):
        if match.group(1).casefold() in tags:
            url = _search_path() + "?q=" + quote("#" + match.group(1).casefold())
            found.append((match.start(), match.end(), url))
    parts, position = [], 0
    for start, end, url in sorted(found):
        if start < position:
            continue
        parts.append(_e(text[position:start]))
        parts.append(f'<a href="{_e(url)}">{_e(text[start:end])}</a>')
        position = end
    parts.append(_e(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every part is escaped above


def _search_path() -> str:
    return _search(get_script_prefix())


@functools.cache
def _search(prefix: str) -> str:
    return reverse("web:search")


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


# --- a post's card --------------------------------------------------------------------------
# A page shows up to 20 of them, with ten links and three forms each; built here with
# format_html (everything escaped) rather than by nested template includes, which took ten
# times as long as the rest of the page (docs/benchmarks.md, "Web client").


@functools.cache
def _paths(prefix: str) -> dict:
    def path(name: str, *args) -> str:
        return reverse(name, args=args).replace("/0/", "/{}/").replace("/_x_/", "/{}/")

    return {
        "post": path("web:post", 0),
        "like": path("web:interact", 0, "like"),
        "repost": path("web:interact", 0, "repost"),
        "bookmark": path("web:interact", 0, "bookmark"),
        "profile": path("web:profile", "_x_"),
        "report": reverse("web:report") + "?post={}",
    }


def paths() -> dict:
    return _paths(get_script_prefix())


def _toggle(url: str, name: str, on: bool, target: str, csrf: str, count=None) -> str:
    undo = '<input type="hidden" name="undo" value="1">' if on else ""
    number = f' <span class="n">{count}</span>' if count is not None else ""
    return (
        f'<form method="post" action="{url}" hx-post="{url}" hx-target="#{target}" '
        f'hx-swap="outerHTML"><input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
        f'{undo}<button type="submit" class="action" aria-pressed="{"true" if on else "false"}">'
        f"{name}</button>{number}</form>"
    )


def actions_html(card, csrf: str, error: str | None = None) -> str:
    """The Reply, Like, Repost, Bookmark and Report controls of a card. Plain f-strings:
    every value is a number, a fixed word or passed through `_e` (html.escape)."""
    post, p, csrf = card.post, paths(), _e(csrf)
    target, pid = f"actions-{card.row.id}", post.id
    like = _toggle(p["like"].format(pid), "Like", card.liked, target, csrf, post.like_count)
    repost = _toggle(
        p["repost"].format(pid), "Repost", card.reposted, target, csrf, post.repost_count
    )
    bookmark = _toggle(p["bookmark"].format(pid), "Bookmark", card.bookmarked, target, csrf)
    alert = f' <span class="error" role="alert">{_e(error)}</span>' if error else ""
    return mark_safe(  # noqa: S308 - built from escaped values
        f'<div class="actions" id="{target}"><a href="{p["post"].format(pid)}#compose-reply" '
        f'class="action">Reply</a> <span class="n">{post.reply_count}</span>{like}{repost}'
        f'{bookmark}<a class="action subtle" href="{p["report"].format(pid)}">Report</a>'
        f"{alert}</div>"
    )


def _avatar(username: str, avatar: str) -> str:
    if avatar:
        return f'<img class="avatar" src="{_e(media_url(avatar))}" alt="" width="40" height="40">'
    return f'<span class="avatar" aria-hidden="true">{_e(username[:1].upper())}</span>'


def card_html(card, csrf: str) -> str:
    """A post's card (see `_paths`); every text is escaped with `_e`."""
    row, post, p = card.row, card.post, paths()
    reposted_by = ""
    if row.repost_of is not None:
        reposted_by = (
            f'<p class="meta">↻ <a href="{_e(p["profile"].format(row.username))}">'
            f"{_e(row.display_name or row.username)}</a> reposted</p>"
        )
    replying = ""
    if post.reply_to_username:
        replying = (
            f'<p class="meta">Replying to <a href="{p["post"].format(post.reply_to_id)}">'
            f"@{_e(post.reply_to_username)}</a></p>"
        )
    created = post.created_at
    return (
        f'<article class="post" id="post-{row.id}" data-id="{row.id}">{reposted_by}<header>'
        f"{_avatar(post.username, post.avatar)}<p>"
        f'<a class="name" href="{_e(p["profile"].format(post.username))}">'
        f"{_e(post.display_name or post.username)}</a> "
        f'<span class="handle">@{_e(post.username)}</span> · '
        f'<a class="time" href="{p["post"].format(post.id)}"><time datetime="'
        f'{created.isoformat()}" title="{created:%Y-%m-%d %H:%M:%S} UTC">{ago(created)}</time>'
        f'</a></p></header>{replying}<p class="text">{linked_text(post)}</p>'
        f"{actions_html(card, csrf)}</article>"
    )


@register.simple_tag(takes_context=True)
def post_card(context, card) -> str:
    return mark_safe(card_html(card, str(context.get("csrf_token", ""))))  # noqa: S308


@register.simple_tag(takes_context=True)
def post_cards(context, cards) -> str:
    csrf = str(context.get("csrf_token", ""))
    return mark_safe("".join(card_html(card, csrf) for card in cards))  # noqa: S308 - escaped


@register.simple_tag(takes_context=True)
def post_actions(context, card, error=None) -> str:
    return actions_html(card, str(context.get("csrf_token", "")), error)
