"""Blocks and mutes: every rule of the contract, on every endpoint that returns posts or
users."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from common.testing import client_for, make_user
from follows.models import Block, Follow, Mute
from notifications.models import Notification
from posts.models import TimelineEntry

pytestmark = pytest.mark.django_db(transaction=True)


def create(client, text, **fields) -> dict:
    response = client.post("/api/posts/", {"text": text, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def texts(response) -> list[str]:
    assert response.status_code == 200, response.content
    body = response.json()
    items = body["results"] if isinstance(body, dict) else body
    return [item["text"] if "text" in item else item["username"] for item in items]


def test_block_rules_for_yourself_unknown_and_twice(alice):
    make_user("bob")
    assert alice.post("/api/users/alice/block/").status_code == 400
    assert alice.post("/api/users/nobody/block/").status_code == 404
    assert alice.post("/api/users/bob/block/").status_code == 201
    assert alice.post("/api/users/bob/block/").status_code == 200
    assert [u["username"] for u in alice.get("/api/users/me/blocks/").json()["results"]] == ["bob"]
    assert alice.delete("/api/users/bob/block/").status_code == 204
    assert alice.delete("/api/users/bob/block/").status_code == 204
    assert alice.get("/api/users/me/blocks/").json()["results"] == []


def test_blocking_removes_follows_both_ways_and_refuses_new_ones(alice, bob, user, other):
    alice.post("/api/users/bob/follow/")
    bob.post("/api/users/alice/follow/")
    create(bob, "bob's post")
    assert texts(alice.get("/api/feed/")) == ["bob's post"]
    assert alice.post("/api/users/bob/block/").status_code == 201
    assert not Follow.objects.exists()
    assert texts(alice.get("/api/feed/")) == []
    assert User.objects.get(pk=user.pk).following_count == 0
    assert User.objects.get(pk=other.pk).followers_count == 0
    assert alice.post("/api/users/bob/follow/").status_code == 403
    assert bob.post("/api/users/alice/follow/").status_code == 403
    # Unblocking restores nothing by itself.
    alice.delete("/api/users/bob/block/")
    assert not Follow.objects.exists()
    assert bob.post("/api/users/alice/follow/").status_code == 201


def test_the_blocked_account_cannot_act_on_the_blockers_posts(alice, bob):
    post = create(alice, "alice's")
    alice.post("/api/users/bob/block/")
    for action in ("like", "repost", "bookmark"):
        assert bob.post(f"/api/posts/{post['id']}/{action}/").status_code == 403, action
    reply = bob.post("/api/posts/", {"text": "hey", "reply_to": post["id"]}, format="json")
    assert reply.status_code == 403
    # ... and gets 404 for the blocker's profile and posts.
    assert bob.get("/api/users/alice/").status_code == 404
    assert bob.get(f"/api/posts/{post['id']}/").status_code == 404
    assert bob.get("/api/users/alice/posts/").status_code == 404
    assert bob.get("/api/users/alice/likes/").status_code == 404
    # The blocker still sees the blocked account's profile.
    assert alice.get("/api/users/bob/").status_code == 200


def test_the_blocker_never_meets_the_blocked_accounts_content(alice, bob, user):
    carol_user = make_user("carol")
    carol = client_for(carol_user)
    alice.post("/api/users/carol/follow/")
    root = create(carol, "carol's #topic root")
    bobs = create(bob, "bob's #topic post")
    bob_reply = create(bob, "bob replies #topic", reply_to=root["id"])
    carol.post(f"/api/posts/{bobs['id']}/repost/")  # carol reposts bob's post
    bob.post(f"/api/posts/{root['id']}/repost/")
    bob.post(f"/api/posts/{root['id']}/like/")
    carols_reply = create(carol, "carol answers bob", reply_to=bob_reply["id"])
    bob.post("/api/users/carol/follow/")
    alice.post("/api/users/bob/block/")

    lists = {
        "feed": "/api/feed/",
        "search": "/api/posts/?q=topic",
        "tag": "/api/tags/topic/posts/",
        "replies": f"/api/posts/{root['id']}/replies/",
        "carol's posts": "/api/users/carol/posts/",
        "all posts": "/api/posts/",
    }
    for name, path in lists.items():
        response = alice.get(path)
        assert response.status_code == 200, name
        for item in response.json()["results"]:
            assert item["author"]["username"] != "bob", (name, item)
            if item["repost_of"]:
                assert item["repost_of"]["author"]["username"] != "bob", (name, item)
    ancestors = alice.get(f"/api/posts/{carols_reply['id']}/ancestors/").json()
    assert [p["text"] for p in ancestors] == ["carol's #topic root"]
    assert alice.get(f"/api/posts/{root['id']}/likes/").json()["results"] == []
    assert alice.get(f"/api/posts/{root['id']}/reposts/").json()["results"] == []
    assert "bob" not in texts(alice.get("/api/users/carol/followers/"))
    assert alice.get(f"/api/posts/{bob_reply['id']}/").status_code == 404
    assert alice.get(f"/api/posts/{bob_reply['id']}/replies/").status_code == 404


def test_notifications_between_the_two_go_and_stay_away(alice, bob):
    post = create(alice, "alice's")
    bob.post("/api/users/alice/follow/")
    bob.post(f"/api/posts/{post['id']}/like/")
    assert Notification.objects.filter(recipient__username="alice").count() == 2
    alice.post("/api/users/bob/block/")
    assert alice.get("/api/notifications/").json()["results"] == []
    assert alice.get("/api/notifications/unread-count/").json() == {"unread": 0}
    # Mentions of the blocker notify nobody.
    create(bob, "hello @alice")
    assert alice.get("/api/notifications/").json()["results"] == []
    assert alice.get("/api/notifications/groups/").json()["results"] == []


def test_a_block_hides_reposts_by_others_of_the_blocked_accounts_posts(alice, bob):
    carol = client_for(make_user("carol"))
    alice.post("/api/users/carol/follow/")
    alice.post("/api/users/bob/block/")
    bobs = create(bob, "bob's")
    carol.post(f"/api/posts/{bobs['id']}/repost/")
    assert alice.get("/api/feed/").json()["results"] == []


def test_muting_hides_their_posts_and_interactions_and_keeps_follows(alice, bob, user):
    alice.post("/api/users/bob/follow/")
    create(bob, "before the mute")
    mine = create(alice, "mine")
    response = alice.post("/api/users/bob/mute/", {}, format="json")
    assert response.status_code == 201
    assert response.json()["expires_at"] is None
    assert alice.post("/api/users/bob/mute/", {}, format="json").status_code == 200
    assert Follow.objects.filter(follower=user).exists()
    create(bob, "during the mute")
    bob.post(f"/api/posts/{mine['id']}/like/")
    create(bob, "hi @alice")
    assert texts(alice.get("/api/feed/")) == ["mine"]
    assert alice.get("/api/notifications/").json()["results"] == []
    muted = alice.get("/api/users/me/mutes/").json()["results"]
    assert [(u["username"], u["expires_at"]) for u in muted] == [("bob", None)]
    # Bob is not told: his view of alice is unchanged.
    assert bob.get("/api/users/alice/").status_code == 200
    assert alice.delete("/api/users/bob/mute/").status_code == 204
    create(bob, "after the mute")
    assert texts(alice.get("/api/feed/"))[0] == "after the mute"


def test_a_mute_with_a_duration_ends_by_itself(alice, bob, user):
    alice.post("/api/users/bob/follow/")
    response = alice.post("/api/users/bob/mute/", {"duration": 3600}, format="json")
    assert response.status_code == 201
    assert response.json()["expires_at"] is not None
    create(bob, "muted")
    assert texts(alice.get("/api/feed/")) == []
    Mute.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    create(bob, "heard again")
    assert texts(alice.get("/api/feed/")) == ["heard again"]
    assert alice.get("/api/users/me/mutes/").json()["results"] == []


@pytest.mark.parametrize("duration", [-5, 0, 10**12, "soon", True, 1.5, [1]])
def test_bad_mute_durations_are_a_400(alice, other, duration):
    response = alice.post("/api/users/bob/mute/", {"duration": duration}, format="json")
    assert response.status_code == 400
    assert "duration" in response.json()
    assert not Mute.objects.exists()


def test_a_post_in_flight_is_not_written_for_a_recipient_who_blocked_meanwhile(alice, bob):
    """The fan-out reads blocks inside each page's transaction: a block committed before a
    page applies to it."""
    from notifications.fanout import _fanout_batch
    from posts.models import Post

    bob.post("/api/users/alice/follow/")
    post = create(alice, "in flight")
    TimelineEntry.objects.filter(post_id=post["id"], user__username="bob").delete()
    Notification.objects.filter(post_id=post["id"]).delete()
    follow = Follow.objects.get()
    bob.post("/api/users/alice/block/")
    Follow.objects.create(pk=follow.pk, follower=follow.follower, followee=follow.followee)
    instance = Post.objects.select_related("author").get(pk=post["id"])
    rows, _ = _fanout_batch(instance, [(follow.pk, follow.follower_id)])
    assert rows == []
    assert not TimelineEntry.objects.filter(post_id=post["id"], user=follow.follower).exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one writing transaction at a time"
)
def test_a_follow_racing_a_block_never_leaves_a_follow(alice, bob):
    for _ in range(5):
        barrier = threading.Barrier(2)

        def run(call, barrier=barrier):
            try:
                barrier.wait(10)
                call()
            finally:
                connection.close()

        threads = [
            threading.Thread(target=run, args=(lambda: bob.post("/api/users/alice/follow/"),)),
            threading.Thread(target=run, args=(lambda: alice.post("/api/users/bob/block/"),)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert Block.objects.exists()
        assert not Follow.objects.exists()
        alice.delete("/api/users/bob/block/")
