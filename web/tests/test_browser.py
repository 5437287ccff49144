"""The web client in a real browser (Chromium through Playwright) against a live server
(embedded, and for the main paths production's processes on PostgreSQL and RabbitMQ too):
what a new user does, live updates between two people, keyboard use, a phone's width, and
no console error or failed request on any page. Screenshots for the README are made here."""

import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from PIL import Image
from playwright.sync_api import Page, expect

from common.testing import PASSWORD, make_user
from notifications.tests.e2e import ROOT
from web.tests.conftest import BOTH_MODES, SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(autouse=True)
def _server_password_hashing(settings):
    # Accounts made here sign in on the server, which hashes as in production.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


def in_thread(function, *args, **kwargs):
    """Run a service beside Playwright's event loop: its after-commit fan-out (the test's
    embedded transport, run eagerly) cannot run in the loop's thread."""

    def call():
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


class Watch:
    """Console errors, failed requests and requests to another origin seen by a page."""

    def __init__(self, page: Page, origin: str):
        self.problems: list[str] = []
        page.on(
            "console",
            lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"),
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # A request the browser cancels itself (ERR_ABORTED: the page navigated away while
        # its favicon or a stylesheet was still loading) did not fail; a server's failure
        # shows as a status (below) or a network error (refused, reset, empty response).
        page.on(
            "requestfailed",
            lambda r: (
                r.failure != "net::ERR_ABORTED"
                and self.problems.append(f"failed: {r.url} {r.failure}")
            ),
        )
        page.on(
            "response",
            lambda r: r.status >= 400 and self.problems.append(f"{r.status}: {r.url}"),
        )
        page.on(
            "request",
            lambda r: (
                not r.url.startswith((origin, "data:"))
                and self.problems.append(f"other origin: {r.url}")
            ),
        )

    def check(self) -> None:
        assert self.problems == []


def new_page(browser, server, viewport=DESKTOP, *, javascript=True) -> tuple[Page, Watch]:
    context = browser.new_context(
        viewport=viewport, base_url=server.url, java_script_enabled=javascript
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    return page, Watch(page, server.url)


def sign_in(page: Page, username: str) -> None:
    page.goto("/signin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Post", exact=True)).to_be_visible()


def submit(page: Page, button, path: str, *, javascript: bool = True) -> None:
    """Click a form's button and check how the form went: with JavaScript, an htmx request
    answered with the partial it swaps in; without, a plain form post that redirects back
    (every action works without JavaScript)."""
    with page.expect_response(lambda r: r.request.method == "POST" and path in r.url) as answer:
        button.click()
    response = answer.value
    if javascript:
        assert response.request.headers.get("hx-request") == "true"
        assert response.status == 200
    else:
        assert "hx-request" not in response.request.headers
        assert response.status == 302


def shot(page: Page, name: str) -> None:
    width = page.viewport_size["width"]
    kind = "phone" if width < 600 else "desktop"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{kind}.png", full_page=False)


def no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width} px wide"


@pytest.mark.parametrize(*BOTH_MODES, indirect=True)
def test_sign_up_post_and_see_it(browser, server):
    page, watch = new_page(browser, server)
    page.goto("/")
    expect(page).to_have_title(re.compile("Warble"))
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    compose = page.get_by_label("What is happening?")
    compose.fill("Hello, #warble! My first post.")
    expect(page.locator("output.count")).to_have_text("250 characters left")
    # A double click posts once: both submits carry the form's idempotency key.
    page.get_by_role("button", name="Post", exact=True).dblclick()
    expect(page.locator("#posts .post")).to_have_count(1)
    expect(page.locator("#posts .post").first).to_contain_text("My first post.")
    expect(compose).to_have_value("")
    page.reload()
    expect(page.locator("#posts .post")).to_have_count(1)
    link = page.get_by_role("link", name="#warble")
    expect(link).to_have_attribute("href", "/search/?q=%23warble")
    watch.check()


