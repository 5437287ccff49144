"""The web client's pages: thin views over the same services and selectors as the API.

Every action is a plain form POST that redirects back (it works without JavaScript); when
htmx sends it, the answer is the partial the page swaps in instead."""

import re
from datetime import UTC, timedelta
from typing import NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from accounts import selectors as account_selectors
from accounts import services as account_services
from common.pagination import cursor_pagination
from follows import selectors as follow_selectors
from follows import services as follow_services
from moderation import services as moderation_services
from notifications import selectors as notification_selectors
from notifications import services as notification_services
from posts import selectors as post_selectors
from posts import services as post_services
from posts.models import Post
from posts.selectors import PostRow
from posts.serializers import PostFilterSerializer
from web import forms
from web import selectors as web_selectors

NEW_POSTS_MAX = 50
PEOPLE_MAX = 10

_BY_POST_ID = cursor_pagination("post_id")
_BY_ID = cursor_pagination("id")
_BY_ID_OLDEST = cursor_pagination("id", newest_first=False)
_BY_FOLLOW = cursor_pagination("follow_id")
_BY_BOOKMARK = cursor_pagination("bookmark_id")
_BY_GROUP = cursor_pagination("latest_id")
_BY_LIKE = cursor_pagination("like_id")
_BY_REPOST = cursor_pagination("repost_id")
_BY_BLOCK = cursor_pagination("block_id")
_BY_MUTE = cursor_pagination("mute_id")


class Card(NamedTuple):
    """A post as a page shows it: `post` is what is shown (a repost's original), `row` the
    entry as listed, with what the viewer did to the post."""

    row: PostRow
    post: PostRow
    liked: bool
    reposted: bool
    bookmarked: bool


def cards(rows: list, viewer) -> list[Card]:
    """Cards for posts (PostRows or Post instances fetched with their relations), with the
    viewer's likes, reposts and bookmarks: as the rows carry them when their list read them
    (the viewer's own lists), else from one query for the rest of the list."""
    rows = [_aware(row if isinstance(row, PostRow) else PostRow.of(row)) for row in rows]
    missing = {row.original_id for row in rows if row.liked is None}
    flags = post_selectors.viewer_flags(viewer=viewer, post_ids=missing)
    return [
        Card(row, row.repost_of or row, row.liked, row.reposted, row.bookmarked)
        if row.liked is not None
        else Card(
            row,
            row.repost_of or row,
            row.original_id in flags.liked,
            row.original_id in flags.reposted,
            row.original_id in flags.bookmarked,
        )
        for row in rows
    ]


def _aware(row: PostRow) -> PostRow:
    # The feed's own SQL reads SQLite's timestamps as naive datetimes (in UTC).
    if timezone.is_naive(row.created_at):
        row = row._replace(created_at=row.created_at.replace(tzinfo=UTC))
    if row.repost_of is not None:
        row = row._replace(repost_of=_aware(row.repost_of))
    return row


def paginate(request, queryset, pagination_class) -> tuple[list, str | None]:
    """A page of `queryset` with the API's own cursors: `(items, next cursor or None)`."""
    paginator = pagination_class()
    try:
        items = paginator.paginate_queryset(queryset, Request(request))
    except APIException:
        raise Http404("No such page.") from None
    link = paginator.get_next_link()
    cursor = parse_qs(urlsplit(link).query).get("cursor", [None])[0] if link else None
    return list(items), cursor


def page(request, template: str, context: dict, *, partial: str | None = None, status=200):
    """A full page with the navigation's state, or only `partial` for an htmx request."""
    if partial and request.htmx and not request.htmx.boosted:
        return render(request, partial, context, status=status)
    if request.user.is_authenticated:
        context["nav"] = web_selectors.nav_state(user=request.user)
    return render(request, template, context, status=status)


