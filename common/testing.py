"""Helpers for tests: users, authenticated clients and local ports."""

import contextlib
import itertools
import socket

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role, User

PASSWORD = "correct-horse-battery-staple"  # noqa: S105 (test accounts only)
_usernames = itertools.count(1)


def make_user(username: str | None = None, *, role: str = Role.USER, **fields) -> User:
    username = username or f"user{next(_usernames)}"
    user = User(username=username, **fields)
    user.role = role
    user.set_password(PASSWORD)
    user.save()
    return user


def access_token(user: User) -> str:
    return str(RefreshToken.for_user(user).access_token)


def client_for(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    return client


def free_port() -> int:
    """A local TCP port nothing listens on: for a server to take, or to be refused at."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def silent_listener():
    """A local port that accepts connections (the kernel completes them) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]
