"""Filters for the web pages: a post's text with its mentions and tags as links, relative
times, pictures."""

import functools
from datetime import UTC, datetime, timedelta
from html import escape as _e
from typing import NamedTuple
from urllib.parse import quote

from django import template
from django.conf import settings
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.translation import get_language

from posts.services import post_deletable
from posts.text import _HASHTAG, _MENTION

register = template.Library()


@register.filter
def linked_text(post) -> str:
    """The text, escaped, with `@mentions` of existing accounts and `#tags` as links (the
    names the post was parsed with when it was created)."""
    return _linked_text(post, paths())


def _linked_text(post, p: dict) -> str:
    mentioned = (
        frozenset(mention["username"].lower() for mention in post.mentions)
        if post.mentions
        else frozenset()
    )
    tags = frozenset(post.hashtags) if post.hashtags else frozenset()
    return _linked(post.text, mentioned, tags, p["profile"], p["search"])


# Keyed by everything the result depends on, so a cached text is never stale: a page's
# posts are mostly the same from one request to the next, and scanning and escaping them
# was the largest part of a card.
@functools.lru_cache(maxsize=4096)
def _linked(text: str, mentioned: frozenset, tags: frozenset, profile: str, search: str) -> str:
    found = []
    if mentioned:
        for match in _MENTION.finditer(text):
            name = match.group(1).rstrip(".+-")
            if name.lower() in mentioned:
                url = profile.format(name)
                found.append((match.start(), match.start() + 1 + len(name), url))
    if tags:
        for match in _HASHTAG.finditer(text):
            if match.group(1).casefold() in tags:
                url = _tag_url(search, match.group(1).casefold())
                found.append((match.start(), match.end(), url))
    if not found:
        return mark_safe(_e(text))  # noqa: S308 - escaped
    parts, position = [], 0
    for start, end, url in sorted(found):
        if start < position:
            continue
        parts.append(_e(text[position:start]))
        parts.append(f'<a href="{_e(url)}">{_e(text[start:end])}</a>')
        position = end
    parts.append(_e(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every part is escaped above


@functools.lru_cache(maxsize=4096)
def _tag_url(search: str, tag: str) -> str:
    return search + "?q=" + quote("#" + tag)


@register.filter
def ago(value: datetime) -> str:
    """ "5 minutes ago", "just now"; the page's <time> carries the exact time."""
    return _ago(value, timezone.now(), get_language()) if value else ""


def _ago(value: datetime, now: datetime, language: str) -> str:
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 86400:
        return _recent(int(seconds // 60), language)
    return f"{timesince(value, now, depth=1)} ago"


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@functools.lru_cache(maxsize=2048)
def _recent(minutes: int, language: str) -> str:
    # Under a day Django's wording depends only on the minutes: worded once each (a page of
    # 20 posts spent more time in timesince than in the rest of its cards).
    return f"{timesince(_EPOCH, _EPOCH + timedelta(minutes=minutes), depth=1)} ago"


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
        "delete": path("web:delete_post", 0),
        "likes": path("web:likes", 0),
        "reposts": path("web:reposts", 0),
        "profile": path("web:profile", "_x_"),
        "report": reverse("web:report") + "?post={}",
        "search": reverse("web:search"),
        "prefix": prefix,
    }


def paths() -> dict:
    return _paths(get_script_prefix())


_DETAIL = '<input type="hidden" name="detail" value="1">'


def _toggle(
    url: str, name: str, on: bool, count=None, people=None, detail: bool = False
) -> tuple[str, str]:
    """A Like, Repost or Bookmark form and its count, in two parts: before and after its
    CSRF token. With `people` (a list's URL and what it counts), the count is a link to who
    did it ("3 likes"). In `detail`, the form asks for its answer so."""
    undo = '<input type="hidden" name="undo" value="1">' if on else ""
    number = f' <span class="n">{count}</span>' if count is not None else ""
    if people is not None:
        href, noun = people
        number = f' <a class="n" href="{href}">{count} {noun}{"" if count == 1 else "s"}</a>'
    if detail:
        undo += _DETAIL
    return (
        f'<form method="post" action="{url}" hx-post="{url}" hx-target="closest .actions" '
        'hx-swap="outerHTML"><input type="hidden" name="csrfmiddlewaretoken" value="',
        f'">{undo}<button type="submit" class="action" aria-pressed="{"true" if on else "false"}">'
        f"{name}</button>{number}</form>",
    )


def _delete(url: str) -> tuple[str, str]:
    """The Delete form, before and after its CSRF token. Without JavaScript the button
    leads to a page that asks to confirm; with htmx the browser asks, and the answer
    replaces the card."""
    return (
        f'<form method="post" action="{url}" hx-post="{url}" hx-target="closest article" '
        'hx-swap="outerHTML" hx-confirm="Delete this post? This cannot be undone." '
        """hx-vals='{"confirm": "1"}' hx-disabled-elt="find button">"""
        '<input type="hidden" name="csrfmiddlewaretoken" value="',
        '"><button type="submit" class="action subtle">Delete</button></form>',
    )


class _Controls(NamedTuple):
    """What a card's controls show besides the CSRF token: the cache key of `_actions`."""

    row_id: int
    post_id: int
    counts: tuple[int, int, int]
    flags: tuple[bool, bool, bool]
    prefix: str
    deletable: bool
    detail: bool


# Keyed by every value the controls show except the CSRF token, the one part that changes
# from one request to the next: the result is the HTML in the pieces between which the
# token goes (building the three forms of each of a page's 20 cards anew was a third of the
# cards' cost; docs/benchmarks.md, "Web client"), and the script prefix the URLs start with.
@functools.lru_cache(maxsize=4096)
def _actions(controls: _Controls, script_prefix: str) -> tuple[str, ...]:
    p, pid = _paths(script_prefix), controls.post_id
    replies, likes, reposts = controls.counts
    liked, reposted, bookmarked = controls.flags
    detail = controls.detail
    likers = (p["likes"].format(pid), "like") if detail else None
    reposters = (p["reposts"].format(pid), "repost") if detail else None
    like = _toggle(p["like"].format(pid), "Like", liked, likes, likers, detail)
    repost = _toggle(p["repost"].format(pid), "Repost", reposted, reposts, reposters, detail)
    bookmark = _toggle(p["bookmark"].format(pid), "Bookmark", bookmarked, detail=detail)
    report = f'<a class="action subtle" href="{p["report"].format(pid)}">Report</a>'
    pieces = [
        f'<div class="actions" id="{_e(controls.prefix)}actions-{controls.row_id}">'
        f'<span class="pair"><a href="{p["post"].format(pid)}#compose-reply" class="action">'
        f'Reply</a> <span class="n">{replies}</span></span>{like[0]}',
        like[1] + repost[0],
        repost[1] + bookmark[0],
        bookmark[1] + report,
    ]
    if controls.deletable:
        delete = _delete(p["delete"].format(pid))
        pieces[-1] += delete[0]
        pieces.append(delete[1])
    return tuple(pieces)


def _actions_pieces(card, p, prefix: str, viewer, detail: bool) -> tuple[str, ...]:
    """A card's controls, in the pieces between which the page's CSRF token goes; Delete
    for whom may delete the post (`viewer`: its author or an admin)."""
    post = card.post
    deletable = viewer is not None and post_deletable(author_id=post.author_id, actor=viewer)
    controls = _Controls(
        card.row.id,
        post.id,
        (post.reply_count, post.like_count, post.repost_count),
        (card.liked, card.reposted, card.bookmarked),
        prefix,
        deletable,
        detail,
    )
    return _actions(controls, p["prefix"])


def _alert(error: str | None) -> str:
    return f' <span class="error" role="alert">{_e(error)}</span>' if error else ""


def actions_html(
    card,
    csrf: str,
    error: str | None = None,
    p: dict | None = None,
    prefix: str = "",
    viewer=None,
    detail: bool = False,
) -> str:
    """The Reply, Like, Repost, Bookmark and Report controls of a card, and Delete for
    whom may delete the post (`viewer`: its author or an admin), with the id
    `{prefix}actions-{id}`; in `detail` (a post's own page) the counts of likes and reposts
    link to who liked and reposted it. Plain f-strings: every value is a number, a fixed
    word or passed through `_e` (html.escape)."""
    pieces = _actions_pieces(card, p or paths(), prefix, viewer, detail)
    return mark_safe(_e(csrf).join(pieces) + f"{_alert(error)}</div>")  # noqa: S308 - escaped


@functools.lru_cache(maxsize=4096)
def _author(username: str, display_name: str, picture: str, profile: str) -> str:
    """A card's picture, name and handle (the same few authors fill a page, card after
    card, request after request); `picture` is the picture's URL, or empty."""
    if picture:
        avatar = f'<img class="avatar" src="{_e(picture)}" alt="" width="40" height="40">'
    else:
        avatar = f'<span class="avatar" aria-hidden="true">{_e(username[:1].upper())}</span>'
    return (
        f'{avatar}<p><a class="name" href="{_e(profile.format(username))}">'
        f'{_e(display_name or username)}</a> <span class="handle">@{_e(username)}</span>'
    )


class _Page(NamedTuple):
    """What every card of a page shares, looked up once per page."""

    csrf: str
    paths: dict
    now: datetime
    language: str
    viewer: object


def _page(context) -> _Page:
    csrf, viewer = _e(str(context.get("csrf_token", ""))), context.get("user")
    return _Page(csrf, paths(), timezone.now(), get_language(), viewer)


def card_html(
    card, page: _Page, prefix: str = "", error: str | None = None, detail: bool = False
) -> str:
    """A post's card (see `_paths`); every text is escaped with `_e`. Its ids start with
    `prefix`, for a page that shows the same post more than once (notification groups)."""
    row, post, p = card.row, card.post, page.paths
    head = _card_head(
        prefix,
        row.id,
        (row.username, row.display_name) if row.repost_of is not None else None,
        post.id,
        post.created_at,
        _ago(post.created_at, page.now, page.language),
        _author(post.username, post.display_name, media_url(post.avatar), p["profile"]),
        (post.reply_to_id, post.reply_to_username) if post.reply_to_username else None,
        _linked_text(post, p),
        p["profile"],
        p["post"],
    )
    pieces = _actions_pieces(card, p, prefix, page.viewer, detail)
    return f"{head}{page.csrf.join(pieces)}{_alert(error)}</div></article>"


# A card up to its controls, keyed by every value it shows (the author's part and the text
# come from their own caches, so most of the key is objects whose hashes are kept): a
# page's posts are mostly the same from one request to the next, and writing their times
# alone had cost a third of a card. Times are in UTC (as the title says), so equal times
# also read the same.
@functools.lru_cache(maxsize=4096)
def _card_head(
    prefix: str,
    row_id: int,
    reposter: tuple[str, str] | None,
    post_id: int,
    created: datetime,
    ago: str,
    author: str,
    reply_to: tuple[int, str] | None,
    text: str,
    p_profile: str,
    p_post: str,
) -> str:
    reposted_by = ""
    if reposter is not None:
        username, display_name = reposter
        reposted_by = (
            f'<p class="meta">↻ <a href="{_e(p_profile.format(username))}">'
            f"{_e(display_name or username)}</a> reposted</p>"
        )
    replying = ""
    if reply_to is not None:
        reply_to_id, reply_to_username = reply_to
        replying = (
            f'<p class="meta">Replying to <a href="{p_post.format(reply_to_id)}">'
            f"@{_e(reply_to_username)}</a></p>"
        )
    # The title is the ISO form's date and time of day ("%Y-%m-%d %H:%M:%S", which
    # strftime took twice as long as isoformat to write).
    iso = created.isoformat()
    return (
        f'<article class="post" id="{_e(prefix)}post-{row_id}" data-id="{row_id}">{reposted_by}'
        f'<header>{author} · <a class="time" href="{p_post.format(post_id)}"><time datetime="'
        f'{iso}" title="{iso[:10]} {iso[11:19]} UTC">{ago}</time></a></p></header>{replying}'
        f'<p class="text">{text}</p>'
    )


@register.simple_tag(takes_context=True)
def post_card(context, card, prefix: str = "", error: str | None = None, detail=False) -> str:
    return mark_safe(card_html(card, _page(context), prefix, error, detail))  # noqa: S308


@functools.lru_cache(maxsize=8)
def _page_assets(static_url: str, debug: bool) -> str:
    return render_to_string("web/_assets.html")


@register.simple_tag
def page_assets() -> str:
    """The favicon, style sheet and scripts every page links to, rendered once per process
    (and static files setting): their URLs do not change while it runs, and working them
    out on every page cost a twentieth of the home page."""
    return _page_assets(settings.STATIC_URL, settings.DEBUG)


@register.simple_tag(takes_context=True)
def post_cards(context, cards) -> str:
    page = _page(context)
    return mark_safe("".join(card_html(card, page) for card in cards))  # noqa: S308 - escaped


@register.simple_tag(takes_context=True)
def post_actions(context, card, error=None, prefix: str = "", detail=False) -> str:
    csrf, viewer = str(context.get("csrf_token", "")), context.get("user")
    return actions_html(card, csrf, error, prefix=prefix, viewer=viewer, detail=detail)