def _safe_url(request, url: str | None) -> str | None:
    """`url` if it is on this site, else None."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def _came_from(request) -> str | None:
    """Where the form came from (its `next` field or the referrer), same site only."""
    return _safe_url(request, request.POST.get("next") or request.headers.get("Referer"))


def back(request, default: str):
    """Redirect to where the form came from, or to `default`."""
    return redirect(_came_from(request) or default)


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "That is not allowed."


# --- accounts -----------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    template_name = "web/signin.html"
    redirect_authenticated_user = True
    extra_context = {"title": "Sign in"}


class SignOutView(auth_views.LogoutView):
    """Django's sign-out; the websockets this browser session opened close too, on
    whichever process holds them."""

    def post(self, request, *args, **kwargs):
        user_id, session_key = request.user.pk, request.session.session_key
        response = super().post(request, *args, **kwargs)
        if user_id is not None and session_key:
            account_services.web_session_ended(user_id=user_id, session_key=session_key)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/password.html"
    form_class = forms.WebPasswordChangeForm
    success_url = reverse_lazy("web:settings")
    extra_context = {"title": "Change password"}

    def form_valid(self, form):
        messages.success(self.request, "Your password was changed.")
        return super().form_valid(form)


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = forms.SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = form.save()
        except ValidationError as error:
            form.add_error("username", error.messages)
        else:
            from django.contrib.auth import login

            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            messages.success(request, f"Welcome to Warble, {user.username}!")
            return redirect("home")
    return page(request, "web/signup.html", {"form": form, "title": "Sign up"})


# --- posts --------------------------------------------------------------------------------


def _compose(request, reply_to: int | None = None):
    """Handle a compose form: `(form, post or None, created)`."""
    form = forms.ComposeForm(request.POST, reply_to=reply_to)
    if not form.is_valid():
        return form, None, False
    try:
        post, created = post_services.post_create(
            author=request.user,
            text=form.cleaned_data["text"],
            reply_to_id=reply_to,
            idempotency_key=form.cleaned_data["idempotency_key"] or None,
        )
    except (ValidationError, PermissionDenied) as error:
        form.add_error("text", _error_text(error))
        return form, None, False
    return form, post, created


def _composed(request, form, post, created, *, reply_to=None, target: str):
    """The answer to an htmx compose: a fresh form, and the new post added to the list."""
    context = {
        "form": forms.ComposeForm(reply_to=reply_to) if post else form,
        "new_cards": cards([post_selectors.post_get(post_id=post.pk)], request.user)
        if post and created
        else [],
        "target": target,
        "action": request.path,
    }
    return render(request, "web/_compose_answer.html", context)


def home(request):
    if not request.user.is_authenticated:
        return page(
            request,
            "web/landing.html",
            {"form": auth_views.AuthenticationForm(request), "title": "Welcome"},
        )
    if request.method == "POST":
        form, post, created = _compose(request)
        if request.htmx:
            return _composed(request, form, post, created, target="posts")
        if post is not None:
            messages.success(request, "Posted.")
            return redirect("home")
    else:
        form = forms.ComposeForm()
    feed = post_selectors.feed_for(user=request.user)
    after = request.GET.get("after", "")
    if after.isdigit():
        rows = feed.filter(post_id__gt=int(after))[:NEW_POSTS_MAX]
        return render(request, "web/_cards.html", {"cards": cards(rows, request.user)})
    rows, cursor = paginate(request, feed, _BY_POST_ID)
    context = {"form": form, "cards": cards(rows, request.user), "cursor": cursor}
    context["title"] = "Home"
    return page(request, "web/home.html", context, partial=_more(request))


def _more(request) -> str | None:
    """The partial of a "load more" request: the next items and the next link."""
    return "web/_more.html" if "cursor" in request.GET else None


@login_required
def post_detail(request, pk: int):
    post = post_selectors.post_get(post_id=pk, viewer=request.user)
    if post is None:
        raise Http404("No such post.")
    original_id = post.repost_of_id or post.pk
    if request.method == "POST":
        form, reply, created = _compose(request, reply_to=original_id)
        if request.htmx:
            return _composed(request, form, reply, created, reply_to=original_id, target="replies")
        if reply is not None:
            messages.success(request, "Replied.")
            return redirect("web:post", pk=pk)
    else:
        form = forms.ComposeForm(reply_to=original_id)
    replies, cursor = paginate(
        request, post_selectors.post_replies(post=post, viewer=request.user), _BY_ID_OLDEST
    )
    if request.htmx and "cursor" in request.GET:
        return render(
            request, "web/_more.html", {"cards": cards(replies, request.user), "cursor": cursor}
        )
    ancestors = post_selectors.post_ancestors(post=post, viewer=request.user)
    listed = cards([*ancestors, post, *replies], request.user)
    n = len(ancestors)
    context = {
        "ancestors": listed[:n],
        "card": listed[n],
        "cards": listed[n + 1 :],
        "cursor": cursor,
        "form": form,
        "title": f"Post by @{post.author.username}",
    }
    return page(request, "web/post.html", context)


_TOGGLES = {
    "like": (post_services.like_create, post_services.like_delete),
    "repost": (post_services.repost_create, post_services.repost_delete),
    "bookmark": (post_services.bookmark_create, post_services.bookmark_delete),
}


@login_required
@require_POST
def interact(request, pk: int, action: str):
    """Like, repost or bookmark a post, or take it back (`undo`)."""
    if action not in _TOGGLES:
        raise Http404("No such action.")
    create, delete = _TOGGLES[action]
    post = post_selectors.post_get(post_id=pk)
    if post is None:
        raise Http404("No such post.")
    error = None
    try:
        if request.POST.get("undo"):
            delete(user=request.user, post=post)
        else:
            create(user=request.user, post=post)
    except (PermissionDenied, ValidationError, Post.DoesNotExist) as exc:
        error = _error_text(exc)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return back(request, reverse("web:post", args=[pk]))
    shown = post_selectors.post_get(post_id=pk, viewer=request.user)
    if shown is None:
        raise Http404("No such post.")
    [card] = cards([shown], request.user)
    # The controls keep the id they replace (a notification group's card has its own).
    target = _ACTIONS_ID.match(request.htmx.target or "")
    context = {"card": card, "error": error, "prefix": target.group(1) if target else ""}
    context["detail"] = bool(request.POST.get("detail"))
    return render(request, "web/_actions.html", context)


_WHO = {
    "likes": (post_selectors.likers_of, _BY_LIKE, "Liked by"),
    "reposts": (post_selectors.reposters_of, _BY_REPOST, "Reposted by"),
}


@login_required
def post_people(request, pk: int, which: str):
    """Who liked or reposted a post (its original, for a repost), newest first, with the
    API's cursors."""
    post = post_selectors.post_get(post_id=pk, viewer=request.user)
    if post is None:
        raise Http404("No such post.")
    selector, pagination, title = _WHO[which]
    users, cursor = paginate(request, selector(post=post, viewer=request.user), pagination)
    original = post.repost_of if post.repost_of_id else post
    context = {"post": original, "people": users, "cursor": cursor, "which": which}
    context["title"] = f"{title} (post by @{original.author.username})"
    context["heading"] = title
    return page(request, "web/post_people.html", context, partial=_more(request))


