import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F

from accounts.models import User
from follows.models import Follow
from posts.models import Post, TimelineEntry

pytestmark = pytest.mark.django_db(transaction=True)


def expected_timeline(user_id: int, cap: int) -> list[int]:
    authors = {
        user_id,
        *Follow.objects.filter(follower_id=user_id).values_list("followee_id", flat=True),
    }
    return list(
        Post.objects.filter(author_id__in=authors)
        .order_by("-id")
        .values_list("id", flat=True)[:cap]
    )


def test_seed_demo_makes_what_it_is_asked_for(settings, capsys):
    settings.TIMELINE_CAP = 40
    call_command("seed_demo", users=120, follows=2400, posts=3000, celebrity=100, seed=3)
    assert User.objects.count() == 121
    assert Follow.objects.count() == 2500
    assert Post.objects.count() == 3000
    celebrity = User.objects.get(username="usercelebrity")
    assert Follow.objects.filter(followee=celebrity).count() == 100
    assert not Follow.objects.filter(follower_id=F("followee_id")).exists()
    # Following counts are spread out, not uniform.
    counts = sorted(
        Follow.objects.filter(follower__username__regex=r"^user[0-9]+$")
        .values("follower_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    assert counts[-1] > 3 * counts[len(counts) // 2]
    output = capsys.readouterr().out
    assert "posts: 3,000/3,000 (100%)" in output
    assert "Done in" in output


def test_seed_demo_timelines_follow_the_product_rules(settings):
    settings.TIMELINE_CAP = 25
    call_command("seed_demo", users=60, follows=900, posts=2000, seed=5)
    for user in User.objects.all():
        stored = list(
            TimelineEntry.objects.filter(user=user)
            .order_by("-post_id")
            .values_list("post_id", flat=True)
        )
        assert stored == expected_timeline(user.pk, 25), user.username


def test_seed_demo_users_can_sign_in(anon):
    call_command("seed_demo", users=5, follows=10, posts=10, password="pass-for-demo")
    response = anon.post(
        "/api/auth/login/", {"username": "user3", "password": "pass-for-demo"}, format="json"
    )
    assert response.status_code == 200


def test_seed_demo_refuses_to_clash_and_bad_sizes():
    call_command("seed_demo", users=3, follows=2, posts=1)
    with pytest.raises(CommandError, match="--prefix"):
        call_command("seed_demo", users=3, follows=2, posts=1)
    call_command("seed_demo", users=3, follows=2, posts=1, prefix="more")
    assert User.objects.filter(username__startswith="more").count() == 3
    with pytest.raises(CommandError):
        call_command("seed_demo", users=3, follows=7, posts=1, prefix="x")
    with pytest.raises(CommandError):
        call_command("seed_demo", users=1, prefix="y")
