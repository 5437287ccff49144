"""Reports, the moderation queue in the API and the Django admin, and suspension."""

import pytest

from accounts.models import User
from common.testing import client_for, make_user
from moderation.models import ModerationAction, Report
from posts.models import Post

pytestmark = pytest.mark.django_db(transaction=True)


def create(client, text) -> dict:
    response = client.post("/api/posts/", {"text": text}, format="json")
    assert response.status_code == 201
    return response.json()


def test_reporting_a_post_or_an_account(alice, bob, other):
    post = create(bob, "spam spam spam")
    response = alice.post(
        "/api/reports/", {"post": post["id"], "reason": "spam", "comment": "ads"}, format="json"
    )
    assert response.status_code == 201
    report = response.json()
    assert report["user"]["username"] == "bob"  # a post's report names its author
    assert report["post"] == post["id"] and report["post_text"] == "spam spam spam"
    assert report["status"] == "open" and report["resolved_by"] is None
    response = alice.post("/api/reports/", {"user": "BOB", "reason": "abuse"}, format="json")
    assert response.status_code == 201
    assert response.json()["post"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"reason": "spam"}, 400),
        ({"user": "bob", "reason": "boring"}, 400),
        ({"user": "bob"}, 400),
        ({"user": "nobody", "reason": "spam"}, 404),
        ({"post": 999999, "reason": "spam"}, 404),
        ({"post": "x", "reason": "spam"}, 400),
        ({"user": "alice", "reason": "spam"}, 400),
        ({"user": "bob", "reason": "other", "comment": "x" * 1001}, 400),
    ],
)
def test_bad_reports_are_refused(alice, other, body, status):
    assert alice.post("/api/reports/", body, format="json").status_code == status
    assert not Report.objects.exists()


def test_only_admins_see_and_resolve_the_queue(alice, bob, admin_user):
    report = alice.post("/api/reports/", {"user": "bob", "reason": "spam"}, format="json").json()
    assert alice.get("/api/reports/").status_code == 403
    assert (
        alice.post(f"/api/reports/{report['id']}/resolve/", {"action": "dismiss"}).status_code
        == 403
    )
    admin = client_for(admin_user)
    assert admin.get("/api/reports/").json()["count"] == 1


def test_the_queue_shows_open_reports_first_and_filters(alice, other, admin_user):
    admin = client_for(admin_user)
    ids = [
        alice.post("/api/reports/", {"user": "bob", "reason": reason}, format="json").json()["id"]
        for reason in ("spam", "abuse", "other")
    ]
    admin.post(f"/api/reports/{ids[2]}/resolve/", {"action": "dismiss"}, format="json")
    queue = admin.get("/api/reports/").json()["results"]
    assert [r["id"] for r in queue] == [ids[1], ids[0], ids[2]]
    assert [r["id"] for r in admin.get("/api/reports/?status=resolved").json()["results"]] == [
        ids[2]
    ]
    assert [r["id"] for r in admin.get("/api/reports/?reason=spam").json()["results"]] == [ids[0]]
    assert admin.get("/api/reports/?status=maybe").status_code == 400


def test_resolving_records_who_when_and_how(alice, bob, admin_user):
    admin = client_for(admin_user)
    report = alice.post("/api/reports/", {"user": "bob", "reason": "spam"}, format="json").json()
    response = admin.post(
        f"/api/reports/{report['id']}/resolve/",
        {"action": "dismiss", "note": "not spam"},
        format="json",
    )
    assert response.status_code == 200
    resolved = response.json()
    assert resolved["status"] == "resolved" and resolved["action"] == "dismiss"
    assert resolved["resolved_by"]["username"] == "root"
    assert resolved["resolved_at"] and resolved["note"] == "not spam"
    record = ModerationAction.objects.get()
    assert (record.admin_username, record.action, record.target_username) == (
        "root",
        "dismiss",
        "bob",
    )
    again = admin.post(f"/api/reports/{report['id']}/resolve/", {"action": "dismiss"})
    assert again.status_code == 400
    assert admin.post("/api/reports/999/resolve/", {"action": "dismiss"}).status_code == 404
    bad = admin.post(f"/api/reports/{report['id']}/resolve/", {"action": "ban"}, format="json")
    assert bad.status_code == 400