_ACTIONS_ID = re.compile(r"^((?:n\d+-)?)actions-\d+$")
_CARD_ID = re.compile(r"^((?:n\d+-)?)post-\d+$")


def _page_of_a_deleted_post(url: str | None) -> bool:
    """Whether `url` is a page of a post (its thread, who liked it ...) that is gone."""
    try:
        match = resolve(urlsplit(url or "").path)
    except Resolver404:
        return False
    if match.namespace != "web" or "pk" not in match.kwargs:
        return False
    return post_selectors.post_get(post_id=match.kwargs["pk"]) is None


@login_required
def delete_post(request, pk: int):
    """Delete a post, once confirmed: its card's button leads to a page that asks (without
    JavaScript) or the browser asks (htmx). Only its author or an admin may (the service
    decides). A card is replaced by a line that says it is gone; from the post's own page
    (gone with it) the browser moves on to the author's profile."""
    post = post_selectors.post_get(post_id=pk, viewer=request.user)
    if post is None:
        raise Http404("No such post.")
    came_from = _came_from(request)
    error, status = None, 200
    if request.method == "POST" and request.POST.get("confirm"):
        try:
            post_services.post_delete(post=post, actor=request.user)
        except PermissionDenied as exc:
            error, status = _error_text(exc), 403
        else:
            mine = post.author_id == request.user.pk
            done = "Your post was deleted." if mine else "The post was deleted."
            profile_url = reverse("web:profile", args=[post.author.username])
            if request.htmx:
                if _page_of_a_deleted_post(request.htmx.current_url_abs_path):
                    messages.success(request, done)
                    return HttpResponseClientRedirect(profile_url)
                return render(request, "web/_done.html", {"done": done})
            messages.success(request, done)
            if came_from and not _page_of_a_deleted_post(came_from):
                return redirect(came_from)
            return redirect(profile_url)
        if request.htmx:
            [card] = cards([post], request.user)
            target = _CARD_ID.match(request.htmx.target or "")
            context = {"card": card, "error": error, "prefix": target.group(1) if target else ""}
            return render(request, "web/_post.html", context)
    elif not post_services.post_deletable(author_id=post.author_id, actor=request.user):
        error, status = post_services.DELETE_REFUSED, 403
    original = post.repost_of if post.repost_of_id else post
    context = {"post": post, "original": original, "next": came_from, "error": error}
    context["title"] = "Delete post"
    return page(request, "web/delete.html", context, status=status)


