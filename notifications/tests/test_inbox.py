"""The notification inbox over REST."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.testing import client_for, make_user
from follows.models import Follow
from notifications.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)

INBOX = "/api/notifications/"


def post(client, text) -> int:
    response = client.post("/api/posts/", {"text": text}, format="json")
    assert response.status_code == 201
    return response.json()["id"]


def test_followers_are_notified_of_posts(alice, bob, user, other):
    alice.post("/api/users/bob/follow/")
    post_id = post(bob, "hello followers")
    body = alice.get(INBOX).json()
    assert len(body["results"]) == 1
    item = body["results"][0]
    assert item["type"] == "post.created"
    assert item["read"] is False
    assert item["post"]["id"] == post_id
    assert item["post"]["author"]["username"] == "bob"
    assert set(item) == {"id", "type", "created_at", "read", "post"}
    # The author is not notified of their own post.
    assert [n["type"] for n in bob.get(INBOX).json()["results"]] == ["follow.created"]


def test_follow_notification_carries_the_follower(alice, bob, user):
    alice.post("/api/users/bob/follow/")
    item = bob.get(INBOX).json()["results"][0]
    assert item["type"] == "follow.created"
    assert item["follower"]["username"] == "alice"
    assert item["follower"]["following_count"] == 1
    assert set(item) == {"id", "type", "created_at", "read", "follower"}


def test_only_posts_made_while_following_notify(alice, bob):
    post(bob, "before")
    alice.post("/api/users/bob/follow/")
    post(bob, "during")
    alice.delete("/api/users/bob/follow/")
    post(bob, "after")
    texts = [n["post"]["text"] for n in alice.get(INBOX).json()["results"]]
    assert texts == ["during"]


def test_notifications_and_feed_agree(alice, bob, user):
    carol = client_for(make_user("carol"))
    alice.post("/api/users/bob/follow/")
    alice.post("/api/users/carol/follow/")
    for index in range(3):
        post(bob, f"bob {index}")
        post(carol, f"carol {index}")
    notified = [n["post"]["id"] for n in alice.get(INBOX).json()["results"]]
    in_feed = [p["id"] for p in alice.get("/api/feed/").json()["results"]]
    assert notified == in_feed


def test_deleting_a_post_removes_its_notifications(alice, bob, user):
    alice.post("/api/users/bob/follow/")
    post_id = post(bob, "doomed")
    bob.delete(f"/api/posts/{post_id}/")
    assert not Notification.objects.filter(post_id=post_id).exists()
    assert alice.get(INBOX).json()["results"] == []


def test_since_and_unread_filters(alice, bob, user):
    alice.post("/api/users/bob/follow/")
    ids = []
    for index in range(4):
        post(bob, f"p{index}")
        ids.append(Notification.objects.filter(recipient=user).latest("id").id)
    newer = alice.get(INBOX, {"since": ids[1]}).json()["results"]
    assert [n["id"] for n in newer] == [ids[3], ids[2]]
    Notification.objects.filter(id__in=ids[:3]).update(read=True)
    unread = alice.get(INBOX, {"unread": "true"}).json()["results"]
    assert [n["id"] for n in unread] == [ids[3]]


def test_mark_read_and_unread_count(alice, bob, user):
    alice.post("/api/users/bob/follow/")
    for index in range(3):
        post(bob, f"p{index}")
    assert alice.get(f"{INBOX}unread-count/").json() == {"unread": 3}
    first = Notification.objects.filter(recipient=user).order_by("id").first()
    assert alice.post(f"{INBOX}read/", {"up_to": first.id}, format="json").status_code == 204
    assert alice.get(f"{INBOX}unread-count/").json() == {"unread": 2}
    assert alice.post(f"{INBOX}read/", {}, format="json").status_code == 204
    assert alice.get(f"{INBOX}unread-count/").json() == {"unread": 0}
    assert all(n["read"] for n in alice.get(INBOX).json()["results"])


def test_marking_read_touches_only_ones_own(alice, bob, user, other):
    alice.post("/api/users/bob/follow/")  # bob gets follow.created
    assert bob.get(f"{INBOX}unread-count/").json() == {"unread": 1}
    alice.post(f"{INBOX}read/", {}, format="json")
    assert bob.get(f"{INBOX}unread-count/").json() == {"unread": 1}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (INBOX, {"since": "abc"}),
        (INBOX, {"since": "-1"}),
        (INBOX, {"unread": "perhaps"}),
        (INBOX, {"cursor": "bad"}),
    ],
)
def test_bad_filters_are_400(alice, path, params):
    assert alice.get(path, params).status_code == 400


@pytest.mark.parametrize("body", [{"up_to": "x"}, {"up_to": -5}, {"up_to": 2**64}])
def test_bad_mark_read_bodies_are_400(alice, body):
    assert alice.post(f"{INBOX}read/", body, format="json").status_code == 400


def test_anonymous_is_401(anon):
    assert anon.get(INBOX).status_code == 401
    assert anon.post(f"{INBOX}read/").status_code == 401
    assert anon.get(f"{INBOX}unread-count/").status_code == 401


def test_inbox_query_count_does_not_grow_with_page_size(user, other):
    from posts.models import Post

    people = [make_user(f"fan{i}") for i in range(60)]
    for person in people:
        Follow.objects.create(follower=person, followee=user)
        Notification.objects.create(recipient=user, actor=person, type="follow.created")
    for index in range(60):
        created = Post.objects.create(author=other, text=f"p{index}")
        Notification.objects.create(recipient=user, actor=other, post=created, type="post.created")
    client = client_for(user)
    counts = []
    for size in (1, 100):
        with CaptureQueriesContext(connection) as queries:
            body = client.get(INBOX, {"page_size": size}).json()
        assert len(body["results"]) == size
        counts.append(len(queries))
    # The account, the page, and what the viewer did to the page's posts.
    assert counts[0] == counts[1] <= 3
