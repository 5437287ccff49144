"""The web client's pages through Django's test client: forms, errors, CSRF, live partials
and query counts."""

import gzip
import io
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from accounts.models import User
from common.testing import PASSWORD, make_user
from follows.services import follow_create
from notifications.models import Notification
from posts.models import Bookmark, Like, Post
from posts.services import like_create, post_create, repost_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_signed_out_home_offers_sign_in_and_sign_up(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert ">Sign in</button>" in html
    assert 'href="/signup/"' in html


def test_sign_up_signs_in_and_shows_the_feed(client):
    page = client.get("/signup/").content.decode()
    for label in ("Username", "Password", "Password confirmation"):
        assert f">{label}</label>" in page
    response = client.post(
        "/signup/",
        {"username": "carol", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/"
    assert User.objects.get(username="carol").check_password(PASSWORD)
    assert "Welcome to Warble, carol!" in response.content.decode()
    assert ">Post</button>" in response.content.decode()


def test_sign_up_errors_appear_next_to_their_fields(client, user):
    response = client.post(
        "/signup/", {"username": "ALICE", "password1": PASSWORD, "password2": "different"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="id_username_error" role="alert">[^<]*already exists', html)
    assert re.search(r'id="id_password2_error" role="alert">[^<]*didn.t match', html)
    assert not User.objects.filter(username="ALICE").exists()


def test_sign_in_wrong_password_says_so_in_words(client, user):
    response = client.post("/signin/", {"username": "alice", "password": "nope"})
    html = response.content.decode()
    assert "Please enter a correct username and password" in html
    assert '{"detail"' not in html
    response = client.post("/signin/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    # The session row names its account, so later pages read both in one statement.
    from accounts.models import WebSession

    assert WebSession.objects.get(pk=client.cookies["sessionid"].value).user_id == user.pk


def test_forms_refuse_a_post_without_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/", {"text": "hello"})
    assert response.status_code == 403
    assert not Post.objects.exists()
    page = client.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post("/", {"text": "hello", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Post.objects.get().text == "hello"


def test_pages_need_a_session(client):
    for path in ("/search/", "/notifications/", "/settings/", "/bookmarks/", "/u/alice/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/signin/")


def test_compose_posts_once_per_idempotency_key(web, user):
    form = {"text": "only once", "idempotency_key": "k-123"}
    assert web.post("/", form).status_code == 302
    assert web.post("/", form).status_code == 302
    assert Post.objects.filter(author=user).count() == 1


def test_compose_error_is_next_to_the_field_and_gone_after_success(web, user):
    response = web.post("/", {"text": "x" * 281, "idempotency_key": "a"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="id_text_error" role="alert"' in html and "at most 280" in html
    response = web.post("/", {"text": "fine", "idempotency_key": "b"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'role="alert"' not in html
    assert 'hx-swap-oob="afterbegin:#posts"' in html and "fine" in html
    # A fresh key for the next post.
    assert 'value="b"' not in html


def test_feed_shows_posts_with_links_for_mentions_and_tags(web, user, other):
    post_create(author=other, text="hi @alice about #Django and @nobody")
    follow_create(follower=user, followee=other)
    html = web.get("/").content.decode()
    assert '<a href="/u/alice/">@alice</a>' in html
    assert '<a href="/search/?q=%23django">#Django</a>' in html
    assert "@nobody" in html and 'href="/u/nobody/"' not in html
    assert re.search(r'<time datetime="[^"]+" title="[^"]+ UTC">just now</time>', html)


def test_text_is_escaped(web, user):
    post_create(author=user, text="<script>alert(1)</script> #tag")
    html = web.get("/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_cards_show_reposts_and_replies_and_follow_every_change(web, user, other):
    """Cards are partly built once per process (web.templatetags.web): what they show still
    follows counts, flags, names and the CSRF token of each page."""
    carol = make_user("carol", display_name="Carol <3")
    root, _ = post_create(author=carol, text="the root")
    reply, _ = post_create(author=other, text="a reply", reply_to_id=root.pk)
    repost_create(user=other, post=root)
    follow_create(follower=user, followee=other)
    replied = f'<p class="meta">Replying to <a href="/p/{root.pk}/">@carol</a></p>'
    assert replied in web.get(f"/p/{reply.pk}/").content.decode()
    html = web.get("/").content.decode()
    assert '<p class="meta">↻ <a href="/u/bob/">Bob</a> reposted</p>' in html
    assert ">Carol &lt;3</a>" in html
    assert f'<form method="post" action="/p/{root.pk}/like/"' in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    cards = html.count('<article class="post"')
    assert cards and html.count(f'value="{token}"') == 2 + 3 * cards, "sign-out, compose, cards"

    like_create(user=user, post=root)
    other.display_name = "Robert"
    other.save()
    html = web.get("/").content.decode()
    assert ">Robert</a> reposted</p>" in html and ">Bob</a>" not in html
    liked = html[html.index(f'action="/p/{root.pk}/like/"') :]
    assert liked.index('aria-pressed="true">Like</button> <span class="n">1</span>') < 400
    assert f'value="{token}"' not in html, "each page its own masked CSRF token"


def test_like_repost_bookmark_as_plain_forms_and_htmx(web, user, other):
    post, _ = post_create(author=other, text="like me")
    response = web.post(f"/p/{post.pk}/like/", HTTP_REFERER="http://testserver/")
    assert response.status_code == 302 and response["Location"] == "http://testserver/"
    assert Like.objects.filter(user=user, post=post).exists()
    html = web.post(f"/p/{post.pk}/like/", {"undo": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert not Like.objects.filter(user=user, post=post).exists()
    assert 'aria-pressed="false">Like</button>' in html
    html = web.post(f"/p/{post.pk}/bookmark/", HTTP_HX_REQUEST="true").content.decode()
    assert Bookmark.objects.filter(user=user, post=post).exists()
    assert 'aria-pressed="true">Bookmark</button>' in html
    web.post(f"/p/{post.pk}/repost/")
    assert Post.objects.filter(author=user, repost_of=post).exists()
    assert "like me" in web.get("/bookmarks/").content.decode()


def test_reply_on_the_post_page(web, user, other):
    parent, _ = post_create(author=other, text="the root")
    response = web.post(f"/p/{parent.pk}/", {"text": "my reply", "idempotency_key": "r1"})
    assert response.status_code == 302
    reply = Post.objects.get(reply_to=parent)
    html = web.get(f"/p/{reply.pk}/").content.decode()
    assert html.index("the root") < html.index("my reply")
    assert ">Reply</button>" in html


def test_profile_follow_unfollow_block_mute(web, user, other):
    html = web.get("/u/bob/").content.decode()
    assert ">Follow</button>" in html and ">Block</button>" in html and ">Mute</button>" in html
    html = web.post("/u/bob/do/follow/", HTTP_HX_REQUEST="true").content.decode()
    assert ">Unfollow</button>" in html and "<strong>1</strong> follower<" in html
    assert Notification.objects.filter(recipient=other, type="follow.created").exists()
    web.post("/u/bob/do/follow/", {"undo": "1"})
    assert ">Follow</button>" in web.get("/u/bob/").content.decode()
    web.post("/u/bob/do/mute/")
    assert ">Unmute</button>" in web.get("/u/bob/").content.decode()
    web.post("/u/bob/do/block/")
    assert ">Unblock</button>" in web.get("/u/bob/").content.decode()
    response = web.post("/u/bob/do/follow/", HTTP_HX_REQUEST="true")
    assert "You cannot follow this account." in response.content.decode()


def test_block_with_htmx_reloads_the_page_whose_lists_it_changes(web, user, other):
    from follows.models import Block

    post_create(author=other, text="posted by bob")
    for undo in ("", "1"):
        response = web.post("/u/bob/do/block/", {"undo": undo}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and response["HX-Refresh"] == "true"
        assert Block.objects.filter(blocker=user, blocked=other).exists() is not bool(undo)
        html = web.get("/u/bob/").content.decode()
        assert ("posted by bob" in html) is bool(undo)
    # An error is still shown in the head, in place.
    response = web.post("/u/alice/do/block/", HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in response
    assert "You cannot block yourself." in response.content.decode()


def test_mute_for_a_chosen_time(web, user, other):
    from datetime import timedelta

    from django.utils import timezone

    from follows.models import Mute

    html = web.get("/u/bob/").content.decode()
    assert '<label for="id_duration">Mute for</label>' in html
    assert '<option value="" selected>Until I unmute</option>' in html
    assert '<option value="86400">1 day</option>' in html
    html = web.post("/u/bob/do/mute/", {"duration": "86400"}, HTTP_HX_REQUEST="true")
    html = html.content.decode()
    mute = Mute.objects.get(muter=user, muted=other)
    assert abs(mute.expires_at - (timezone.now() + timedelta(days=1))) < timedelta(minutes=1)
    assert ">Unmute</button>" in html and "Muted until" in html
    web.post("/u/bob/do/mute/", {"undo": "1"})
    web.post("/u/bob/do/mute/", {"duration": ""})
    assert Mute.objects.get(muter=user, muted=other).expires_at is None
    assert "Muted until" not in web.get("/u/bob/").content.decode()
    # A duration no form offers is a 400 that says why, with or without htmx.
    web.post("/u/bob/do/mute/", {"undo": "1"})
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = web.post("/u/bob/do/mute/", {"duration": "-5"}, **headers)
        assert response.status_code == 400
        assert "Choose how long to mute for from the list." in response.content.decode()
    assert not Mute.objects.filter(muter=user, muted=other).exists()


def test_followers_list_and_report(web, user, other):
    follow_create(follower=other, followee=user)
    assert "@bob" in web.get("/u/alice/followers/").content.decode()
    response = web.post("/report/", {"user": "bob", "reason": "spam", "comment": ""}, follow=True)
    assert "An admin will look at your report" in response.content.decode()


def test_search_finds_posts_by_tag_and_people_by_name(web, user, other):
    post_create(author=other, text="about #python today")
    post_create(author=other, text="something else")
    html = web.get("/search/", {"q": "#python"}).content.decode()
    assert "about" in html and "something else" not in html
    html = web.get("/search/", {"q": "Bob"}).content.decode()
    assert 'href="/u/bob/"' in html
    assert '<label for="id_q" class="visually-hidden">Search</label>' in html


@pytest.mark.django_db(transaction=True)
def test_notifications_grouped_with_unread_badge_and_mark_read(web, user, other):
    from posts.services import like_create

    post, _ = post_create(author=user, text="mine")
    for name in ("c1", "c2", "c3", "c4"):
        like_create(user=make_user(name), post=post)
    follow_create(follower=other, followee=user)
    html = web.get("/notifications/").content.decode()
    assert 'aria-label="5 unread"' in html
    assert "and 1 other" in html and "liked your post" in html and "followed you" in html
    web.post("/notifications/read/")
    html = web.get("/").content.decode()
    assert 'id="unread" aria-label="0 unread" hidden' in html


@pytest.mark.django_db(transaction=True)
def test_notification_groups_have_unique_ids_and_no_stray_marks(web, user, other):
    from posts.services import like_create, repost_create

    post, _ = post_create(author=user, text="liked and reposted")
    like_create(user=other, post=post)
    repost_create(user=other, post=post)
    html = web.get("/notifications/").content.decode()
    assert html.count("liked and reposted") == 2, "the post is in two groups"
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert "•" not in html
    assert html.count('<span class="visually-hidden">Unread: </span>') == 2
    # Like from the second group's card: its controls come back with the id they replace.
    target = re.findall(r'<div class="actions" id="(n\d+-actions-\d+)"', html)[1]
    response = web.post(
        f"/p/{post.pk}/like/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET=target
    ).content.decode()
    assert f'<div class="actions" id="{target}">' in response
    assert 'hx-target="closest .actions"' in response
    response = web.post(f"/p/{post.pk}/like/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET='x"y')
    assert f'id="actions-{post.pk}"' in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_unread_badge_follows_the_inbox_rules(web, user):
    """The navigation's one fixed query counts what the inbox shows: nothing from a
    suspended account or across a block, either way."""
    from follows.services import block_create
    from notifications.selectors import inbox, unread_count
    from web.selectors import nav_state

    fans = [make_user(f"fan{n}") for n in range(4)]
    for fan in fans:
        follow_create(follower=fan, followee=user)
    assert nav_state(user=user)["unread"] == 4
    block_create(blocker=user, blocked=fans[0])
    block_create(blocker=fans[1], blocked=user)
    fans[2].is_active = False
    fans[2].save(update_fields=["is_active"])
    state = nav_state(user=user)
    assert state["unread"] == unread_count(user=user) == 1
    assert state["latest"] == inbox(user).latest("id").id
    assert 'aria-label="1 unread"' in web.get("/").content.decode()


def test_session_and_account_are_one_query_and_end_at_once(user, other):
    """A signed-in page reads its session row and its account in one statement; signing
    out, a suspension or a deleted account ends the session from the next request on."""
    browsers = {}
    for name in ("out", "suspended", "deleted", "password"):
        account = user if name in ("out", "password") else make_user(f"u-{name}")
        browsers[name] = (Client(), account)
        browsers[name][0].force_login(account)
    web = browsers["out"][0]
    with CaptureQueriesContext(connection) as queries:
        assert web.get("/search/").status_code == 200
    sessions = [q["sql"] for q in queries if "websession" in q["sql"]]
    assert len(sessions) == 1 and "accounts_user" in sessions[0]
    assert not [q for q in queries if q["sql"].lstrip().startswith('SELECT "accounts_user"')]
    web.post("/signout/")
    assert web.get("/search/").status_code == 302
    client, account = browsers["suspended"]
    account.is_active = False
    account.save(update_fields=["is_active"])
    assert client.get("/search/").status_code == 302
    client, account = browsers["deleted"]
    account.delete()
    assert client.get("/search/").status_code == 302
    client, account = browsers["password"]
    account.set_password("an0ther-pa55word")
    account.save(update_fields=["password"])
    assert client.get("/search/").status_code == 302


def test_settings_profile_picture_and_delete(web, user):
    form = {"username": "alice", "email": "", "display_name": "Alice A.", "bio": "hello"}
    response = web.post("/settings/", form, follow=True)
    assert "Your profile was saved." in response.content.decode()
    user.refresh_from_db()
    assert user.display_name == "Alice A." and user.bio == "hello"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "PNG")
    buffer.name = "me.png"
    buffer.seek(0)
    web.post("/settings/picture/", {"avatar": buffer})
    user.refresh_from_db()
    assert user.avatar.name
    html = web.post("/settings/picture/", {"avatar": io.BytesIO(b"nope")}).content.decode()
    assert 'id="id_avatar_error" role="alert"' in html
    html = web.post("/settings/delete/", {"password": "wrong", "confirm": "on"}).content.decode()
    assert "The password is not right." in html
    response = web.post("/settings/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()


def test_password_change_keeps_this_session(web, user):
    response = web.post(
        "/settings/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "n3w-pa55-w0rd!",
            "new_password2": "n3w-pa55-w0rd!",
        },
    )
    assert response.status_code == 302
    assert web.get("/").status_code == 200
    user.refresh_from_db()
    assert user.check_password("n3w-pa55-w0rd!")


def test_load_more_uses_the_api_cursor(web, user):
    for n in range(25):
        post_create(author=user, text=f"post number {n}")
    html = web.get("/").content.decode()
    cursor = re.search(r'href="\?cursor=([^"]+)"', html).group(1)
    assert "post number 24" in html and "post number 4" not in html
    more = web.get(f"/?cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()
    assert "post number 4" in more and "<html" not in more
    assert web.get("/?cursor=garbage").status_code == 404


def test_new_posts_partial_for_the_live_banner(web, user):
    first, _ = post_create(author=user, text="older")
    post_create(author=user, text="newer")
    html = web.get(f"/?after={first.pk}", HTTP_HX_REQUEST="true").content.decode()
    assert "newer" in html and "older" not in html


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/u/bob/",
        "/u/alice/likes/",
        "/bookmarks/",
        "/search/?q=hello",
        "/search/?author=bob&from=2000-01-01",
        "/notifications/",
    ],
)
def test_query_count_does_not_grow_with_posts(web, user, other, path):
    follow_create(follower=user, followee=other)

    def add_posts(n):
        from posts.services import bookmark_create, like_create

        for _ in range(n):
            post, _ = post_create(author=other, text="hello @alice #tag")
            like_create(user=user, post=post)
            bookmark_create(user=user, post=post)

    add_posts(1)
    one = _queries(web, path)
    add_posts(99)
    assert _queries(web, path) == one


def test_thread_query_count_does_not_grow_with_replies(web, user, other):
    from posts.services import like_create

    root, _ = post_create(author=other, text="a question for @alice")
    parent = root
    for _ in range(3):
        parent, _ = post_create(author=other, text="and one more", reply_to_id=parent.pk)

    def add_replies(n):
        for _ in range(n):
            reply, _ = post_create(author=other, text="an answer #tag", reply_to_id=parent.pk)
            like_create(user=user, post=reply)

    add_replies(1)
    one = _queries(web, f"/p/{parent.pk}/")
    add_replies(99)
    assert _queries(web, f"/p/{parent.pk}/") == one


def test_home_page_weight_is_under_50_kb_compressed(web, user, other):
    follow_create(follower=user, followee=other)
    for n in range(20):
        post_create(author=other, text=f"post {n} with some words and a #tag for @alice")
    html = web.get("/").content
    assets = [finders.find("web/app.css"), finders.find("web/live.js")]
    htmx = re.search(rb'src="/static/(django_htmx/[^"]+)"', html)
    assert htmx, "htmx is served from the package's static files"
    assets.append(finders.find(htmx.group(1).decode()))
    total = len(gzip.compress(html)) + sum(
        len(gzip.compress(Path(path).read_bytes())) for path in assets
    )
    assert total < 50_000, total


def _luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(one: str, two: str) -> float:
    high, low = sorted((_luminance(one), _luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_pass_wcag_aa_contrast():
    css = Path(finders.find("web/app.css")).read_text()
    names = dict(re.findall(r"--([\w-]+):(#[0-9a-fA-F]+)", css))

    def colour(value: str) -> str | None:
        value = re.sub(r"var\(--([\w-]+)\)", lambda m: names[m.group(1)], value.strip())
        if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
            value = "#" + "".join(c * 2 for c in value[1:])
        return value.lower() if re.fullmatch(r"#[0-9a-fA-F]{6}", value) else None

    names = {name: colour(value) for name, value in names.items()}

    checked = 0
    for rule in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {
            name.strip(): value
            for name, _, value in (part.partition(":") for part in rule[1].split(";"))
            if value and not name.strip().startswith("--")
        }
        text = colour(declarations.get("color", ""))
        if text is None:
            continue
        background = colour(declarations.get("background", ""))
        # Text without a background of its own sits on the page or on a card.
        for behind in [background] if background else [names["bg"], names["card"]]:
            ratio = _contrast(text, behind)
            assert ratio >= 4.5, f"{rule[0].strip()}: {text} on {behind} is {ratio:.2f}:1"
            checked += 1
    assert checked > 20


def test_service_links_admin_links_for_admins_only_and_a_favicon(web, user):
    from accounts.models import Role

    html = web.get("/").content.decode()
    assert '<a href="/docs">API docs</a>' in html
    assert "Report queue" not in html and 'href="/admin/"' not in html
    admin = make_user("root", role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    html = client.get("/").content.decode()
    assert '<a href="/admin/">Admin</a>' in html
    assert '<a href="/admin/moderation/report/?status__exact=open">Report queue</a>' in html
    assert client.get("/admin/moderation/report/?status__exact=open").status_code == 200
    favicon = web.get("/favicon.ico")
    assert favicon.status_code == 301 and favicon["Location"].endswith(".svg")


def test_a_pages_server_error_is_the_styled_page():
    from common.views import server_error

    request = Client().get("/").wsgi_request
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in html and "web/app" in html


def test_error_pages_html_for_pages_json_for_api(web):
    response = web.get("/no/such/page/")
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in response.content.decode()
    response = web.get("/api/no/such/thing/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_an_unknown_action_is_not_found(web, user, other):
    post, _ = post_create(author=other, text="act on me")
    assert web.post(f"/p/{post.pk}/frobnicate/").status_code == 404
    assert web.post("/u/bob/do/frobnicate/").status_code == 404


def _delete_buttons(html: str) -> list[str]:
    return re.findall(r'<form method="post" action="(/p/\d+/delete/)"', html)


def test_delete_shows_on_own_posts_and_for_admins_only(web, user, other):
    from accounts.models import Role

    follow_create(follower=user, followee=other)
    mine, _ = post_create(author=user, text="mine")
    theirs, _ = post_create(author=other, text="theirs")
    html = web.get("/").content.decode()
    assert _delete_buttons(html) == [f"/p/{mine.pk}/delete/"]
    assert 'hx-confirm="Delete this post? This cannot be undone."' in html
    assert _delete_buttons(web.get(f"/p/{theirs.pk}/").content.decode()) == []
    assert _delete_buttons(web.get(f"/p/{mine.pk}/").content.decode()) == [f"/p/{mine.pk}/delete/"]
    # The controls an htmx like swaps in keep it.
    html = web.post(f"/p/{mine.pk}/like/", HTTP_HX_REQUEST="true").content.decode()
    assert _delete_buttons(html) == [f"/p/{mine.pk}/delete/"]
    admin = Client()
    admin.force_login(make_user("root", role=Role.ADMIN))
    assert _delete_buttons(admin.get(f"/p/{theirs.pk}/").content.decode()) == [
        f"/p/{theirs.pk}/delete/"
    ]


def test_delete_without_javascript_asks_first_then_goes_back(web, user, other):
    post, _ = post_create(author=user, text="regrettable")
    reply, _ = post_create(author=other, text="a reply stays", reply_to_id=post.pk)
    # The card's button, without JavaScript: a page that asks, and nothing deleted yet.
    response = web.post(f"/p/{post.pk}/delete/", HTTP_REFERER="http://testserver/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Delete this post?</h1>" in html and "<blockquote>regrettable</blockquote>" in html
    assert '<input type="hidden" name="next" value="http://testserver/">' in html
    assert ">Delete post</button>" in html
    assert '<a class="button" href="http://testserver/">Cancel</a>' in html
    assert Post.objects.filter(pk=post.pk).exists()
    response = web.post(
        f"/p/{post.pk}/delete/", {"confirm": "1", "next": "http://testserver/"}, follow=True
    )
    assert response.redirect_chain == [("http://testserver/", 302)]
    assert "Your post was deleted." in response.content.decode()
    assert not Post.objects.filter(pk=post.pk).exists()
    assert Post.objects.get(pk=reply.pk).reply_to_id == post.pk
    user.refresh_from_db()
    assert user.posts_count == 0


def test_deleting_from_the_posts_own_page_lands_on_the_profile(web, user):
    post, _ = post_create(author=user, text="on its page")
    page = web.get(f"/p/{post.pk}/delete/", HTTP_REFERER=f"http://testserver/p/{post.pk}/")
    assert f'name="next" value="http://testserver/p/{post.pk}/"' in page.content.decode()
    response = web.post(
        f"/p/{post.pk}/delete/", {"confirm": "1", "next": f"http://testserver/p/{post.pk}/"}
    )
    assert response.status_code == 302 and response["Location"] == "/u/alice/"
    assert not Post.objects.filter(pk=post.pk).exists()
    # Another site's address is never where it goes.
    post, _ = post_create(author=user, text="again")
    response = web.post(f"/p/{post.pk}/delete/", {"confirm": "1", "next": "https://evil.test/"})
    assert response["Location"] == "/u/alice/"


def test_delete_with_htmx_replaces_the_card_or_leaves_the_posts_page(web, user):
    first, _ = post_create(author=user, text="first")
    second, _ = post_create(author=user, text="second")
    response = web.post(
        f"/p/{first.pk}/delete/",
        {"confirm": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/",
    )
    assert response.status_code == 200
    assert response.content.decode().strip() == (
        '<p class="meta" role="status">Your post was deleted.</p>'
    )
    assert not Post.objects.filter(pk=first.pk).exists()
    response = web.post(
        f"/p/{second.pk}/delete/",
        {"confirm": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/p/{second.pk}/",
    )
    assert response["HX-Redirect"] == "/u/alice/"
    assert "Your post was deleted." in web.get("/u/alice/").content.decode()
    assert not Post.objects.exists()


def test_only_the_author_or_an_admin_may_delete_and_others_are_told_why(web, user, other):
    from accounts.models import Role

    post, _ = post_create(author=other, text="not yours")
    refused = "Only the author or an admin may delete this post."
    response = web.get(f"/p/{post.pk}/delete/")
    assert response.status_code == 403 and refused in response.content.decode()
    assert ">Delete post</button>" not in response.content.decode()
    response = web.post(f"/p/{post.pk}/delete/", {"confirm": "1"})
    assert response.status_code == 403 and refused in response.content.decode()
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "n7-post-1"}
    html = web.post(f"/p/{post.pk}/delete/", {"confirm": "1"}, **headers).content.decode()
    assert f'id="n7-post-{post.pk}"' in html
    assert f'<span class="error" role="alert">{refused}' in html
    assert Post.objects.filter(pk=post.pk).exists()
    assert web.post("/p/999999/delete/", {"confirm": "1"}).status_code == 404
    admin = Client()
    admin.force_login(make_user("root", role=Role.ADMIN))
    response = admin.post(f"/p/{post.pk}/delete/", {"confirm": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == "/u/bob/"
    assert "The post was deleted." in response.content.decode()
    assert not Post.objects.filter(pk=post.pk).exists()


def test_a_posts_page_links_its_counts_to_who_liked_and_reposted(web, user, other):
    from posts.services import like_create, repost_create

    post, _ = post_create(author=other, text="popular")
    like_create(user=user, post=post)
    for name in ("c1", "c2"):
        repost_create(user=make_user(name), post=post)
    html = web.get(f"/p/{post.pk}/").content.decode()
    assert f'<a class="n" href="/p/{post.pk}/likes/">1 like</a>' in html
    assert f'<a class="n" href="/p/{post.pk}/reposts/">2 reposts</a>' in html
    # Each of its three toggles asks for its answer so.
    assert html.count('<input type="hidden" name="detail" value="1">') == 3
    # Cards elsewhere keep plain counts.
    assert f'href="/p/{post.pk}/likes/"' not in web.get("/u/bob/").content.decode()
    # Liking there with htmx keeps the links, with the new count.
    html = web.post(
        f"/p/{post.pk}/like/", {"undo": "1", "detail": "1"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'<a class="n" href="/p/{post.pk}/likes/">0 likes</a>' in html
    assert '<input type="hidden" name="detail" value="1">' in html
    html = web.post(
        f"/p/{post.pk}/bookmark/", {"detail": "1"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'<a class="n" href="/p/{post.pk}/reposts/">2 reposts</a>' in html
    html = web.post(f"/p/{post.pk}/bookmark/", HTTP_HX_REQUEST="true").content.decode()
    assert f'href="/p/{post.pk}/reposts/"' not in html, "a card elsewhere stays plain"


def test_liked_by_and_reposted_by_pages_page_with_the_api_cursors(web, user, other):
    from follows.services import block_create
    from posts.services import like_create, repost_create

    post, _ = post_create(author=other, text="liked by many")
    fans = [make_user(f"fan{n:02}") for n in range(25)]
    for fan in fans:
        like_create(user=fan, post=post)
    repost_create(user=fans[0], post=post)
    block_create(blocker=user, blocked=fans[24])
    html = web.get(f"/p/{post.pk}/likes/").content.decode()
    assert "<h1>Liked by</h1>" in html and "liked by many" in html
    assert f'href="/p/{post.pk}/likes/" aria-current="page">Liked by</a>' in html
    assert "@fan24" not in html, "hidden across a block"
    assert "@fan23" in html and "@fan04" in html and "@fan03" not in html
    cursor = re.search(r'href="\?cursor=([^"]+)"', html).group(1)
    more = web.get(f"/p/{post.pk}/likes/?cursor={cursor}", HTTP_HX_REQUEST="true")
    more = more.content.decode()
    assert "@fan03" in more and "@fan00" in more and "@fan04" not in more
    assert "<html" not in more and "Load more" not in more
    # The same cursor as the API's next page.
    from urllib.parse import parse_qs, unquote, urlsplit

    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    following = api.get(f"/api/posts/{post.pk}/likes/").json()["next"]
    assert parse_qs(urlsplit(following).query)["cursor"] == [unquote(cursor)]
    html = web.get(f"/p/{post.pk}/reposts/").content.decode()
    assert "<h1>Reposted by</h1>" in html and "@fan00" in html and "@fan01" not in html
    # A repost's page shows who liked its original.
    repost = Post.objects.get(repost_of=post)
    assert "@fan23" in web.get(f"/p/{repost.pk}/likes/").content.decode()
    empty, _ = post_create(author=other, text="nobody")
    assert "Nobody yet." in web.get(f"/p/{empty.pk}/reposts/").content.decode()
    assert web.get("/p/999999/likes/").status_code == 404


def test_liked_by_query_count_does_not_grow_with_people(web, user, other):
    from posts.services import like_create, repost_create

    post, _ = post_create(author=other, text="count me")

    def add(n, start):
        for i in range(start, start + n):
            fan = make_user(f"f{i}")
            like_create(user=fan, post=post)
            repost_create(user=fan, post=post)

    add(1, 0)
    one = [_queries(web, f"/p/{post.pk}/{which}/") for which in ("likes", "reposts")]
    add(29, 1)
    assert [_queries(web, f"/p/{post.pk}/{which}/") for which in ("likes", "reposts")] == one


def test_likes_tab_lists_what_an_account_liked_newest_like_first(web, user, other):
    from posts.services import like_create, like_delete

    posts = [post_create(author=other, text=f"bob says {n}")[0] for n in range(23)]
    for post in reversed(posts):  # the oldest post liked last
        like_create(user=other, post=post)
    like_delete(user=other, post=posts[5])
    post_create(author=other, text="not liked")
    html = web.get("/u/bob/likes/").content.decode()
    assert 'href="/u/bob/likes/" aria-current="page">Likes</a>' in html
    assert '<section aria-label="Likes">' in html
    assert html.index("bob says 0<") < html.index("bob says 1<"), "newest like first"
    assert "not liked" not in html and "bob says 5<" not in html
    assert "bob says 21<" not in html
    cursor = re.search(r'href="\?cursor=([^"]+)"', html).group(1)
    more = web.get(f"/u/bob/likes/?cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()
    assert "bob says 21<" in more and "bob says 22<" in more and "bob says 0<" not in more
    # The viewer's own likes show on the cards, as everywhere.
    like_create(user=user, post=posts[0])
    html = web.get("/u/bob/likes/").content.decode()
    assert html.count('aria-pressed="true">Like</button>') == 1
    make_user("carol")
    assert "No likes yet." in web.get("/u/carol/likes/").content.decode()
    assert web.get("/u/nobody/likes/").status_code == 404


def test_search_page_shows_trending_tags_linking_to_their_posts(web, user, other):
    from django.core.cache import cache

    cache.clear()
    html = web.get("/search/").content.decode()
    assert '<h2 id="h-trending">Trending</h2>' in html
    assert "No tags in the last 24 hours." in html
    cache.clear()
    for _ in range(3):
        post_create(author=other, text="more #Django")
    post_create(author=other, text="#python by bob")
    post_create(author=user, text="#python by alice")
    html = web.get("/search/").content.decode()
    python = '<a href="/search/?q=%23python">#python</a> <span class="meta">2 posts by 2 people'
    django = '<a href="/search/?q=%23django">#django</a> <span class="meta">3 posts by 1 person'
    assert python in html and django in html
    assert html.index(python) < html.index(django), "ranked by how many accounts used it"
    html = web.get("/search/", {"q": "#django"}).content.decode()
    assert html.count(">more <a") == 3 and "python</a> by" not in html
    assert "Trending" not in html


def test_settings_lists_blocks_and_mutes_with_unblock_and_unmute(web, user, other):
    from datetime import timedelta

    from follows.models import Block, Mute
    from follows.services import block_create, mute_create

    html = web.get("/settings/").content.decode()
    assert '<a href="/settings/blocked/">Accounts you block</a>' in html
    assert '<a href="/settings/muted/">Accounts you mute</a>' in html
    assert "You block nobody." in web.get("/settings/blocked/").content.decode()
    assert "You mute nobody." in web.get("/settings/muted/").content.decode()
    carol, dave = make_user("carol"), make_user("dave")
    block_create(blocker=user, blocked=other)
    block_create(blocker=user, blocked=carol)
    # Carol blocks Alice too: her profile is a 404 to Alice, but Alice can still unblock.
    block_create(blocker=carol, blocked=user)
    mute = mute_create(muter=user, muted=dave, duration=timedelta(days=1))[0]
    mute_create(muter=user, muted=other)
    block_create(blocker=other, blocked=dave)
    html = web.get("/settings/blocked/").content.decode()
    assert "<h1>Blocked accounts</h1>" in html
    assert html.index("@carol") < html.index("@bob"), "newest block first"
    assert "@dave" not in html
    assert '<input type="hidden" name="username" value="carol">' in html
    assert 'Unblock<span class="visually-hidden"> @carol</span></button>' in html
    html = web.get("/settings/muted/").content.decode()
    assert html.index("@bob") < html.index("@dave")
    ends = f"{mute.expires_at:%Y-%m-%d %H:%M} UTC"
    assert f'Muted until <time datetime="{mute.expires_at.isoformat()}">{ends}</time>' in html
    assert "Muted until you unmute" in html
    # Without JavaScript: a plain form, back to the list with a word of what it did.
    assert web.get("/u/carol/").status_code == 404
    response = web.post(
        "/settings/blocked/",
        {"username": "carol"},
        HTTP_REFERER="http://testserver/settings/blocked/",
        follow=True,
    )
    assert response.redirect_chain == [("http://testserver/settings/blocked/", 302)]
    html = response.content.decode()
    assert "You unblocked @carol." in html and 'value="carol"' not in html
    assert not Block.objects.filter(blocker=user, blocked=carol).exists()
    assert Block.objects.filter(blocker=carol, blocked=user).exists(), "hers stays"
    # With htmx: the row becomes a line that says so.
    response = web.post("/settings/muted/", {"username": "dave"}, HTTP_HX_REQUEST="true")
    assert response.content.decode().strip() == (
        '<p class="meta" role="status">You unmuted @dave.</p>'
    )
    assert list(Mute.objects.filter(muter=user).values_list("muted__username", flat=True)) == [
        "bob"
    ]
    assert web.post("/settings/blocked/", {"username": "nobody"}).status_code == 404


def test_block_and_mute_lists_page_with_a_constant_query_count(web, user):
    from follows.services import block_create, mute_create

    def add(n, start):
        for i in range(start, start + n):
            account = make_user(f"x{i:02}")
            block_create(blocker=user, blocked=account)
            mute_create(muter=user, muted=account)

    add(1, 0)
    one = [_queries(web, path) for path in ("/settings/blocked/", "/settings/muted/")]
    add(24, 1)
    assert [_queries(web, path) for path in ("/settings/blocked/", "/settings/muted/")] == one
    html = web.get("/settings/blocked/").content.decode()
    assert "@x24" in html and "@x05" in html and "@x04" not in html
    cursor = re.search(r'href="\?cursor=([^"]+)"', html).group(1)
    more = web.get(f"/settings/blocked/?cursor={cursor}", HTTP_HX_REQUEST="true")
    more = more.content.decode()
    assert "@x04" in more and "@x00" in more and "<html" not in more
    assert 'Unblock<span class="visually-hidden"> @x00</span>' in more
    assert 'action="/settings/blocked/"' in more


def test_settings_change_username_and_email_with_the_apis_rules(web, user, other):
    from rest_framework.test import APIClient

    html = web.get("/settings/").content.decode()
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_email">Email</label>' in html
    assert 'name="username" value="alice"' in html
    api = APIClient()
    api.force_authenticate(user)
    form = {"username": "alice", "email": "", "display_name": "", "bio": ""}
    for field, value in [
        ("username", "BOB"),
        ("username", "admin"),
        ("username", "al ice"),
        ("username", ""),
        ("email", "not an address"),
    ]:
        response = web.post("/settings/", {**form, field: value})
        html = response.content.decode()
        assert response.status_code == 200 and "Your profile was saved." not in html
        message = re.search(rf'id="id_{field}_error" role="alert">([^<]+)<', html).group(1)
        if value:
            # The API says the same of the same input.
            answer = api.patch("/api/users/me/", {field: value}, format="json").json()
            assert [message.replace("&#x27;", "'")] == answer[field], (value, answer)
        else:
            assert message == "This field is required."
    user.refresh_from_db()
    assert (user.username, user.email) == ("alice", "")
    # Its own name in another case is fine; the email's domain is lower-cased, as the API's.
    form.update(username="Alice", email="Alice@EXAMPLE.com", display_name="Al")
    response = web.post("/settings/", form, follow=True)
    assert "Your profile was saved." in response.content.decode()
    user.refresh_from_db()
    assert (user.username, user.email, user.display_name) == ("Alice", "Alice@example.com", "Al")
    form["username"] = "alice2"
    web.post("/settings/", form)
    assert web.get("/u/alice2/").status_code == 200
    assert web.get("/u/Alice/").status_code == 404


def test_search_filters_by_account_and_dates_as_the_api_does(web, user, other):
    from datetime import UTC, datetime

    def post_at(author, text, day):
        post, _ = post_create(author=author, text=text)
        Post.objects.filter(pk=post.pk).update(created_at=datetime(2026, 11, day, 12, tzinfo=UTC))

    for day in range(1, 26):
        post_at(other, f"bob on day {day} about tea", day)
    post_at(user, "alice on day 10 about tea", 10)
    html = web.get("/search/").content.decode()
    assert '<label for="id_author">By (username)</label>' in html
    assert '<label for="id_from">From date</label>' in html
    assert "<details>" in html, "closed until used"
    html = web.get("/search/", {"author": "BOB", "to": "2026-11-10"}).content.decode()
    assert "<details open>" in html and 'name="author" id="id_author" value="BOB"' in html
    assert "bob on day 10 about tea" in html and "bob on day 11 " not in html
    assert "alice on day" not in html and "Load more" not in html
    html = web.get("/search/", {"q": "tea", "from": "2026-11-05"}).content.decode()
    # 22 posts match: the newest 20 (by id, as the API pages them) first.
    assert "bob on day 25 " in html and "bob on day 7 " in html and "bob on day 6 " not in html
    assert "alice on day 10" in html
    # Load more keeps the filters, with the API's cursor.
    assert re.search(r'href="\?q=tea&amp;from=2026-11-05&amp;cursor=[^"]+"', html)
    cursor = re.search(r'cursor=([^"]+)"', html).group(1)
    more = web.get(
        f"/search/?q=tea&from=2026-11-05&cursor={cursor}", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "bob on day 6 " in more and "bob on day 5 " in more and "bob on day 4 " not in more
    assert "<html" not in more and "Load more" not in more
    # Errors as the API words them, next to their fields, and nothing searched.
    html = web.get("/search/", {"from": "2026-11-20", "to": "2026-11-10"}).content.decode()
    assert '<span class="error" id="id_from_error" role="alert">' in html
    assert "must not be after" in html and "bob on day" not in html
    html = web.get("/search/", {"to": "yesterday"}).content.decode()
    assert re.search(r'id="id_to_error" role="alert">Datetime has wrong format', html)
    response = web.get("/search/", {"author": "nobody"})
    assert response.status_code == 200 and "No posts match." in response.content.decode()
