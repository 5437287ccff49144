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
    response = web.post("/settings/", {"display_name": "Alice A.", "bio": "hello"}, follow=True)
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
    "path", ["/", "/u/bob/", "/bookmarks/", "/search/?q=hello", "/notifications/"]
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
