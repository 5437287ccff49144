"""The authentication a benchmark server uses to measure the session check by its absence:
the product's class and user query, without the session's EXISTS and its test. Selected by
`BENCH_SESSION_CHECK=off` in bench/settings.py only; no product setting turns it off."""

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.settings import api_settings

from accounts.authentication import USER_SQL, JWTAuthentication
from accounts.models import User


class UncheckedJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token) -> User:
        user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        user = next(iter(User.objects.raw(USER_SQL, [user_id])), None)
        if user is None or not user.is_active:
            raise AuthenticationFailed("User not found", code="user_not_found")
        return user
