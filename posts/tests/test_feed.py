"""The home timeline stays consistent through posts, follows, unfollows and deletions."""

import pytest

from common.testing import client_for, make_user
from posts.models import Post, TimelineEntry

pytestmark = pytest.mark.django_db(transaction=True)


def feed(client, **params) -> list[str]:
    response = client.get("/api/feed/", params)
    assert response.status_code == 200
    return [post["text"] for post in response.json()["results"]]


def post(client, text) -> int:
    response = client.post("/api/posts/", {"text": text}, format="json")
    assert response.status_code == 201
    return response.json()["id"]


def test_own_posts_are_in_the_feed(alice):
    post(alice, "first")
    post(alice, "second")
    assert feed(alice) == ["second", "first"]


def test_followed_accounts_posts_arrive(alice, bob):
    alice.post("/api/users/bob/follow/")
    post(bob, "from bob")
    post(alice, "from alice")
    assert feed(alice) == ["from alice", "from bob"]
    assert feed(bob) == ["from bob"]  # following is one way


def test_following_backfills_the_newest_posts(alice, bob, settings):
    settings.FOLLOW_BACKFILL = 3
    for index in range(5):
        post(bob, f"b{index}")
    post(alice, "mine")
    assert alice.post("/api/users/bob/follow/").status_code == 201
    assert feed(alice) == ["mine", "b4", "b3", "b2"]


def test_unfollowing_takes_their_posts_out(alice, bob, user):
    carol = client_for(make_user("carol"))
    alice.post("/api/users/bob/follow/")
    alice.post("/api/users/carol/follow/")
    post(bob, "bob 1")
    post(carol, "carol 1")
    post(alice, "alice 1")
    post(bob, "bob 2")
    assert alice.delete("/api/users/bob/follow/").status_code == 204
    assert feed(alice) == ["alice 1", "carol 1"]
    # Following again brings them back.
    alice.post("/api/users/bob/follow/")
    assert feed(alice) == ["bob 2", "alice 1", "carol 1", "bob 1"]


def test_deleting_a_post_removes_it_from_every_feed(alice, bob):
    alice.post("/api/users/bob/follow/")
    doomed = post(bob, "doomed")
    post(bob, "kept")
    assert bob.delete(f"/api/posts/{doomed}/").status_code == 204
    assert feed(alice) == ["kept"]
    assert feed(bob) == ["kept"]
    assert not TimelineEntry.objects.filter(post_id=doomed).exists()


def test_a_deleted_account_leaves_every_feed(alice, bob, other):
    alice.post("/api/users/bob/follow/")
    post(bob, "bob's")
    post(alice, "alice's")
    bob.delete("/api/users/me/")
    assert feed(alice) == ["alice's"]


def test_timelines_are_trimmed_to_the_cap(alice, bob, user, settings):
    settings.TIMELINE_CAP = 5
    settings.TIMELINE_TRIM_EVERY = 1  # trim on every post received
    alice.post("/api/users/bob/follow/")
    for index in range(12):
        post(bob, f"b{index}")
    assert TimelineEntry.objects.filter(user=user).count() == 5
    assert feed(alice) == ["b11", "b10", "b9", "b8", "b7"]


def test_trimming_is_spread_over_posts(alice, bob, user, settings):
    settings.TIMELINE_CAP = 5
    settings.TIMELINE_TRIM_EVERY = 4
    alice.post("/api/users/bob/follow/")
    sizes = []
    for index in range(30):
        post(bob, f"b{index}")
        sizes.append(TimelineEntry.objects.filter(user=user).count())
    # Never far past the cap, and trimmed back to it from time to time.
    assert max(sizes) <= 5 + 4 * 3
    assert sizes.count(5) >= 3
    assert feed(alice, page_size=5) == ["b29", "b28", "b27", "b26", "b25"]


def test_a_backfill_past_the_cap_is_trimmed_at_once(alice, bob, user, settings):
    settings.TIMELINE_CAP = 4
    settings.FOLLOW_BACKFILL = 10
    for index in range(8):
        post(bob, f"b{index}")
    alice.post("/api/users/bob/follow/")
    assert feed(alice) == ["b7", "b6", "b5", "b4"]


def test_feed_pages_with_a_cursor(alice, bob):
    alice.post("/api/users/bob/follow/")
    for index in range(7):
        post(bob, f"b{index}")
    page = alice.get("/api/feed/", {"page_size": 3}).json()
    texts = [p["text"] for p in page["results"]]
    post(bob, "arrives while paging")
    while page["next"]:
        page = alice.get(page["next"]).json()
        texts += [p["text"] for p in page["results"]]
    assert texts == [f"b{i}" for i in range(6, -1, -1)]


def test_feed_and_post_objects_agree(alice, bob, other):
    alice.post("/api/users/bob/follow/")
    post_id = post(bob, "same everywhere")
    from_feed = alice.get("/api/feed/").json()["results"][0]
    assert from_feed == alice.get(f"/api/posts/{post_id}/").json()
    assert from_feed["author"]["username"] == "bob"


def test_posts_after_an_unfollow_do_not_arrive(alice, bob, user):
    alice.post("/api/users/bob/follow/")
    alice.delete("/api/users/bob/follow/")
    post(bob, "after")
    assert feed(alice) == []
    assert Post.objects.count() == 1


def test_the_authors_own_timeline_is_trimmed_too(alice, user, settings):
    settings.TIMELINE_CAP = 5
    settings.TIMELINE_TRIM_EVERY = 1
    for index in range(12):
        post(alice, f"mine {index}")
    assert TimelineEntry.objects.filter(user=user).count() == 5
    assert feed(alice) == [f"mine {index}" for index in range(11, 6, -1)]