@pytest.mark.parametrize(*BOTH_MODES, indirect=True)
def test_following_brings_posts_and_notifications_live(browser, server):
    make_user("alice", display_name="Alice")
    make_user("bob", display_name="Bob")
    alice, alice_watch = new_page(browser, server)
    bob, bob_watch = new_page(browser, server)
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    alice.goto("/u/bob/")
    alice.get_by_role("button", name="Follow", exact=True).click()
    expect(alice.get_by_role("button", name="Unfollow")).to_be_visible()
    # Bob, on his feed, hears of the new follower without a reload.
    expect(bob.locator("#unread")).to_have_text("1")
    alice.goto("/")
    alice.wait_for_function("() => !document.getElementById('offline') || true")
    bob.get_by_label("What is happening?").fill("Live from Bob, hi @alice")
    bob.get_by_role("button", name="Post", exact=True).click()
    expect(bob.locator("#posts .post").first).to_contain_text("Live from Bob")
    banner = alice.get_by_role("button", name="1 new post")
    expect(banner).to_be_visible()
    expect(alice.locator("#unread")).not_to_be_hidden()
    banner.click()
    expect(alice.locator("#posts .post").first).to_contain_text("Live from Bob")
    expect(banner).to_be_hidden()
    # Mentions link to the profile.
    expect(alice.locator("#posts .post").first.get_by_role("link", name="@alice")).to_be_visible()
    alice.get_by_role("link", name=re.compile("^Notifications")).click()
    expect(alice.locator("#groups")).to_contain_text("mentioned you")
    # The notifications page fills in live too.
    bob.goto("/u/alice/")
    bob.get_by_role("button", name="Follow", exact=True).click()
    expect(alice.locator("#groups")).to_contain_text("followed you")
    alice.get_by_role("button", name="Mark all read").click()
    expect(alice.locator("#unread")).to_be_hidden()
    # Bob deletes his post: it leaves Alice's open feed without a reload.
    alice.goto("/")
    card = alice.locator("#posts .post", has_text="Live from Bob")
    expect(card).to_have_count(1)
    bob.goto("/")
    bob.once("dialog", lambda dialog: dialog.accept())
    mine = bob.locator("#posts .post", has_text="Live from Bob")
    mine.get_by_role("button", name="Delete").click()
    expect(mine).to_have_count(0)
    expect(card).to_have_count(0)
    alice_watch.check()
    bob_watch.check()


@pytest.mark.parametrize(*BOTH_MODES, indirect=True)
def test_signing_out_closes_the_live_connection_in_every_tab(browser, server):
    make_user("alice")
    first, watch = new_page(browser, server)
    sign_in(first, "alice")
    second = first.context.new_page()  # another tab of the same browser session
    second.goto("/")
    for page in (first, second):
        expect(page.locator("body")).to_have_attribute("data-socket", "open")
    first.get_by_role("button", name="Sign out").click()
    expect(first.get_by_role("button", name="Sign in")).to_be_visible()
    # The server closed the other tab's socket (4401): it says so and does not reconnect.
    expect(second.locator("body")).to_have_attribute("data-socket", "signed-out")
    expect(second.locator("#offline")).to_have_text("Signed out. Reload the page to sign in again.")
    second.reload()
    expect(second.get_by_role("button", name="Sign in")).to_be_visible()
    watch.check()


def test_reconnects_after_a_restart_and_fills_in_what_it_missed(browser, server):
    make_user("alice")
    bob = make_user("bob")
    page, _ = new_page(browser, server)
    sign_in(page, "alice")
    page.goto("/u/bob/")
    page.get_by_role("button", name="Follow", exact=True).click()
    page.goto("/")
    page.wait_for_timeout(500)
    server.stop()
    expect(page.locator("#offline")).to_be_visible()
    from posts.services import post_create

    # Posted while the page is offline: its notification is in the inbox, and the page
    # replays it (`?since=`) once it is back.
    in_thread(post_create, author=bob, text="while you were away")
    server.start()
    expect(page.locator("#offline")).to_be_hidden(timeout=30_000)
    expect(page.get_by_role("button", name="1 new post")).to_be_visible()
    page.get_by_role("button", name="1 new post").click()
    expect(page.locator("#posts .post").first).to_contain_text("while you were away")


