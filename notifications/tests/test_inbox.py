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
    client.get(INBOX)  # the process keeps the account from here on
    counts = []
    for size in (1, 100):
        with CaptureQueriesContext(connection) as queries:
            body = client.get(INBOX, {"page_size": size}).json()
        assert len(body["results"]) == size
        counts.append(len(queries))
    # On PostgreSQL the page, what the viewer did to its posts and the account's state are
    # one statement (notifications.selectors.InboxRows, CheckAhead); elsewhere the account,
    # the page and the flags are one each.
    assert counts[0] == counts[1] == (1 if connection.vendor == "postgresql" else 3)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="fixed SQL on PostgreSQL only")
def test_the_inbox_statement_reads_what_the_orm_reads():
    """`InboxRows` against `with_payload`'s queryset, rendered, for every type, reposts
    (of a suspended account's post too), blocks either way, a suspended actor, read ones,
    `since` and `unread`, in pages of several sizes both ways; and the websocket replay's
    pages."""
    from follows.services import block_create
    from notifications import selectors
    from notifications.serializers import render_notifications
    from posts.services import bookmark_create, like_create, post_create, repost_create

    me, friend, blocked, blocker, suspended, gone = (make_user() for _ in range(6))
    theirs = post_create(author=gone, text="of an account suspended later")[0]
    # Blocks delete what was told across them: these rows come after, as a fan-out page
    # that raced the block would leave them.
    block_create(blocker=me, blocked=blocked)
    block_create(blocker=blocker, blocked=me)
    Type = Notification.Type
    for round_ in range(3):
        mine = post_create(author=me, text=f"mine {round_} #tag @{friend.username}")[0]
        bookmark_create(user=me, post=mine)
        kinds = [
            (friend, Type.FOLLOW_CREATED, None),
            (friend, Type.POST_LIKED, mine),
            (friend, Type.POST_REPOSTED, mine),
            (friend, Type.POST_CREATED, post_create(author=friend, text=f"hi {round_}")[0]),
            (friend, Type.POST_CREATED, repost_create(user=friend, post=theirs)[0]),
            (
                friend,
                Type.POST_REPLIED,
                post_create(author=friend, text="re", reply_to_id=mine.pk)[0],
            ),
            (friend, Type.POST_MENTIONED, post_create(author=friend, text=f"@x {round_}")[0]),
            (blocked, Type.FOLLOW_CREATED, None),
            (blocker, Type.POST_LIKED, mine),
            (suspended, Type.FOLLOW_CREATED, None),
        ]
        for actor, kind, subject in kinds:
            Notification.objects.get_or_create(recipient=me, actor=actor, type=kind, post=subject)
    like_create(user=me, post=theirs)
    type(suspended).objects.filter(pk__in=[suspended.pk, gone.pk]).update(is_active=False)
    ids = sorted(Notification.objects.filter(recipient=me).values_list("id", flat=True))
    Notification.objects.filter(id__in=ids[:5]).update(read=True)
    middle = ids[len(ids) // 2]

    shown = set()
    for since, unread in [(None, False), (None, True), (ids[7], False), (ids[7], True)]:
        rows = selectors.notifications_for(user=me, since=since, unread=unread)
        assert isinstance(rows, selectors.InboxRows)
        queryset = selectors.inbox(me)
        if since is not None:
            queryset = queryset.filter(selectors.since_filter(user=me, since=since))
        if unread:
            queryset = queryset.filter(read=False)
        queryset = selectors.with_payload(queryset)
        for size in (1, 4, 50):
            for ordering, bound in [("-id", None), ("-id", "id__lt"), ("id", "id__gt")]:
                page, expected = rows.order_by(ordering), queryset.order_by(ordering)
                if bound is not None:
                    page = page.filter(**{bound: middle})
                    expected = expected.filter(**{bound: middle})
                got = render_notifications(page[:size], viewer=me)
                assert got == render_notifications(expected[:size], viewer=me)
                shown |= {(item["type"], item["read"]) for item in got}
    assert {kind for kind, _ in shown} == set(Type.values)
    assert {read for _, read in shown} == {True, False}
    # The websocket replay's pages, oldest first.
    for after in (0, middle):
        replayed = selectors.notifications_after(user=me, after=after, limit=7)
        orm = selectors.with_payload(selectors.inbox(me).filter(id__gt=after).order_by("id"))
        assert len(replayed) == 7
        assert render_notifications(replayed, viewer=me, read=False) == render_notifications(
            orm[:7], viewer=me, read=False
        )
