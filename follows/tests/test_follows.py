import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from common.testing import client_for, make_user
from follows.models import Follow
from notifications.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)


def follow(client, username):
    return client.post(f"/api/users/{username}/follow/")


def unfollow(client, username):
    return client.delete(f"/api/users/{username}/follow/")


def test_follow_is_idempotent(api, user, other):
    first = follow(api, "bob")
    assert first.status_code == 201
    assert first.json()["username"] == "bob"
    assert first.json()["followers_count"] == 1
    assert follow(api, "BOB").status_code == 200
    assert Follow.objects.filter(follower=user, followee=other).count() == 1


def test_following_notifies_once(api, user, other):
    follow(api, "bob")
    follow(api, "bob")
    notifications = Notification.objects.filter(recipient=other)
    assert [(n.type, n.actor_id) for n in notifications] == [("follow.created", user.pk)]


def test_cannot_follow_yourself(api, user):
    response = follow(api, "alice")
    assert response.status_code == 400
    assert response.json() == {"detail": "You cannot follow yourself."}
    assert not Follow.objects.exists()


def test_database_refuses_self_follow_and_duplicates(user, other):
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=user, followee=user)
    Follow.objects.create(follower=user, followee=other)
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=user, followee=other)


def test_unfollow_is_204_either_way(api, user, other):
    follow(api, "bob")
    assert unfollow(api, "bob").status_code == 204
    assert not Follow.objects.exists()
    assert unfollow(api, "bob").status_code == 204


def test_unknown_user_is_404(api, user):
    assert follow(api, "nobody").status_code == 404
    assert unfollow(api, "nobody").status_code == 404
    assert api.get("/api/users/nobody/followers/").status_code == 404
    assert api.get("/api/users/nobody/following/").status_code == 404


def test_anonymous_is_401(anon, other):
    assert follow(anon, "bob").status_code == 401
    assert unfollow(anon, "bob").status_code == 401
    assert anon.get("/api/users/bob/followers/").status_code == 401
    assert anon.get("/api/users/bob/following/").status_code == 401


def test_followers_and_following_lists_newest_first(user, other):
    carol, dave = make_user("carol"), make_user("dave")
    for person in (user, carol, dave):
        follow(client_for(person), "bob")
    follow(client_for(other), "carol")
    api = client_for(user)
    followers = api.get("/api/users/bob/followers/").json()
    assert [u["username"] for u in followers["results"]] == ["dave", "carol", "alice"]
    assert followers["results"][1]["followers_count"] == 1  # carol is followed by bob
    assert followers["results"][1]["following_count"] == 1
    following = api.get("/api/users/bob/following/").json()
    assert [u["username"] for u in following["results"]] == ["carol"]
    assert api.get("/api/users/alice/followers/").json()["results"] == []


def test_followers_pages(user, other):
    people = [make_user(f"fan{i}") for i in range(5)]
    for person in people:
        Follow.objects.create(follower=person, followee=other)
    api = client_for(user)
    page = api.get("/api/users/bob/followers/", {"page_size": 2}).json()
    seen = [u["username"] for u in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [u["username"] for u in page["results"]]
    assert seen == ["fan4", "fan3", "fan2", "fan1", "fan0"]
    assert api.get("/api/users/bob/followers/", {"cursor": "zzz"}).status_code == 400


def test_profile_counts_follow_follows(api, user, other):
    follow(api, "bob")
    assert api.get("/api/users/bob/").json()["followers_count"] == 1
    assert api.get("/api/users/me/").json()["following_count"] == 1
    unfollow(api, "bob")
    assert api.get("/api/users/bob/").json()["followers_count"] == 0
    assert api.get("/api/users/me/").json()["following_count"] == 0


def test_deactivated_users_leave_the_lists(api, user, other):
    follow(api, "bob")
    user.is_active = False
    user.save()
    viewer = client_for(make_user("carol"))
    assert viewer.get("/api/users/bob/followers/").json()["results"] == []


@pytest.mark.parametrize("kind", ["followers", "following"])
def test_list_query_count_does_not_grow_with_page_size(user, other, kind):
    for index in range(110):
        person = make_user(f"p{index}")
        if kind == "followers":
            Follow.objects.create(follower=person, followee=other)
        else:
            Follow.objects.create(follower=other, followee=person)
    api = client_for(user)
    counts = []
    for size in (1, 100):
        with CaptureQueriesContext(connection) as queries:
            body = api.get(f"/api/users/bob/{kind}/", {"page_size": size}).json()
        assert len(body["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 2