def test_like_repost_bookmark_and_reply(browser, server):
    from posts.services import post_create

    make_user("alice")
    bob = make_user("bob", display_name="Bob")
    post, _ = in_thread(post_create, author=bob, text="Interact with me")
    page, watch = new_page(browser, server)
    sign_in(page, "alice")
    page.goto(f"/p/{post.pk}/")
    actions = page.locator(f"#actions-{post.pk}")
    actions.get_by_role("button", name="Like").click()
    expect(actions.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "true")
    # On the post's own page the count links to who liked it.
    expect(actions.get_by_role("link", name="1 like", exact=True)).to_have_attribute(
        "href", f"/p/{post.pk}/likes/"
    )
    actions.get_by_role("button", name="Repost").click()
    expect(actions.get_by_role("button", name="Repost")).to_have_attribute("aria-pressed", "true")
    actions.get_by_role("button", name="Bookmark").click()
    expect(actions.get_by_role("button", name="Bookmark")).to_have_attribute("aria-pressed", "true")
    expect(actions.get_by_role("link", name="1 repost", exact=True)).to_be_visible()
    page.get_by_label("Your reply").fill("A reply from Alice")
    page.get_by_role("button", name="Reply").click()
    expect(page.locator("#replies")).to_contain_text("A reply from Alice")
    shot(page, "post")
    page.get_by_role("link", name="Bookmarks").click()
    expect(page.locator("main")).to_contain_text("Interact with me")
    watch.check()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_delete_own_posts_after_confirming(browser, server, javascript):
    from posts.models import Post
    from posts.services import post_create

    alice = make_user("alice")
    last, _ = in_thread(post_create, author=alice, text="Last words")
    gone, _ = in_thread(post_create, author=alice, text="Second thoughts")
    page, watch = new_page(browser, server, javascript=javascript)
    sign_in(page, "alice")
    card = page.locator(f"#post-{gone.pk}")
    # Not at the first click: the browser asks (htmx), or a page does (no JavaScript).
    if javascript:
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        card.get_by_role("button", name="Delete").click()
        expect(card).to_be_visible()
        assert asked == ["Delete this post? This cannot be undone."]
        page.once("dialog", lambda dialog: dialog.accept())
        submit(page, card.get_by_role("button", name="Delete"), f"/p/{gone.pk}/delete/")
        expect(page.locator("#posts")).to_contain_text("Your post was deleted.")
        expect(card).to_have_count(0)
    else:
        card.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("heading", name="Delete this post?")).to_be_visible()
        expect(page.locator("blockquote")).to_have_text("Second thoughts")
        page.get_by_role("link", name="Cancel").click()
        expect(card).to_be_visible()
        card.get_by_role("button", name="Delete").click()
        submit(
            page,
            page.get_by_role("button", name="Delete post"),
            f"/p/{gone.pk}/delete/",
            javascript=False,
        )
        expect(page).to_have_url(f"{server.url}/")
        expect(page.locator(".messages")).to_have_text("Your post was deleted.")
        expect(card).to_have_count(0)
    assert not Post.objects.filter(pk=gone.pk).exists()
    expect(page.locator(f"#post-{last.pk}")).to_be_visible()
    # From the post's own page, gone with it, to the profile.
    page.goto(f"/p/{last.pk}/")
    focus = page.locator(f"#post-{last.pk}")
    if javascript:
        page.once("dialog", lambda dialog: dialog.accept())
        focus.get_by_role("button", name="Delete").click()
    else:
        focus.get_by_role("button", name="Delete").click()
        page.get_by_role("button", name="Delete post").click()
    expect(page).to_have_url(f"{server.url}/u/alice/")
    expect(page.locator(".messages")).to_have_text("Your post was deleted.")
    expect(page.get_by_role("region", name="Posts")).to_have_text("No posts yet.")
    assert not Post.objects.filter(author=alice).exists()
    watch.check()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_likes_tab_and_who_liked_a_post(browser, server, javascript):
    from follows.services import follow_create
    from posts.services import post_create

    alice = make_user("alice", display_name="Alice")
    bob = make_user("bob", display_name="Bob")
    in_thread(follow_create, follower=alice, followee=bob)
    post, _ = in_thread(post_create, author=bob, text="Worth a like")
    page, watch = new_page(browser, server, javascript=javascript)
    sign_in(page, "alice")
    page.get_by_role("link", name="Profile").click()
    page.get_by_role("link", name="Likes", exact=True).click()
    expect(page.get_by_role("region", name="Likes")).to_have_text("No likes yet.")
    page.goto("/")
    actions = page.locator(f"#actions-{post.pk}")
    submit(
        page,
        actions.get_by_role("button", name="Like"),
        f"/p/{post.pk}/like/",
        javascript=javascript,
    )
    expect(actions.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("link", name="Profile").click()
    page.get_by_role("link", name="Likes", exact=True).click()
    expect(page).to_have_url(f"{server.url}/u/alice/likes/")
    likes = page.get_by_role("region", name="Likes")
    expect(likes.locator(".post")).to_have_count(1)
    expect(likes).to_contain_text("Worth a like")
    # From the post's page, its count leads to who liked it.
    likes.get_by_role("link", name="just now").click()
    focus = page.locator(".focus")
    link = focus.get_by_role("link", name="1 like", exact=True)
    submit(
        page,
        focus.get_by_role("button", name="Repost"),
        f"/p/{post.pk}/repost/",
        javascript=javascript,
    )
    expect(focus.get_by_role("link", name="1 repost", exact=True)).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", name="Liked by")).to_be_visible()
    people = page.get_by_role("region", name="Liked by")
    expect(people.get_by_role("link", name="Alice")).to_be_visible()
    page.get_by_role("link", name="Reposted by").click()
    expect(
        page.get_by_role("region", name="Reposted by").get_by_role("link", name="Alice")
    ).to_be_visible()
    page.get_by_role("link", name="Post by @bob").click()
    expect(page).to_have_url(f"{server.url}/p/{post.pk}/")
    watch.check()


@pytest.mark.parametrize(*BOTH_MODES, indirect=True)
def test_mute_from_a_profile_keeps_their_posts_out_of_the_feed_and_notifications(browser, server):
    from follows.models import Mute
    from follows.services import follow_create
    from posts.services import post_create

    alice = make_user("alice")
    bob = make_user("bob", display_name="Bob")
    in_thread(follow_create, follower=alice, followee=bob)
    in_thread(post_create, author=bob, text="Bob before the mute")
    page, watch = new_page(browser, server)
    sign_in(page, "alice")
    expect(page.locator("#posts")).to_contain_text("Bob before the mute")
    expect(page.locator("#unread")).to_have_text("1")
    page.goto("/u/bob/")
    head = page.locator("#profile-head")
    head.get_by_label("Mute for").select_option(label="1 day")
    submit(page, head.get_by_role("button", name="Mute", exact=True), "/u/bob/do/mute/")
    expect(head.get_by_role("button", name="Unmute")).to_be_visible()
    mute = Mute.objects.get(muter=alice, muted=bob)
    assert timedelta(days=1) - timedelta(minutes=1) < mute.expires_at - mute.created_at
    assert mute.expires_at - mute.created_at <= timedelta(days=1)
    expect(head.locator(".meta")).to_have_text(f"Muted until {mute.expires_at:%Y-%m-%d %H:%M} UTC")
    # A mute changes nothing else: the follow stays, Bob is not told.
    expect(head.get_by_role("button", name="Unfollow")).to_be_visible()
    # What Bob posted leaves Alice's feed and inbox; what he posts now, mentioning her
    # too, reaches neither (the fan-out, run here at once, skips those who mute him).
    in_thread(post_create, author=bob, text="Bob while muted, hi @alice")
    page.goto("/")
    expect(page.locator("main")).not_to_contain_text("Bob before the mute")
    expect(page.locator("main")).not_to_contain_text("Bob while muted")
    expect(page.locator("#unread")).to_be_hidden()
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    expect(page.locator("#groups")).to_have_text("No notifications yet.")
    # Muting is not blocking: his profile still shows his posts.
    page.goto("/u/bob/")
    expect(page.locator("main")).to_contain_text("Bob while muted")
    submit(page, head.get_by_role("button", name="Unmute"), "/u/bob/do/mute/")
    expect(head.get_by_role("button", name="Mute", exact=True)).to_be_visible()
    expect(head.get_by_label("Mute for")).to_have_value("")
    expect(head).not_to_contain_text("Muted until")
    assert not Mute.objects.filter(muter=alice).exists()
    # Unmuted, Bob's next post reaches Alice live (posted in his browser, through the
    # server's own fan-out); the one from the mute does not come back with it.
    page.goto("/")
    expect(page.locator("body")).to_have_attribute("data-socket", "open")
    bob_page, bob_watch = new_page(browser, server)
    sign_in(bob_page, "bob")
    bob_page.get_by_label("What is happening?").fill("Bob after the unmute, hi @alice")
    bob_page.get_by_role("button", name="Post", exact=True).click()
    expect(bob_page.locator("#posts .post").first).to_contain_text("Bob after the unmute")
    banner = page.get_by_role("button", name="1 new post")
    expect(banner).to_be_visible()
    banner.click()
    expect(page.locator("#posts .post").first).to_contain_text("Bob after the unmute")
    expect(page.locator("#posts .post")).to_have_count(1)
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    expect(page.locator("#groups")).to_contain_text("mentioned you")
    expect(page.locator("#groups")).to_contain_text("Bob after the unmute")
    expect(page.locator("#groups")).not_to_contain_text("Bob while muted")
    watch.check()
    bob_watch.check()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_block_from_a_profile_ends_follows_both_ways_and_hides_their_posts(
    browser, server, javascript
):
    from django.db.models import Q

    from follows.models import Block, Follow
    from follows.services import follow_create
    from posts.services import post_create

    alice = make_user("alice")
    bob = make_user("bob", display_name="Bob")
    in_thread(follow_create, follower=alice, followee=bob)
    in_thread(follow_create, follower=bob, followee=alice)
    post, _ = in_thread(post_create, author=bob, text="Bob on #blocking")
    between = Q(follower=alice, followee=bob) | Q(follower=bob, followee=alice)
    assert Follow.objects.filter(between).count() == 2
    page, watch = new_page(browser, server, javascript=javascript)
    sign_in(page, "alice")
    expect(page.locator("#posts")).to_contain_text("Bob on #blocking")
    page.goto("/u/bob/")
    head = page.locator("#profile-head")
    expect(head.locator(".counts")).to_have_text("1 post · 1 follower · 1 following")
    expect(head.get_by_role("button", name="Unfollow")).to_be_visible()
    submit(
        page, head.get_by_role("button", name="Block"), "/u/bob/do/block/", javascript=javascript
    )
    expect(head.get_by_role("button", name="Unblock")).to_be_visible()
    # The list under the head changes with it, at once.
    posts = page.get_by_role("region", name="Posts")
    expect(posts).to_have_text("You block @bob: their posts are hidden until you unblock them.")
    # The follow is gone both ways, counts with it.
    expect(head.get_by_role("button", name="Follow", exact=True)).to_be_visible()
    expect(head.locator(".counts")).to_have_text("1 post · 0 followers · 0 following")
    assert Block.objects.filter(blocker=alice, blocked=bob).exists()
    assert not Follow.objects.filter(between).exists()
    # Neither can follow the other while the block lasts.
    submit(
        page,
        head.get_by_role("button", name="Follow", exact=True),
        "/u/bob/do/follow/",
        javascript=javascript,
    )
    expect(page.get_by_text("You cannot follow this account.")).to_be_visible()
    assert not Follow.objects.filter(between).exists()
    # His posts leave every view of Alice's: his profile, her feed, search, the post's page.
    page.goto("/")
    expect(page.locator("main")).not_to_contain_text("Bob on #blocking")
    page.goto("/search/?q=%23blocking")
    expect(page.locator("main")).not_to_contain_text("Bob on #blocking")
    response = page.goto(f"/p/{post.pk}/")
    assert response.status == 404
    # That page's 404, and Chromium's console line about it, are expected.
    watch.problems = [p for p in watch.problems if f"/p/{post.pk}/" not in p and "404" not in p]
    page.goto("/u/alice/")
    expect(page.locator("#profile-head .counts")).to_have_text(
        "0 posts · 0 followers · 0 following"
    )
    # Unblocking brings his posts back where anyone sees them, and no follow.
    page.goto("/u/bob/")
    submit(
        page, head.get_by_role("button", name="Unblock"), "/u/bob/do/block/", javascript=javascript
    )
    expect(head.get_by_role("button", name="Block")).to_be_visible()
    expect(posts).to_contain_text("Bob on #blocking")
    expect(head.get_by_role("button", name="Follow", exact=True)).to_be_visible()
    assert not Block.objects.exists()
    assert not Follow.objects.filter(between).exists()
    page.goto("/search/?q=%23blocking")
    expect(page.locator("main")).to_contain_text("Bob on #blocking")
    watch.check()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_unblock_and_unmute_from_settings(browser, server, javascript):
    from follows.models import Block, Mute
    from follows.services import block_create, mute_create
    from posts.services import post_create

    alice = make_user("alice")
    bob = make_user("bob", display_name="Bob")
    carol = make_user("carol", display_name="Carol")
    in_thread(post_create, author=bob, text="Bob is back")
    in_thread(block_create, blocker=alice, blocked=bob)
    in_thread(mute_create, muter=alice, muted=carol, duration=timedelta(days=7))
    page, watch = new_page(browser, server, PHONE, javascript=javascript)
    sign_in(page, "alice")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Accounts you block").click()
    expect(page.get_by_role("heading", name="Blocked accounts")).to_be_visible()
    blocked = page.get_by_role("region", name="Blocked accounts")
    expect(blocked.get_by_role("link", name="Bob")).to_be_visible()
    no_horizontal_scroll(page)
    submit(
        page,
        blocked.get_by_role("button", name="Unblock @bob"),
        "/settings/blocked/",
        javascript=javascript,
    )
    if javascript:
        expect(blocked).to_have_text("You unblocked @bob.")
    else:
        expect(page.locator(".messages")).to_have_text("You unblocked @bob.")
        expect(blocked).to_have_text("You block nobody.")
    assert not Block.objects.exists()
    page.goto("/u/bob/")
    expect(page.get_by_role("region", name="Posts")).to_contain_text("Bob is back")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Accounts you mute").click()
    muted = page.get_by_role("region", name="Muted accounts")
    mute = Mute.objects.get()
    expect(muted).to_contain_text(f"Muted until {mute.expires_at:%Y-%m-%d %H:%M} UTC")
    no_horizontal_scroll(page)
    submit(
        page,
        muted.get_by_role("button", name="Unmute @carol"),
        "/settings/muted/",
        javascript=javascript,
    )
    expect(page.get_by_text("You unmuted @carol.")).to_be_visible()
    assert not Mute.objects.exists()
    watch.check()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_report_a_post_and_an_account_into_the_admins_queue(browser, server, javascript):
    from accounts.models import Role
    from moderation.models import Report
    from posts.services import post_create

    make_user("alice")
    bob = make_user("bob")
    make_user("root", role=Role.ADMIN)
    post, _ = in_thread(post_create, author=bob, text="Cheap followers at example.com")
    thanks = "Thank you. An admin will look at your report."
    page, watch = new_page(browser, server, javascript=javascript)
    sign_in(page, "alice")
    expect(page.get_by_role("link", name="Report queue")).to_have_count(0)
    page.goto(f"/p/{post.pk}/")
    page.locator(f"#actions-{post.pk}").get_by_role("link", name="Report").click()
    expect(page.get_by_role("heading", name="Report a post by @bob")).to_be_visible()
    expect(page.locator("blockquote")).to_have_text("Cheap followers at example.com")
    page.get_by_label("Reason").select_option(label="Spam")
    page.get_by_label("Comment (optional)").fill("Selling followers.")
    page.get_by_role("button", name="Report").click()
    expect(page.locator(".messages")).to_have_text(thanks)
    expect(page).to_have_url(f"{server.url}/p/{post.pk}/")
    report = Report.objects.get(post=post)
    assert (report.reporter.username, report.user_id, report.reason, report.comment) == (
        "alice",
        bob.pk,
        "spam",
        "Selling followers.",
    )
    assert (report.post_text, report.status) == (post.text, Report.Status.OPEN)
    page.goto("/u/bob/")
    page.locator("#profile-head").get_by_role("link", name="Report").click()
    expect(page.get_by_role("heading", name="Report @bob")).to_be_visible()
    page.get_by_label("Reason").select_option(label="Abuse")
    page.get_by_role("button", name="Report").click()
    expect(page.locator(".messages")).to_have_text(thanks)
    expect(page).to_have_url(f"{server.url}/u/bob/")
    report = Report.objects.get(post=None)
    assert (report.reporter.username, report.user_id, report.reason, report.comment) == (
        "alice",
        bob.pk,
        "abuse",
        "",
    )
    watch.check()
    # An admin finds both in the queue, from a link on every page.
    admin, admin_watch = new_page(browser, server, javascript=javascript)
    sign_in(admin, "root")
    admin.get_by_role("link", name="Report queue").click()
    rows = admin.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Spam").filter(has_text="Cheap followers")).to_have_count(1)
    expect(rows.filter(has_text="Abuse")).to_have_count(1)
    admin_watch.check()


def test_picture_upload_with_preview(browser, server, tmp_path):
    make_user("alice")
    page, watch = new_page(browser, server)
    sign_in(page, "alice")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Display name").fill("Alice Liddell")
    page.get_by_label("Bio").fill("Curiouser and curiouser.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your profile was saved.")).to_be_visible()
    picture = tmp_path / "me.png"
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (11, 92, 173)).save(buffer, "PNG")
    picture.write_bytes(buffer.getvalue())
    page.get_by_label("Picture", exact=True).set_input_files(picture)
    expect(page.locator("#avatar-preview")).to_be_visible()
    expect(page.locator("#avatar-preview")).to_have_attribute("src", re.compile("^data:image"))
    page.get_by_role("button", name="Upload picture").click()
    expect(page.get_by_text("Your picture was saved.")).to_be_visible()
    preview = page.locator("#avatar-preview")
    expect(preview).to_have_attribute("src", re.compile("/media/avatars/"))
    # The saved picture loads (its src just changed: wait for it, not for a fixed time).
    page.wait_for_function(
        "() => { const image = document.getElementById('avatar-preview');"
        " return image.complete && image.naturalWidth > 0; }"
    )
    shot(page, "settings")
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("img", name="Picture of alice")).to_be_visible()
    watch.check()


