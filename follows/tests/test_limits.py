"""Per-user limits on the writes that abuse is made of: follows, likes, reposts, blocks,
mutes and reports answer 429 with Retry-After past their rate."""

import pytest
from rest_framework.throttling import ScopedRateThrottle

from common.testing import client_for, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.throttled]


def _targets(count: int) -> list[str]:
    return [make_user(f"target{index}").username for index in range(count)]


def _post(client) -> int:
    return client.post("/api/posts/", {"text": "limit me"}, format="json").json()["id"]


@pytest.mark.parametrize(
    ("scope", "request_for"),
    [
        ("follow", lambda client, name, post: client.post(f"/api/users/{name}/follow/")),
        ("block", lambda client, name, post: client.post(f"/api/users/{name}/block/")),
        ("block", lambda client, name, post: client.post(f"/api/users/{name}/mute/")),
        (
            "report",
            lambda client, name, post: client.post(
                "/api/reports/", {"user": name, "reason": "spam"}, format="json"
            ),
        ),
    ],
)
def test_account_writes_are_limited_per_user(alice, monkeypatch, scope, request_for):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {scope: "2/hour"})
    names = _targets(3)
    assert [request_for(alice, name, None).status_code for name in names[:2]] == [201, 201]
    refused = request_for(alice, names[2], None)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    # Per user: someone else is not limited by alice's use.
    other = client_for(make_user("someone"))
    assert request_for(other, names[2], None).status_code == 201


@pytest.mark.parametrize("action", ["like", "repost"])
def test_likes_and_reposts_are_limited_per_user(alice, bob, monkeypatch, action):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {action: "2/hour", "post": "9/min"})
    posts = [_post(bob) for _ in range(3)]
    assert [alice.post(f"/api/posts/{p}/{action}/").status_code for p in posts[:2]] == [201, 201]
    refused = alice.post(f"/api/posts/{posts[2]}/{action}/")
    assert refused.status_code == 429
    assert "Retry-After" in refused