# --- people -------------------------------------------------------------------------------


def _profile_user(request, username: str):
    user = account_selectors.user_profile(username=username, viewer=request.user)
    if user is None:
        raise Http404("No such account.")
    return user


def _profile_context(request, user) -> dict:
    context = {"profile": user, "title": f"{user.display_name or user.username} (@{user.username})"}
    if user.pk != request.user.pk:
        context["relation"] = web_selectors.relationship(viewer=request.user, user=user)
        context["mute_form"] = forms.MuteForm()
    return context


@login_required
def profile(request, username: str):
    user = _profile_user(request, username)
    rows, cursor = paginate(
        request,
        post_selectors.posts_by_username(username=user.username, viewer=request.user),
        _BY_ID,
    )
    context = {**_profile_context(request, user), "cards": cards(rows, request.user)}
    context.update(cursor=cursor, tab="posts")
    return page(request, "web/profile.html", context, partial=_more(request))


@login_required
def profile_likes(request, username: str):
    """The posts an account liked, newest like first."""
    user = _profile_user(request, username)
    rows, cursor = paginate(
        request, post_selectors.likes_by(username=user.username, viewer=request.user), _BY_LIKE
    )
    context = {**_profile_context(request, user), "cards": cards(rows, request.user)}
    context.update(cursor=cursor, tab="likes")
    return page(request, "web/profile.html", context, partial=_more(request))


@login_required
def people(request, username: str, which: str):
    user = _profile_user(request, username)
    selector = (
        follow_selectors.followers_of if which == "followers" else follow_selectors.following_of
    )
    users, cursor = paginate(
        request, selector(username=user.username, viewer=request.user), _BY_FOLLOW
    )
    context = {**_profile_context(request, user), "people": users, "cursor": cursor, "tab": which}
    return page(request, "web/profile.html", context, partial=_more(request))


def _mute(viewer, user, *, duration: int | None = None):
    seconds = timedelta(seconds=duration) if duration else None
    return follow_services.mute_create(muter=viewer, muted=user, duration=seconds)


_RELATIONS = {
    "follow": (
        lambda viewer, user: follow_services.follow_create(follower=viewer, followee=user),
        lambda viewer, user: follow_services.follow_delete(follower=viewer, followee=user),
    ),
    "block": (
        lambda viewer, user: follow_services.block_create(blocker=viewer, blocked=user),
        lambda viewer, user: follow_services.block_delete(blocker=viewer, blocked=user),
    ),
    "mute": (
        _mute,
        lambda viewer, user: follow_services.mute_delete(muter=viewer, muted=user),
    ),
}


@login_required
@require_POST
def relate(request, username: str, action: str):
    """Follow, block or mute (for a chosen `duration`) an account, or take it back
    (`undo`). With htmx, the answer is the profile's new head; a block also hides (an
    unblock shows) the account's posts and people in the lists below it, so its answer has
    htmx reload the page instead."""
    if action not in _RELATIONS:
        raise Http404("No such action.")
    create, delete = _RELATIONS[action]
    user = _profile_user(request, username)
    error, status, options = None, 200, {}
    if action == "mute" and not request.POST.get("undo"):
        form = forms.MuteForm(request.POST)
        if form.is_valid():
            options["duration"] = form.cleaned_data["duration"]
        else:
            error, status = " ".join(form.errors["duration"]), 400
    if error is None:
        try:
            if request.POST.get("undo"):
                delete(request.user, user)
            else:
                create(request.user, user, **options)
        except (PermissionDenied, ValidationError) as exc:
            error = _error_text(exc)
    if not request.htmx:
        if error:
            messages.error(request, error)
        if status != 200:
            # Input no form of ours sends: the profile, with the error, as a 400.
            response = profile(request, user.username)
            response.status_code = status
            return response
        return back(request, reverse("web:profile", args=[user.username]))
    if action == "block" and error is None:
        # A block changes the lists under the head too (their posts, their followers and
        # follows): the page is loaded again, as after the plain form's redirect.
        return HttpResponseClientRefresh()
    user = account_selectors.user_with_counts(user=user)
    context = {**_profile_context(request, user), "error": error}
    return render(request, "web/_profile_head.html", context, status=status)