def test_removing_a_reported_post(alice, bob, admin_user):
    admin = client_for(admin_user)
    post = create(bob, "bad post")
    report = alice.post("/api/reports/", {"post": post["id"], "reason": "abuse"}, format="json")
    response = admin.post(
        f"/api/reports/{report.json()['id']}/resolve/", {"action": "remove_post"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["post"] is None
    assert response.json()["post_text"] == "bad post"
    assert not Post.objects.filter(pk=post["id"]).exists()
    assert User.objects.get(username="bob").posts_count == 0
    user_report = alice.post("/api/reports/", {"user": "bob", "reason": "spam"}, format="json")
    refused = admin.post(
        f"/api/reports/{user_report.json()['id']}/resolve/",
        {"action": "remove_post"},
        format="json",
    )
    assert refused.status_code == 400


def test_suspension_hides_everything_until_reinstated(alice, bob, other, admin_user, user):
    carol = client_for(make_user("carol"))
    alice.post("/api/users/bob/follow/")
    carol.post("/api/users/alice/follow/")
    bobs = create(bob, "bob #says hello")
    alices = create(alice, "alice's")
    alice_repost = alice.post(f"/api/posts/{bobs['id']}/repost/").json()
    bob.post(f"/api/posts/{alices['id']}/like/")
    reply = alice.post(
        "/api/posts/", {"text": "answer", "reply_to": bobs["id"]}, format="json"
    ).json()
    admin = client_for(admin_user)
    report = alice.post("/api/reports/", {"user": "bob", "reason": "abuse"}, format="json")
    assert (
        admin.post(
            f"/api/reports/{report.json()['id']}/resolve/", {"action": "suspend"}, format="json"
        ).status_code
        == 200
    )
    # Signed out: its tokens are refused.
    assert bob.get("/api/users/me/").status_code == 401

    def visible_ids(client, path):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        if response.status_code == 404:
            return set()
        return {p["id"] for p in response.json()["results"]}

    for path in ["/api/feed/", "/api/posts/", "/api/posts/?q=hello", "/api/tags/says/posts/"]:
        ids = visible_ids(alice, path)
        assert bobs["id"] not in ids and alice_repost["id"] not in ids, path
    assert alice.get(f"/api/posts/{bobs['id']}/").status_code == 404
    assert alice.get("/api/users/bob/").status_code == 404
    assert alice.get("/api/users/bob/posts/").status_code == 404
    assert alice.get(f"/api/posts/{reply['id']}/ancestors/").json() == []
    assert alice.get(f"/api/posts/{alices['id']}/likes/").json()["results"] == []
    assert "post.liked" not in [
        n["type"] for n in alice.get("/api/notifications/").json()["results"]
    ]
    assert "bob" not in [
        u["username"] for u in alice.get("/api/users/alice/followers/").json()["results"]
    ]
    # Reinstated: everything comes back.
    assert admin.patch("/api/users/bob/", {"is_active": True}, format="json").status_code == 200
    assert bobs["id"] in visible_ids(alice, "/api/feed/")
    assert alice.get(f"/api/posts/{bobs['id']}/").status_code == 200
    assert "post.liked" in [n["type"] for n in alice.get("/api/notifications/").json()["results"]]


def test_a_suspended_accounts_pending_fanout_is_dropped(alice, other, settings):
    from asgiref.sync import async_to_sync

    from common.events import handle
    from notifications.models import Notification

    alice.post("/api/users/bob/follow/")
    post = Post.objects.create(author=other, text="queued before the suspension")
    User.objects.filter(pk=other.pk).update(is_active=False)
    stats = async_to_sync(handle)({"type": "post.created", "post_id": post.pk})
    assert stats["skipped"] is True
    assert not Notification.objects.filter(post=post).exists()


def test_the_django_admin_report_queue_and_actions(alice, bob, admin_user, client):
    post = create(bob, "reported in the admin")
    first = alice.post("/api/reports/", {"post": post["id"], "reason": "spam"}, format="json")
    second = alice.post("/api/reports/", {"user": "bob", "reason": "abuse"}, format="json")
    client.force_login(admin_user)
    page = client.get("/admin/moderation/report/", {"status__exact": "open"})
    assert page.status_code == 200 and b"reported in the admin" in page.content
    assert client.get("/admin/moderation/report/", {"reason__exact": "spam"}).status_code == 200
    assert client.get(f"/admin/moderation/report/{first.json()['id']}/change/").status_code == 200
    response = client.post(
        "/admin/moderation/report/",
        {"action": "resolve_remove_post", "_selected_action": [first.json()["id"]]},
    )
    assert response.status_code == 302
    assert not Post.objects.filter(pk=post["id"]).exists()
    client.post(
        "/admin/moderation/report/",
        {"action": "resolve_suspend", "_selected_action": [second.json()["id"]]},
    )
    assert not User.objects.get(username="bob").is_active
    assert list(ModerationAction.objects.order_by("id").values_list("action", flat=True)) == [
        "remove_post",
        "suspend",
    ]
    assert client.get("/admin/moderation/moderationaction/").status_code == 200
    assert client.get("/admin/moderation/report/add/").status_code == 403
