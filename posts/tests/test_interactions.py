"""Likes, reposts and bookmarks: idempotent toggles, exact counts, lists and viewer flags."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from common.testing import client_for, make_user
from posts.models import Bookmark, Like, Post, TimelineEntry

pytestmark = pytest.mark.django_db(transaction=True)


def create(client, text, **fields) -> dict:
    response = client.post("/api/posts/", {"text": text, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def get(client, post_id) -> dict:
    response = client.get(f"/api/posts/{post_id}/")
    assert response.status_code == 200
    return response.json()


def feed(client) -> list[dict]:
    return client.get("/api/feed/").json()["results"]


def test_liking_is_idempotent_and_counted(alice, bob):
    post = create(alice, "like me")
    first = bob.post(f"/api/posts/{post['id']}/like/")
    again = bob.post(f"/api/posts/{post['id']}/like/")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["liked"] is True and first.json()["like_count"] == 1
    assert get(alice, post["id"])["like_count"] == 1
    assert get(alice, post["id"])["liked"] is False
    assert get(bob, post["id"])["liked"] is True
    assert bob.delete(f"/api/posts/{post['id']}/like/").status_code == 204
    assert bob.delete(f"/api/posts/{post['id']}/like/").status_code == 204
    assert get(alice, post["id"])["like_count"] == 0
    assert not Like.objects.exists()


def test_likers_and_liked_posts_are_listed_newest_first(alice, bob, user):
    carol = client_for(make_user("carol"))
    first, second = create(alice, "one"), create(alice, "two")
    bob.post(f"/api/posts/{first['id']}/like/")
    carol.post(f"/api/posts/{first['id']}/like/")
    bob.post(f"/api/posts/{second['id']}/like/")
    likers = alice.get(f"/api/posts/{first['id']}/likes/").json()["results"]
    assert [u["username"] for u in likers] == ["carol", "bob"]
    assert likers[0]["followers_count"] == 0
    liked = alice.get("/api/users/bob/likes/").json()["results"]
    assert [p["text"] for p in liked] == ["two", "one"]
    assert alice.get("/api/users/nobody/likes/").status_code == 404
    assert alice.get("/api/posts/999999/likes/").status_code == 404


@pytest.mark.parametrize("action", ["like", "repost", "bookmark"])
def test_acting_on_an_unknown_or_deleted_post_is_a_404(alice, bob, action):
    assert bob.post(f"/api/posts/999999/{action}/").status_code == 404
    post = create(alice, "gone")
    alice.delete(f"/api/posts/{post['id']}/")
    assert bob.post(f"/api/posts/{post['id']}/{action}/").status_code == 404
    assert bob.delete(f"/api/posts/{post['id']}/{action}/").status_code == 404


def test_reposting_is_a_post_that_reaches_followers(alice, bob):
    carol = client_for(make_user("carol"))
    carol.post("/api/users/bob/follow/")
    original = create(alice, "worth sharing")
    response = bob.post(f"/api/posts/{original['id']}/repost/")
    assert response.status_code == 201
    repost = response.json()
    assert repost["text"] == ""
    assert repost["author"]["username"] == "bob"
    assert repost["repost_of"]["id"] == original["id"]
    assert repost["repost_of"]["repost_count"] == 1
    assert repost["reposted"] is True and repost["repost_of"]["reposted"] is True
    again = bob.post(f"/api/posts/{original['id']}/repost/")
    assert again.status_code == 200 and again.json()["id"] == repost["id"]
    assert [p["id"] for p in feed(carol)] == [repost["id"]]
    assert feed(carol)[0]["repost_of"]["text"] == "worth sharing"
    assert get(alice, original["id"])["repost_count"] == 1
    reposters = alice.get(f"/api/posts/{original['id']}/reposts/").json()["results"]
    assert [u["username"] for u in reposters] == ["bob"]
    assert User.objects.get(username="bob").posts_count == 1


def test_reposting_a_repost_reposts_the_original(alice, bob):
    carol = client_for(make_user("carol"))
    original = create(alice, "original")
    repost = bob.post(f"/api/posts/{original['id']}/repost/").json()
    second = carol.post(f"/api/posts/{repost['id']}/repost/").json()
    assert second["repost_of"]["id"] == original["id"]
    assert get(alice, original["id"])["repost_count"] == 2
    # Liking and bookmarking a repost act on the original too.
    assert carol.post(f"/api/posts/{repost['id']}/like/").json()["id"] == original["id"]
    assert get(alice, original["id"])["like_count"] == 1
    assert get(carol, repost["id"])["liked"] is True


def test_your_own_post_may_be_reposted(alice):
    original = create(alice, "mine")
    response = alice.post(f"/api/posts/{original['id']}/repost/")
    assert response.status_code == 201
    # Alice's timeline holds the original already: the repost does not enter it twice.
    assert [p["id"] for p in feed(alice)] == [original["id"]]


def test_a_repost_skips_timelines_that_hold_the_original(alice, bob):
    carol = client_for(make_user("carol"))
    carol.post("/api/users/alice/follow/")
    carol.post("/api/users/bob/follow/")
    original = create(alice, "seen already")
    bob.post(f"/api/posts/{original['id']}/repost/")
    assert [p["id"] for p in feed(carol)] == [original["id"]]
    assert get(carol, original["id"])["repost_count"] == 1


def test_undoing_a_repost_deletes_it_everywhere(alice, bob):
    carol = client_for(make_user("carol"))
    carol.post("/api/users/bob/follow/")
    original = create(alice, "shared")
    repost = bob.post(f"/api/posts/{original['id']}/repost/").json()
    assert bob.delete(f"/api/posts/{original['id']}/repost/").status_code == 204
    assert bob.delete(f"/api/posts/{original['id']}/repost/").status_code == 204
    assert not Post.objects.filter(pk=repost["id"]).exists()
    assert feed(carol) == []
    assert get(alice, original["id"])["repost_count"] == 0
    assert User.objects.get(username="bob").posts_count == 0


def test_deleting_an_original_deletes_its_reposts(alice, bob):
    carol = client_for(make_user("carol"))
    carol.post("/api/users/bob/follow/")
    original = create(alice, "doomed")
    repost = bob.post(f"/api/posts/{original['id']}/repost/").json()
    bob.post(f"/api/posts/{original['id']}/like/")
    bob.post(f"/api/posts/{original['id']}/bookmark/")
    assert alice.delete(f"/api/posts/{original['id']}/").status_code == 204
    assert not Post.objects.filter(pk__in=[original["id"], repost["id"]]).exists()
    assert not TimelineEntry.objects.filter(post_id=repost["id"]).exists()
    assert feed(carol) == []
    assert not Like.objects.exists() and not Bookmark.objects.exists()
    assert User.objects.get(username="bob").posts_count == 0
    assert User.objects.get(username="alice").posts_count == 0


def test_bookmarks_are_private(alice, bob):
    post = create(alice, "keep")
    other = create(alice, "keep too")
    assert bob.post(f"/api/posts/{post['id']}/bookmark/").status_code == 201
    assert bob.post(f"/api/posts/{post['id']}/bookmark/").status_code == 200
    bob.post(f"/api/posts/{other['id']}/bookmark/")
    mine = bob.get("/api/users/me/bookmarks/").json()["results"]
    assert [p["text"] for p in mine] == ["keep too", "keep"]
    assert all(p["bookmarked"] for p in mine)
    assert alice.get("/api/users/me/bookmarks/").json()["results"] == []
    assert get(alice, post["id"])["bookmarked"] is False
    assert "bookmark_count" not in get(alice, post["id"])
    assert bob.delete(f"/api/posts/{post['id']}/bookmark/").status_code == 204
    assert [p["text"] for p in bob.get("/api/users/me/bookmarks/").json()["results"]] == [
        "keep too"
    ]


def test_every_post_list_carries_viewer_flags_in_constant_queries(alice, bob, user, other):
    from follows.services import follow_create

    follow_create(follower=user, followee=other)
    posts = [create(bob, f"#topic post {index}") for index in range(30)]
    for post in posts[::2]:
        alice.post(f"/api/posts/{post['id']}/like/")
        alice.post(f"/api/posts/{post['id']}/bookmark/")
    alice.post(f"/api/posts/{posts[1]['id']}/repost/")
    paths = [
        "/api/feed/",
        "/api/posts/",
        "/api/posts/?q=%23topic",
        "/api/users/bob/posts/",
        "/api/tags/topic/posts/",
        "/api/users/me/bookmarks/",
        "/api/users/alice/likes/",
        f"/api/posts/{posts[0]['id']}/replies/",
    ]
    for path in paths:
        # Reposting changed alice's row (her post count): the first request after a change
        # reads her account again, one statement more.
        alice.get(path)
        counts = []
        for size in (1, 100):
            with CaptureQueriesContext(connection) as queries:
                response = alice.get(path, {"page_size": size})
            assert response.status_code == 200, path
            counts.append(len(queries))
        assert counts[0] == counts[1] <= 4, (path, counts)
    by_id = {p["id"]: p for p in alice.get("/api/posts/", {"page_size": 100}).json()["results"]}
    assert by_id[posts[0]["id"]]["liked"] and by_id[posts[0]["id"]]["bookmarked"]
    assert not by_id[posts[1]["id"]]["liked"] and by_id[posts[1]["id"]]["reposted"]
    assert by_id[posts[0]["id"]]["like_count"] == 1


def test_counts_are_columns_read_without_counting(alice, bob):
    post = create(alice, "counted")
    bob.post(f"/api/posts/{post['id']}/like/")
    Post.objects.filter(pk=post["id"]).update(like_count=41)
    # The page shows the stored count (recount repairs a wrong one), not COUNT(*) of rows.
    assert get(alice, post["id"])["like_count"] == 41


def test_unlike_and_like_storms_leave_the_count_equal_to_the_rows(alice, bob):
    post = create(alice, "storm")
    clients = [bob] + [client_for(make_user(f"fan{i}")) for i in range(4)]
    for round_ in range(6):
        for index, client in enumerate(clients):
            if (round_ + index) % 3:
                client.post(f"/api/posts/{post['id']}/like/")
            else:
                client.delete(f"/api/posts/{post['id']}/like/")
    stored = Post.objects.get(pk=post["id"]).like_count
    assert stored == Like.objects.filter(post_id=post["id"]).count()


def test_profile_counts_follow_every_write(alice, bob, user, other):
    alice.post("/api/users/bob/follow/")
    first = create(bob, "one")
    create(bob, "two", reply_to=first["id"])
    alice.post(f"/api/posts/{first['id']}/repost/")
    profile = alice.get("/api/users/bob/").json()
    assert (profile["followers_count"], profile["following_count"], profile["posts_count"]) == (
        1,
        0,
        2,
    )
    assert alice.get("/api/users/me/").json()["posts_count"] == 1
    alice.delete("/api/users/bob/follow/")
    assert alice.get("/api/users/bob/").json()["followers_count"] == 0
    assert alice.get("/api/users/me/").json()["following_count"] == 0


def test_deleting_an_account_keeps_everyone_elses_counts_exact(alice, bob, other, user):
    carol_user = make_user("carol")
    carol = client_for(carol_user)
    target = create(alice, "alice's post")
    bobs = create(bob, "bob's post")
    carol.post("/api/users/alice/follow/")
    bob.post("/api/users/carol/follow/")
    bob.post(f"/api/posts/{target['id']}/repost/")  # goes with alice's post
    bob.post(f"/api/posts/{target['id']}/like/")
    carol.post(f"/api/posts/{bobs['id']}/like/")
    carol.post(f"/api/posts/{bobs['id']}/repost/")
    create(carol, "answer", reply_to=bobs["id"])
    assert carol.delete("/api/users/me/").status_code == 204
    bob_now = User.objects.get(username="bob")
    assert bob_now.following_count == 0 and bob_now.posts_count == 2
    assert User.objects.get(username="alice").followers_count == 0
    post = Post.objects.get(pk=bobs["id"])
    assert (post.like_count, post.repost_count, post.reply_count) == (0, 0, 0)
    alice.delete("/api/users/me/")
    assert User.objects.get(username="bob").posts_count == 1