def test_keyboard_only_sign_in(browser, server):
    make_user("alice")
    page, watch = new_page(browser, server)
    page.goto("/")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_username":
            break
    assert page.evaluate("document.activeElement.id") == "id_username"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus is visible"
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Post", exact=True)).to_be_visible()
    watch.check()


def test_pages_on_a_phone_and_a_desktop(browser, server):
    from follows.services import follow_create
    from posts.services import bookmark_create, like_create, post_create, repost_create

    alice = make_user("alice", display_name="Alice", bio="Down the rabbit hole.")
    bob = make_user("bob", display_name="Bob Builder", bio="Can we fix it?")
    carol = make_user("carol", display_name="Carol")
    in_thread(follow_create, follower=alice, followee=bob)
    in_thread(follow_create, follower=bob, followee=alice)
    in_thread(follow_create, follower=carol, followee=alice)
    mine, _ = in_thread(post_create, author=alice, text="Tea or #coffee? Asking for a friend.")
    first, _ = in_thread(post_create, author=bob, text="Good morning, @alice! #coffee time")
    in_thread(post_create, author=bob, text="w" * 280)
    in_thread(
        post_create, author=alice, text="Reading about #django and htmx", reply_to_id=first.pk
    )
    in_thread(like_create, user=alice, post=first)
    in_thread(bookmark_create, user=alice, post=first)
    for fan in (bob, carol):
        in_thread(like_create, user=fan, post=mine)
    in_thread(repost_create, user=carol, post=mine)
    pages = {
        "home": "/",
        "profile": "/u/bob/",
        "notifications": "/notifications/",
        "search": "/search/?q=%23coffee",
        "thread": f"/p/{first.pk}/",
        "bookmarks": "/bookmarks/",
        "settings": "/settings/",
        "not-found": "/no/such/page/",
    }
    for viewport in (PHONE, DESKTOP):
        page, watch = new_page(browser, server, viewport)
        page.goto("/")
        no_horizontal_scroll(page)
        shot(page, "signin")
        sign_in(page, "alice")
        for name, path in pages.items():
            response = page.goto(path)
            assert response.status == (404 if name == "not-found" else 200)
            expect(page.locator("h1").first).to_be_attached()
            no_horizontal_scroll(page)
            if name != "settings" or viewport is PHONE:
                shot(page, name)
            if name == "not-found":
                # The page's own 404, and Chromium's console line about it, are expected.
                watch.problems = [
                    p for p in watch.problems if "/no/such/page/" not in p and "404" not in p
                ]
        watch.check()
        page.context.close()


def test_screenshots_are_referenced_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert "docs/screenshots/home-phone.png" in readme
    assert "docs/screenshots/home-desktop.png" in readme
