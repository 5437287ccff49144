"""Golden responses: the hot reads answer with exactly these bytes and headers.

Speed work on the read path (rendering, authentication, pagination) must not change a byte
of what clients get. Each case replays a request against fixed data (fixed ids and times)
and compares the status, the headers clients rely on and the body with the recorded file
under `posts/tests/golden/`. To record them again after an intended change of the
contract: `GOLDEN_UPDATE=1 ./dev.sh test posts/tests/test_golden.py`, and review the diff.
"""

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from accounts.models import User
from common.testing import client_for, make_user
from follows.services import block_create, follow_create
from notifications.models import Notification
from posts.models import Post
from posts.services import bookmark_create, like_create, post_create, repost_create

GOLDEN = Path(__file__).parent / "golden"
HEADERS = ["Content-Type", "Vary", "Allow", "X-Frame-Options", "Retry-After"]
T0 = datetime(2026, 11, 27, 18, 20, tzinfo=UTC)

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


@pytest.fixture
def world():
    """Three accounts, follows, posts with a reply, a repost, mentions, tags, a like and a
    bookmark, all at fixed times."""
    alice = make_user("alice", display_name="Alice", bio="Hello")
    bob = make_user("bob", display_name="Bob")
    carol = make_user("carol", display_name="Carol \u00e9\u00e8")
    follow_create(follower=alice, followee=bob)
    follow_create(follower=alice, followee=carol)
    follow_create(follower=bob, followee=alice)
    first, _ = post_create(author=bob, text="Coffee time #coffee with @alice")
    second, _ = post_create(author=carol, text="Unicode: \u65e5\u672c\u8a9e \U0001f600 #Caf\u00e9")
    post_create(author=alice, text="Replying to bob", reply_to_id=first.pk)
    repost_create(user=alice, post=second)
    like_create(user=alice, post=first)
    bookmark_create(user=alice, post=second)
    # Dave blocks alice: his posts, and carol's repost of one, are hidden from her.
    dave = make_user("dave", display_name="Dave")
    daves, _ = post_create(author=dave, text="Coffee by dave #coffee")
    repost_create(user=carol, post=daves)
    post_create(author=bob, text="Line\u2028and paragraph\u2029separators #coffee coffee")
    block_create(blocker=dave, blocked=alice)
    for index, post in enumerate(Post.objects.order_by("id")):
        Post.objects.filter(pk=post.pk).update(
            created_at=T0 + timedelta(minutes=index, microseconds=index * 1001)
        )
    for index, user in enumerate(User.objects.order_by("id")):
        User.objects.filter(pk=user.pk).update(date_joined=T0 - timedelta(days=index + 1))
    for index, notification in enumerate(Notification.objects.order_by("id")):
        Notification.objects.filter(pk=notification.pk).update(
            created_at=T0 + timedelta(seconds=index)
        )
    # Alice has read her oldest notification.
    Notification.objects.filter(
        pk=Notification.objects.filter(recipient=alice).order_by("id").values("pk")[:1]
    ).update(read=True)
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave}


CASES = {
    "feed": ("alice", "/api/feed/", {}),
    "feed_page_2": ("alice", "/api/feed/?page_size=2", {}),
    "user_posts": ("alice", "/api/users/bob/posts/", {}),
    "search": ("alice", "/api/posts/?q=coffee", {}),
    "search_as_dave": ("dave", "/api/posts/?q=coffee", {}),
    "search_tag_and_author": ("alice", "/api/posts/?q=%23coffee&author=BOB", {}),
    "search_words_and_tag": ("alice", "/api/posts/?q=coffee%20%23coffee", {}),
    "search_dates": ("alice", "/api/posts/?q=coffee&from=2026-11-27&to=2026-11-27T18:23:00Z", {}),
    "posts": ("alice", "/api/posts/", {}),
    "user_posts_blocked": ("alice", "/api/users/dave/posts/", {}),
    "user_posts_reposting_blocked": ("alice", "/api/users/carol/posts/", {}),
    "user_posts_any_case": ("carol", "/api/users/DAVE/posts/?page_size=1", {}),
    "post": ("alice", "/api/posts/1/", {}),
    "post_missing": ("alice", "/api/posts/999/", {}),
    "profile": ("alice", "/api/users/bob/", {}),
    "profile_any_case": ("alice", "/api/users/CAROL/", {}),
    "profile_own": ("alice", "/api/users/alice/", {}),
    "profile_blocking_viewer": ("alice", "/api/users/dave/", {}),
    "profile_blocked_by_viewer": ("dave", "/api/users/alice/", {}),
    "profile_missing": ("alice", "/api/users/nobody/", {}),
    "profile_anonymous": (None, "/api/users/bob/", {}),
    "me": ("alice", "/api/users/me/", {}),
    "notifications": ("bob", "/api/notifications/", {}),
    "notifications_alice": ("alice", "/api/notifications/", {}),
    "notifications_unread": ("alice", "/api/notifications/?unread=true", {}),
    "notifications_since": ("bob", "/api/notifications/?since=8", {}),
    "notifications_page_2": ("bob", "/api/notifications/?page_size=2&cursor=cD05", {}),
    "notifications_previous": (
        "bob",
        "/api/notifications/?page_size=2&cursor=cj0xJnA9Nw%3D%3D",
        {},
    ),
    "notifications_bad_since": ("bob", "/api/notifications/?since=x", {}),
    "notifications_dave": ("dave", "/api/notifications/", {}),
    "notifications_carol": ("carol", "/api/notifications/", {}),
    "feed_html_accept": ("alice", "/api/feed/", {"HTTP_ACCEPT": "text/html"}),
    "feed_bad_cursor": ("alice", "/api/feed/?cursor=bm9wZQ", {}),
    "feed_anonymous": (None, "/api/feed/", {}),
}


def _response(world, who, path, extra) -> dict:
    client = client_for(world[who]) if who else client_for(None)
    response = client.get(path, **extra)
    return {
        "status": response.status_code,
        "headers": {name: response[name] for name in HEADERS if response.has_header(name)},
        "body": response.content.decode(),
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_hot_reads_answer_the_recorded_bytes(world, name):
    got = _response(world, *CASES[name])
    path = GOLDEN / f"{name}.json"
    if os.environ.get("GOLDEN_UPDATE"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    recorded = json.loads(path.read_text())
    assert got["status"] == recorded["status"]
    assert got["headers"] == recorded["headers"]
    assert got["body"] == recorded["body"]
