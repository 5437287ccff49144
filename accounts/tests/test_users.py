import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from common.testing import client_for, make_user
from follows.models import Follow
from follows.services import follow_create
from notifications.models import Notification
from posts.models import Post, TimelineEntry
from posts.services import post_create

pytestmark = pytest.mark.django_db

ME = "/api/users/me/"


def test_me(api, user):
    body = api.get(ME).json()
    assert body["id"] == user.pk
    assert body["username"] == "alice"
    assert body["role"] == "user"
    assert set(body) >= {
        "id",
        "username",
        "display_name",
        "bio",
        "avatar_url",
        "followers_count",
        "following_count",
        "posts_count",
        "date_joined",
        "email",
        "role",
    }


def test_patch_me_edits_the_profile(api, user):
    response = api.patch(
        ME,
        {
            "display_name": "Alice A.",
            "bio": "Hello",
            "email": "a@example.com",
            "username": "alicia",
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["username"] == "alicia"
    user.refresh_from_db()
    assert (user.display_name, user.bio, user.email, user.username) == (
        "Alice A.",
        "Hello",
        "a@example.com",
        "alicia",
    )


def test_patch_me_may_change_the_case_of_ones_own_username(api, user):
    response = api.patch(ME, {"username": "Alice"}, format="json")
    assert response.status_code == 200
    assert response.json()["username"] == "Alice"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "BOB"}, "username"),
        ({"username": "me"}, "username"),
        ({"username": "bad name"}, "username"),
        ({"username": "élodie"}, "username"),
        ({"bio": "x" * 161}, "bio"),
        ({"display_name": "x" * 51}, "display_name"),
        ({"email": "nope"}, "email"),
    ],
)
def test_patch_me_validation(api, user, other, body, field):
    response = api.patch(ME, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    user.refresh_from_db()
    assert user.username == "alice"


@pytest.mark.parametrize("body", [{"role": "admin"}, {"is_staff": True}, {"is_superuser": True}])
def test_nobody_makes_themselves_admin_through_their_profile(api, user, body):
    response = api.patch(ME, body, format="json")
    assert response.status_code in (200, 403)
    user.refresh_from_db()
    assert user.role == "user"
    assert not user.is_staff and not user.is_superuser


def test_delete_me_removes_everything_of_the_account(user, other):
    post = Post.objects.create(author=user, text="mine")
    TimelineEntry.objects.create(user=other, post=post)
    Follow.objects.create(follower=user, followee=other)
    Follow.objects.create(follower=other, followee=user)
    Notification.objects.create(recipient=other, actor=user, type="follow.created")
    Notification.objects.create(recipient=user, actor=other, type="follow.created")
    response = client_for(user).delete(ME)
    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Post.objects.exists()
    assert not TimelineEntry.objects.exists()
    assert not Follow.objects.exists()
    assert not Notification.objects.exists()
    assert User.objects.filter(pk=other.pk).exists()


def test_public_profile_has_counts_and_no_private_fields(api, other, user):
    follow_create(follower=user, followee=other)
    third = make_user("carol")
    follow_create(follower=third, followee=other)
    follow_create(follower=other, followee=third)
    post_create(author=other, text="one")
    response = api.get("/api/users/BOB/")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "bob"
    assert (body["followers_count"], body["following_count"], body["posts_count"]) == (2, 1, 1)
    assert "email" not in body and "role" not in body and "password" not in body


def test_unknown_and_deactivated_profiles_are_404(api, other):
    assert api.get("/api/users/nobody/").status_code == 404
    other.is_active = False
    other.save()
    response = api.get("/api/users/bob/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_profile_is_one_statement_with_the_account_state(api, user, other):
    """On PostgreSQL the profile and the viewer's account state are read by one statement
    (accounts.selectors.user_profile, CheckAhead); elsewhere the account, then the profile.
    The state still refuses a viewer deactivated since the process kept the account."""
    api.get("/api/users/bob/")  # the process keeps the account from here on
    for path, status in [("/api/users/bob/", 200), ("/api/users/nobody/", 404)]:
        with CaptureQueriesContext(connection) as queries:
            response = api.get(path)
        assert response.status_code == status
        assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert api.get("/api/users/bob/").status_code == 401


def test_admin_lists_users_with_search_and_page_numbers(admin_user, user, other):
    client = client_for(admin_user)
    body = client.get("/api/users/").json()
    assert body["count"] == 3
    assert [u["username"] for u in body["results"]] == ["bob", "alice", "root"]
    assert body["results"][0]["role"] == "user"
    found = client.get("/api/users/", {"search": "ALI"}).json()
    assert [u["username"] for u in found["results"]] == ["alice"]
    page = client.get("/api/users/", {"page_size": 1, "page": 2}).json()
    assert page["count"] == 3 and [u["username"] for u in page["results"]] == ["alice"]
    assert client.get("/api/users/", {"page": 99}).status_code == 404
    assert client.get("/api/users/", {"page_size": "x"}).status_code == 400


def test_admin_list_query_count_does_not_grow_with_page_size(admin_user):
    for index in range(30):
        person = make_user(f"person{index}")
        Post.objects.create(author=person, text="hi")
    client = client_for(admin_user)
    counts = []
    for size in (1, 30):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/users/", {"page_size": size}).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 3  # auth user, COUNT, page


def test_admin_changes_role_and_active(admin_user, user):
    client = client_for(admin_user)
    response = client.patch("/api/users/alice/", {"role": "admin"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    user.refresh_from_db()
    assert user.is_staff and user.role == "admin"
    response = client.patch(
        "/api/users/alice/", {"role": "user", "is_active": False}, format="json"
    )
    assert response.json()["role"] == "user" and response.json()["is_active"] is False
    user.refresh_from_db()
    assert not user.is_staff and not user.is_active
    # An inactive account is still reachable by admins, to reactivate it.
    assert client.patch("/api/users/alice/", {"is_active": True}, format="json").status_code == 200


def test_admin_patch_validation_and_404(admin_user, user):
    client = client_for(admin_user)
    assert client.patch("/api/users/alice/", {"role": "god"}, format="json").status_code == 400
    assert (
        client.patch("/api/users/alice/", {"is_active": "maybe"}, format="json").status_code == 400
    )
    assert client.patch("/api/users/nobody/", {"role": "user"}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"), [({"role": "user"}, "role"), ({"is_active": False}, "is_active")]
)
def test_an_admin_cannot_take_away_their_own_access(admin_user, body, field):
    client = client_for(admin_user)
    response = client.patch(f"/api/users/{admin_user.username}/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    admin_user.refresh_from_db()
    assert admin_user.role == "admin" and admin_user.is_active
    # Keeping what they have is no change; another admin may take it away.
    same = client.patch(f"/api/users/{admin_user.username}/", {"role": "admin"}, format="json")
    assert same.status_code == 200
    other_admin = User.objects.create_superuser("deputy", password="x")
    response = client_for(other_admin).patch(
        f"/api/users/{admin_user.username}/", body, format="json"
    )
    assert response.status_code == 200


def test_demoting_a_superuser_keeps_role_and_staff_in_agreement(admin_user):
    boss = User.objects.create_superuser("boss", password="x")
    assert boss.role == "admin"
    response = client_for(admin_user).patch("/api/users/boss/", {"role": "user"}, format="json")
    assert response.status_code == 200
    boss.refresh_from_db()
    assert (boss.is_staff, boss.is_superuser, boss.role) == (False, False, "user")


def test_createsuperuser_makes_an_admin(db):
    from django.core.management import call_command

    call_command("createsuperuser", "--noinput", "--username=chief", "--email=c@example.com")
    chief = User.objects.get(username="chief")
    assert chief.role == "admin" and chief.is_staff and chief.is_superuser


@pytest.mark.parametrize(
    ("method", "path", "anonymous", "user_status", "admin_status"),
    [
        ("get", "/api/users/", 401, 403, 200),
        ("patch", "/api/users/bob/", 401, 403, 200),
        ("get", "/api/users/bob/", 401, 200, 200),
        ("get", "/api/users/me/", 401, 200, 200),
        ("patch", "/api/users/me/", 401, 200, 200),
        ("put", "/api/users/me/avatar/", 401, 400, 400),
        ("delete", "/api/users/me/avatar/", 401, 204, 204),
    ],
)
def test_permission_matrix(
    user, other, admin_user, method, path, anonymous, user_status, admin_status
):
    body = {"role": "user"} if path == "/api/users/bob/" else {}
    fmt = "multipart" if path.endswith("avatar/") else "json"
    assert getattr(client_for(), method)(path, body, format=fmt).status_code == anonymous
    assert getattr(client_for(user), method)(path, body, format=fmt).status_code == user_status
    assert (
        getattr(client_for(admin_user), method)(path, body, format=fmt).status_code == admin_status
    )


def test_django_admin_lists_filters_and_edits_roles(admin_user, user, other, client):
    client.force_login(admin_user)
    page = client.get("/admin/accounts/user/", {"role": "admin"})
    assert page.status_code == 200
    assert b"root" in page.content and b">alice<" not in page.content
    assert client.get("/admin/accounts/user/", {"q": "ali"}).status_code == 200
    assert client.get("/admin/accounts/user/", {"is_active__exact": "1"}).status_code == 200
    form = client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert form.status_code == 200 and b'name="role"' in form.content
    response = client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "username": "alice",
            "display_name": "Alice",
            "email": "",
            "bio": "",
            "role": "admin",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    assert user.role == "admin" and user.is_staff


def test_django_admin_pages_for_posts_follows_and_notifications(admin_user, user, other, client):
    from follows.models import Follow
    from notifications.models import Notification

    post = Post.objects.create(author=other, text="moderate me")
    Follow.objects.create(follower=user, followee=other)
    Notification.objects.create(recipient=user, actor=other, post=post, type="post.created")
    client.force_login(admin_user)
    for model in ("posts/post", "follows/follow", "notifications/notification"):
        assert client.get(f"/admin/{model}/").status_code == 200
    by_author = client.get("/admin/posts/post/", {"author": "BOB"})
    assert b"moderate me" in by_author.content
    assert b"moderate me" not in client.get("/admin/posts/post/", {"author": "alice"}).content
    assert client.get("/admin/posts/post/", {"q": "moderate"}).status_code == 200
    since = {"created_at__gte": "2026-01-01 00:00:00+00:00"}  # as the date filter writes it
    assert b"moderate me" in client.get("/admin/posts/post/", since).content
    client.post(f"/admin/posts/post/{post.pk}/delete/", {"post": "yes"})
    assert not Post.objects.filter(pk=post.pk).exists()


def test_a_regular_user_cannot_use_the_django_admin(user, client):
    client.force_login(user)
    assert client.get("/admin/accounts/user/").status_code == 302


def test_django_admin_deletes_through_the_services(admin_user, user, other, client):
    from follows.models import Follow
    from follows.services import follow_create

    Post.objects.create(author=other, text="bob's")
    follow_create(follower=user, followee=other)
    assert TimelineEntry.objects.filter(user=user).count() == 1
    client.force_login(admin_user)
    follow = Follow.objects.get()
    response = client.post(f"/admin/follows/follow/{follow.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Follow.objects.exists()
    # As with an unfollow, bob's posts left alice's timeline.
    assert not TimelineEntry.objects.filter(user=user).exists()
    # Rows are created and changed only through the product.
    assert client.get("/admin/posts/post/add/").status_code == 403
    assert client.get("/admin/follows/follow/add/").status_code == 403


def test_django_admin_shows_interactions_and_tags_and_deletes_keep_counts_exact(
    admin_user, user, other, client
):
    from posts.models import Bookmark, Like
    from posts.services import bookmark_create, like_create, post_create, repost_create

    post, _ = post_create(author=other, text="admin sees #Moderation")
    second, _ = post_create(author=other, text="another #moderation post")
    like_create(user=user, post=post)
    like_create(user=user, post=second)
    bookmark_create(user=user, post=post)
    repost_create(user=user, post=post)
    client.force_login(admin_user)
    for model in ("posts/like", "posts/bookmark", "posts/hashtag"):
        assert client.get(f"/admin/{model}/").status_code == 200, model
    assert b"moderation" in client.get("/admin/posts/hashtag/", {"q": "MODER"}).content
    assert b"alice" in client.get("/admin/posts/like/", {"q": "alice"}).content
    tagged = client.get("/admin/posts/post/", {"tag": "#Moderation"}).content
    assert b"admin sees" in tagged and b"another" in tagged
    reposts = client.get("/admin/posts/post/", {"kind": "repost"}).content
    assert f"(repost of {post.pk})".encode() in reposts
    # Deleting a like in the admin is an unlike; deleting posts in bulk keeps counts exact.
    like = Like.objects.get(post=post)
    assert client.post(f"/admin/posts/like/{like.pk}/delete/", {"post": "yes"}).status_code == 302
    assert Post.objects.get(pk=post.pk).like_count == 0
    response = client.post(
        "/admin/posts/post/",
        {"action": "delete_selected", "_selected_action": [post.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Post.objects.filter(pk=post.pk).exists()
    assert not Bookmark.objects.exists()
    assert User.objects.get(pk=user.pk).posts_count == 0  # the repost went with the original
    assert User.objects.get(pk=other.pk).posts_count == 1
    assert Post.objects.get(pk=second.pk).like_count == 1
    out = io.StringIO()
    call_command("recount", "--dry-run", stdout=out)
    assert "Nothing to fix" in out.getvalue()