@login_required
def report(request):
    """Report a post (`?post=`) or an account (`?user=`)."""
    source = request.POST if request.method == "POST" else request.GET
    post = user = None
    if source.get("post", "").isdigit():
        post = post_selectors.post_get(post_id=int(source["post"]), viewer=request.user)
        if post is None:
            raise Http404("No such post.")
    elif source.get("user"):
        user = _profile_user(request, source["user"])
    else:
        raise Http404("Nothing to report.")
    form = forms.ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            moderation_services.report_create(
                reporter=request.user,
                reason=form.cleaned_data["reason"],
                user=user,
                post=post,
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            form.add_error(None, _error_text(error))
        else:
            messages.success(request, "Thank you. An admin will look at your report.")
            if post is not None:
                return redirect("web:post", pk=post.pk)
            return redirect("web:profile", username=user.username)
    context = {"form": form, "post": post, "reported": user, "title": "Report"}
    return page(request, "web/report.html", context)


# --- search, notifications, bookmarks -----------------------------------------------------


_FILTERS = ("author", "from", "to")


@login_required
def search(request):
    """Posts by words and `#tags`, and by account and dates as the API's filters (checked
    by the API's own serializer), with the people whose names match; with nothing asked,
    the trending tags."""
    form = forms.SearchForm(request.GET or None)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    asked = {name: request.GET.get(name, "").strip() for name in _FILTERS}
    filters = PostFilterSerializer(data={name: value for name, value in asked.items() if value})
    valid = filters.is_valid()
    errors = {} if valid else {name: " ".join(map(str, e)) for name, e in filters.errors.items()}
    context = {"form": form, "q": q, "filters": asked, "filter_errors": errors}
    context["title"] = f"Search: {q}" if q else "Search"
    data = filters.validated_data if valid else {}
    if valid and (q or data):
        found = post_selectors.post_list(
            viewer=request.user,
            q=q,
            author=data.get("author", ""),
            date_from=data.get("from"),
            date_to=data.get("to"),
        )
        rows, cursor = paginate(request, found, _BY_ID)
        context.update(cards=cards(rows, request.user), cursor=cursor, searched=True)
        context["query"] = urlencode({k: v for k, v in [("q", q), *asked.items()] if v})
        if q and "cursor" not in request.GET:
            words = q.lstrip("@#")
            context["people"] = list(
                account_selectors.visible_users(request.user)
                .filter(Q(username__icontains=words) | Q(display_name__icontains=words))
                .order_by("username")[:PEOPLE_MAX]
            )
    elif valid:
        context["trending"] = post_selectors.trending_tags()
    return page(request, "web/search.html", context, partial=_more(request))


class Group(NamedTuple):
    type: str
    count: int
    actors: list
    others: int
    post: Card | None
    latest_id: int
    latest_at: object
    unread: bool

    @property
    def prefix(self) -> str:
        """The start of the ids in the group's post card: one post may be in several
        groups (liked, reposted ...), and ids must be unique in a page."""
        return f"n{self.latest_id}-"


@login_required
def notifications(request):
    groups, cursor = paginate(
        request, notification_selectors.notification_groups(user=request.user), _BY_GROUP
    )
    latest, actors = notification_selectors.group_details(user=request.user, groups=groups)
    shown = [group for group in groups if group["latest_id"] in latest]
    posts = cards(
        [latest[g["latest_id"]].post for g in shown if latest[g["latest_id"]].post_id],
        request.user,
    )
    by_id = {card.row.id: card for card in posts}
    items = []
    for group in shown:
        notification = latest[group["latest_id"]]
        people = actors.get((group["type"], group["group_post"]), [notification.actor])
        items.append(
            Group(
                group["type"],
                group["count"],
                people,
                group["count"] - len(people),
                by_id.get(notification.post_id),
                group["latest_id"],
                notification.created_at,
                group["unread_count"] > 0,
            )
        )
    context = {"groups": items, "cursor": cursor, "title": "Notifications"}
    if request.htmx and not request.htmx.boosted:
        return render(
            request,
            "web/_groups_more.html" if "cursor" in request.GET else "web/_groups.html",
            context,
        )
    return page(request, "web/notifications.html", context)


@login_required
@require_POST
def notifications_read(request):
    up_to = request.POST.get("up_to", "")
    notification_services.notifications_mark_read(
        user=request.user, up_to=int(up_to) if up_to.isdigit() else None
    )
    return back(request, reverse("web:notifications"))


@login_required
def bookmarks(request):
    rows, cursor = paginate(request, post_selectors.bookmarks_of(user=request.user), _BY_BOOKMARK)
    context = {"cards": cards(rows, request.user), "cursor": cursor, "title": "Bookmarks"}
    return page(request, "web/bookmarks.html", context, partial=_more(request))


# --- settings -----------------------------------------------------------------------------


@login_required
def settings_page(request):
    user = request.user
    profile_form = forms.ProfileForm(instance=user)
    avatar_form = forms.AvatarForm()
    if request.method == "POST":
        profile_form = forms.ProfileForm(
            request.POST, instance=account_selectors.user_with_counts(user=user)
        )
        if profile_form.is_valid():
            try:
                account_services.user_update(user=user, data=profile_form.cleaned_data)
            except ValidationError as error:
                # A username taken since the form was checked.
                user.refresh_from_db()
                profile_form.add_error(None, error)
            else:
                messages.success(request, "Your profile was saved.")
                return redirect("web:settings")
    context = {
        "profile_form": profile_form,
        "avatar_form": avatar_form,
        "delete_form": forms.DeleteAccountForm(user=user),
        "title": "Settings",
    }
    return page(request, "web/settings.html", context)


class _Safety(NamedTuple):
    title: str
    selector: object
    pagination: type
    undo: object
    done: str
    control: str
    empty: str


_SAFETY = {
    "blocked": _Safety(
        "Blocked accounts",
        follow_selectors.blocks_of,
        _BY_BLOCK,
        _RELATIONS["block"][1],
        "You unblocked @{}.",
        "web/_unblock.html",
        "You block nobody.",
    ),
    "muted": _Safety(
        "Muted accounts",
        follow_selectors.mutes_of,
        _BY_MUTE,
        _RELATIONS["mute"][1],
        "You unmuted @{}.",
        "web/_unmute.html",
        "You mute nobody.",
    ),
}


@login_required
def safety(request, which: str):
    """The accounts you block, or mute (with when each mute ends), newest first, each with
    its Unblock or Unmute: found whatever the block between you (their profile may answer
    404 to you), as the API finds them."""
    kind = _SAFETY[which]
    if request.method == "POST":
        user = account_selectors.user_active(username=request.POST.get("username", ""))
        if user is None:
            raise Http404("No such account.")
        kind.undo(request.user, user)
        done = kind.done.format(user.username)
        if request.htmx:
            return render(request, "web/_done.html", {"done": done})
        messages.success(request, done)
        return back(request, reverse(f"web:{which}"))
    users, cursor = paginate(request, kind.selector(user=request.user), kind.pagination)
    context = {"people": users, "cursor": cursor, "control": kind.control, "kind": kind}
    context["title"] = kind.title
    return page(request, "web/safety.html", context, partial=_more(request))


@login_required
@require_POST
def avatar(request):
    user = request.user
    if request.POST.get("remove"):
        account_services.avatar_delete(user=user)
        messages.success(request, "Your picture was removed.")
        return redirect("web:settings")
    form = forms.AvatarForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            account_services.avatar_set(user=user, upload=form.cleaned_data["avatar"])
        except ValidationError as error:
            form.add_error("avatar", _error_text(error))
        except APIException as error:
            form.add_error("avatar", str(error.detail))
        else:
            messages.success(request, "Your picture was saved.")
            return redirect("web:settings")
    context = {
        "profile_form": forms.ProfileForm(instance=user),
        "avatar_form": form,
        "delete_form": forms.DeleteAccountForm(user=user),
        "title": "Settings",
    }
    return page(request, "web/settings.html", context)


@login_required
@require_POST
def delete_account(request):
    form = forms.DeleteAccountForm(request.POST, user=request.user)
    if form.is_valid():
        user = request.user
        logout(request)
        account_services.user_delete(user=user)
        messages.success(request, "Your account was deleted.")
        return redirect("home")
    context = {
        "profile_form": forms.ProfileForm(instance=request.user),
        "avatar_form": forms.AvatarForm(),
        "delete_form": form,
        "title": "Settings",
    }
    return page(request, "web/settings.html", context)
