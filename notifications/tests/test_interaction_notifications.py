"""post.liked, post.reposted, post.replied and post.mentioned: persisted, live, replayed,
taken back on undo, never to yourself, at most one per (type, actor, post); and the grouped
inbox."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.events import handle
from common.testing import access_token, client_for, make_user
from config.asgi import application
from notifications.models import Notification

INBOX = "/api/notifications/"
GROUPS = "/api/notifications/groups/"


def create(client, text, **fields) -> dict:
    response = client.post("/api/posts/", {"text": text, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def inbox(client, **params) -> list[dict]:
    return client.get(INBOX, params).json()["results"]


@pytest.mark.django_db(transaction=True)
class TestPersisted:
    def test_a_like_notifies_the_author_once_and_undo_takes_it_back(self, alice, bob):
        post = create(alice, "likeable")
        bob.post(f"/api/posts/{post['id']}/like/")
        bob.post(f"/api/posts/{post['id']}/like/")
        (item,) = inbox(alice)
        assert item["type"] == "post.liked"
        assert item["actor"]["username"] == "bob"
        assert set(item["actor"]) == {"id", "username", "display_name", "avatar_url"}
        assert item["post"]["id"] == post["id"]
        assert item["post"]["like_count"] == 1
        assert item["read"] is False
        bob.delete(f"/api/posts/{post['id']}/like/")
        assert inbox(alice) == []
        bob.post(f"/api/posts/{post['id']}/like/")
        assert [n["type"] for n in inbox(alice)] == ["post.liked"]

    def test_nothing_is_ever_sent_to_yourself(self, alice):
        post = create(alice, "talking to @alice")
        alice.post(f"/api/posts/{post['id']}/like/")
        alice.post(f"/api/posts/{post['id']}/repost/")
        create(alice, "replying to myself", reply_to=post["id"])
        assert inbox(alice) == []

    def test_a_repost_notifies_the_original_author(self, alice, bob):
        post = create(alice, "share me")
        repost = bob.post(f"/api/posts/{post['id']}/repost/").json()
        (item,) = inbox(alice)
        assert item["type"] == "post.reposted"
        assert item["actor"]["username"] == "bob"
        assert item["post"]["id"] == post["id"]
        bob.delete(f"/api/posts/{repost['id']}/repost/")
        assert inbox(alice) == []

    def test_a_reply_notifies_the_parent_author(self, alice, bob):
        post = create(alice, "ask me")
        reply = create(bob, "answer", reply_to=post["id"])
        (item,) = inbox(alice)
        assert item["type"] == "post.replied"
        assert item["post"]["id"] == reply["id"]
        assert item["post"]["reply_to"] == post["id"]
        bob.delete(f"/api/posts/{reply['id']}/")
        assert inbox(alice) == []

    def test_mentions_notify_whether_or_not_they_follow(self, alice, bob, other):
        carol = client_for(make_user("carol"))
        carol.post("/api/users/alice/follow/")
        post = create(alice, "hey @bob and @carol and @nobody")
        (for_bob,) = inbox(bob)
        assert for_bob["type"] == "post.mentioned"
        assert for_bob["post"]["id"] == post["id"]
        # carol follows alice: one post.created and one post.mentioned.
        assert sorted(n["type"] for n in inbox(carol)) == ["post.created", "post.mentioned"]

    def test_deleting_a_post_removes_every_notification_it_caused(self, alice, bob):
        carol = client_for(make_user("carol"))
        bob.post("/api/users/alice/follow/")
        post = create(alice, "hi @carol")
        bob.post(f"/api/posts/{post['id']}/like/")
        create(bob, "reply", reply_to=post["id"])
        carol.post(f"/api/posts/{post['id']}/repost/")
        assert Notification.objects.filter(post_id=post["id"]).count() == 4
        alice.delete(f"/api/posts/{post['id']}/")
        assert inbox(carol) == []
        # The reply stays (and so does its notification); bob's follow is no post's.
        assert {n["type"] for n in inbox(alice)} == {"post.replied", "follow.created"}
        assert inbox(bob) == []

    def test_a_redelivered_event_adds_no_second_notification(self, alice, bob):
        carol = client_for(make_user("carol"))
        carol.post("/api/users/alice/follow/")
        parent = create(bob, "parent")
        post = create(alice, "answer to @bob with @carol", reply_to=parent["id"])
        carol.post(f"/api/posts/{parent['id']}/like/")
        like_id = Notification.objects.get(type="post.liked").pk
        before = set(Notification.objects.values_list("id", flat=True))
        from asgiref.sync import async_to_sync

        from posts.models import Like

        async_to_sync(handle)({"type": "post.created", "post_id": post["id"]})
        async_to_sync(handle)({"type": "post.liked", "like_id": Like.objects.get().pk})
        assert set(Notification.objects.values_list("id", flat=True)) == before
        assert like_id in before

    def test_inbox_of_every_type_in_constant_queries(self, user, other, alice, bob):
        posts = [create(alice, f"post {i} @bob") for i in range(12)]
        fans = [client_for(make_user(f"fan{i}")) for i in range(6)]
        for index, fan in enumerate(fans):
            fan.post("/api/users/alice/follow/")
            fan.post(f"/api/posts/{posts[index]['id']}/like/")
            fan.post(f"/api/posts/{posts[index]['id']}/repost/")
            create(fan, "re", reply_to=posts[index]["id"])
        for client, path in [(alice, INBOX), (alice, GROUPS), (bob, INBOX)]:
            # Counts changed the accounts' rows: the first request after reads them again.
            client.get(path)
            counts = []
            for size in (1, 100):
                with CaptureQueriesContext(connection) as queries:
                    assert client.get(path, {"page_size": size}).status_code == 200
                counts.append(len(queries))
            assert counts[0] == counts[1] <= 5, (path, counts)


@pytest.mark.django_db(transaction=True)
def test_groups_gather_likes_and_reposts_of_a_post(alice, bob, user):
    post = create(alice, "popular")
    quiet = create(alice, "quiet")
    fans = [make_user(f"fan{i}") for i in range(5)]
    for fan in fans:
        client_for(fan).post(f"/api/posts/{post['id']}/like/")
    client_for(fans[0]).post(f"/api/posts/{quiet['id']}/like/")
    client_for(fans[1]).post(f"/api/posts/{post['id']}/repost/")
    bob.post("/api/users/alice/follow/")
    groups = alice.get(GROUPS).json()["results"]
    assert [(g["type"], g["count"]) for g in groups] == [
        ("follow.created", 1),
        ("post.reposted", 1),
        ("post.liked", 1),
        ("post.liked", 5),
    ]
    likes = groups[3]
    assert likes["post"]["id"] == post["id"]
    assert [a["username"] for a in likes["actors"]] == ["fan4", "fan3", "fan2"]
    assert likes["unread"] is True
    assert groups[2]["post"]["id"] == quiet["id"]
    assert groups[0]["post"] is None and groups[0]["actors"][0]["username"] == "bob"
    assert groups[0]["latest_id"] > groups[1]["latest_id"]
    alice.post("/api/notifications/read/")
    assert not any(g["unread"] for g in alice.get(GROUPS).json()["results"])


@pytest.mark.django_db(transaction=True)
def test_group_pages_follow_the_cursor(alice):
    posts = [create(alice, f"p{i}") for i in range(5)]
    for post in posts:
        for fan in ("a", "b"):
            name = f"{fan}{post['id']}"
            client_for(make_user(name)).post(f"/api/posts/{post['id']}/like/")
    seen, url = [], f"{GROUPS}?page_size=2"
    while url:
        body = alice.get(url).json()
        seen += [(g["post"]["id"], g["count"]) for g in body["results"]]
        url = body["next"]
    assert seen == [(post["id"], 2) for post in reversed(posts)]


async def _receive(comm):
    return json.loads(await comm.receive_from(2))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
async def test_new_types_arrive_live_and_are_replayed_by_since():
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob")
    socket = WebsocketCommunicator(
        application, f"/ws/notifications/?token={await sync_to_async(access_token)(alice)}"
    )
    assert (await socket.connect())[0]
    alice_client, bob_client = (
        await sync_to_async(client_for)(alice),
        await sync_to_async(client_for)(bob),
    )

    @sync_to_async
    def act():
        post = create(alice_client, "hello")
        bob_client.post(f"/api/posts/{post['id']}/like/")
        bob_client.post(f"/api/posts/{post['id']}/repost/")
        create(bob_client, "reply", reply_to=post["id"])
        create(bob_client, "hi @alice")
        return post

    post = await act()
    events = [await _receive(socket) for _ in range(4)]
    assert [e["type"] for e in events] == [
        "post.liked",
        "post.reposted",
        "post.replied",
        "post.mentioned",
    ]
    assert events[0]["actor"]["username"] == "bob"
    assert events[0]["post"]["id"] == post["id"]
    assert events[1]["post"]["id"] == post["id"]
    assert events[2]["post"]["reply_to"] == post["id"]
    await socket.disconnect()

    replay = WebsocketCommunicator(
        application,
        f"/ws/notifications/?token={await sync_to_async(access_token)(alice)}&since=0",
    )
    assert (await replay.connect())[0]
    replayed = [await _receive(replay) for _ in range(4)]
    # Replayed as they are now (the post's counts have grown since), the same events.
    assert [(e["id"], e["type"], e.get("actor")) for e in replayed] == [
        (e["id"], e["type"], e.get("actor")) for e in events
    ]
    assert [e["post"]["id"] for e in replayed] == [e["post"]["id"] for e in events]
    assert await replay.receive_nothing(timeout=0.2)
    await replay.disconnect()
