"""Replies and threads: reply_to, conversation, ancestors, replies, and who sees a reply."""

import pytest

from common.testing import client_for, make_user
from posts.models import Post

pytestmark = pytest.mark.django_db(transaction=True)


def create(client, text, **fields) -> dict:
    response = client.post("/api/posts/", {"text": text, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def feed(client) -> list[str]:
    return [post["text"] for post in client.get("/api/feed/").json()["results"]]


def test_a_reply_names_its_parent_and_thread(alice, bob):
    root = create(alice, "root")
    reply = create(bob, "first answer", reply_to=root["id"])
    nested = create(alice, "answer to the answer", reply_to=reply["id"])
    assert root["reply_to"] is None and root["conversation"] == root["id"]
    assert reply["reply_to"] == root["id"]
    assert reply["reply_to_username"] == "alice"
    assert reply["conversation"] == root["id"]
    assert nested["conversation"] == root["id"]
    assert nested["reply_to_username"] == "bob"
    assert alice.get(f"/api/posts/{root['id']}/").json()["reply_count"] == 1


@pytest.mark.parametrize("target", [999_999, "deleted"])
def test_a_reply_to_an_unknown_or_deleted_post_is_a_400(alice, target):
    if target == "deleted":
        target = create(alice, "soon gone")["id"]
        assert alice.delete(f"/api/posts/{target}/").status_code == 204
    response = alice.post("/api/posts/", {"text": "hello?", "reply_to": target}, format="json")
    assert response.status_code == 400
    assert "reply_to" in response.json()
    assert Post.objects.count() == 0


@pytest.mark.parametrize("value", ["abc", -1, 0, 2**70, [1], {"id": 1}])
def test_a_malformed_reply_to_is_a_400(alice, value):
    response = alice.post("/api/posts/", {"text": "x", "reply_to": value}, format="json")
    assert response.status_code == 400


def test_ancestors_come_root_first_and_replies_oldest_first(alice, bob):
    root = create(alice, "root")
    first = create(bob, "a1", reply_to=root["id"])
    second = create(alice, "a2", reply_to=first["id"])
    third = create(bob, "a3", reply_to=second["id"])
    ancestors = alice.get(f"/api/posts/{third['id']}/ancestors/").json()
    assert [post["text"] for post in ancestors] == ["root", "a1", "a2"]
    assert alice.get(f"/api/posts/{root['id']}/ancestors/").json() == []
    sibling = create(alice, "a1b", reply_to=root["id"])
    replies = alice.get(f"/api/posts/{root['id']}/replies/").json()
    assert [post["id"] for post in replies["results"]] == [first["id"], sibling["id"]]


def test_replies_are_cursor_pages_oldest_first(alice, bob):
    root = create(alice, "root")
    ids = [create(bob, f"r{index}", reply_to=root["id"])["id"] for index in range(5)]
    seen, url = [], f"/api/posts/{root['id']}/replies/?page_size=2"
    while url:
        body = alice.get(url).json()
        seen += [post["id"] for post in body["results"]]
        url = body["next"]
    assert seen == ids


def test_deleting_a_post_leaves_its_replies(alice, bob):
    root = create(alice, "root")
    reply = create(bob, "answer", reply_to=root["id"])
    assert alice.delete(f"/api/posts/{root['id']}/").status_code == 204
    kept = bob.get(f"/api/posts/{reply['id']}/").json()
    assert kept["reply_to"] == root["id"]
    assert bob.get(f"/api/posts/{root['id']}/").status_code == 404
    assert bob.get(f"/api/posts/{reply['id']}/ancestors/").json() == []
    assert bob.get(f"/api/posts/{root['id']}/replies/").status_code == 404


def test_a_reply_reaches_followers_who_also_follow_the_account_replied_to(alice, bob):
    carol = client_for(make_user("carol"))
    dave = client_for(make_user("dave"))
    # carol follows alice and bob; dave follows only alice.
    for client, name in [(carol, "alice"), (carol, "bob"), (dave, "alice")]:
        client.post(f"/api/users/{name}/follow/")
    bobs = create(bob, "bob's post")
    create(alice, "alice answers bob", reply_to=bobs["id"])
    create(alice, "alice's own post")
    assert feed(carol) == ["alice's own post", "alice answers bob", "bob's post"]
    assert feed(dave) == ["alice's own post"]
    assert "alice answers bob" in feed(alice)
    # A reply to one's own post (a thread) reaches every follower.
    mine = create(alice, "thread 1")
    create(alice, "thread 2", reply_to=mine["id"])
    assert feed(dave)[:2] == ["thread 2", "thread 1"]


def test_following_backfills_replies_by_the_same_rule(alice, bob):
    carol = client_for(make_user("carol"))
    bobs = create(bob, "bob's post")
    create(alice, "alice answers bob", reply_to=bobs["id"])
    create(alice, "alice alone")
    carol.post("/api/users/alice/follow/")
    assert feed(carol) == ["alice alone"]
    carol.delete("/api/users/alice/follow/")
    carol.post("/api/users/bob/follow/")
    carol.post("/api/users/alice/follow/")
    assert feed(carol) == ["alice alone", "alice answers bob", "bob's post"]


def test_replying_to_a_repost_replies_to_its_original(alice, bob):
    original = create(alice, "original")
    repost = bob.post(f"/api/posts/{original['id']}/repost/").json()
    reply = create(bob, "answer", reply_to=repost["id"])
    assert reply["reply_to"] == original["id"]
    assert reply["reply_to_username"] == "alice"
