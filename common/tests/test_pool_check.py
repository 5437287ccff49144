"""The pooled connection's check as it is taken (common/postgresql `check_idle`): a working
idle connection passes without a round trip; one the server ended, or that was closed,
fails; one the server wrote something else to is checked with an empty query and passes."""

import select
import time

import psycopg
import pytest
from django.conf import settings
from psycopg_pool import ConnectionPool

from common.postgresql.base import check_idle

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "common.postgresql", reason="PostgreSQL only"
)


@pytest.fixture
def conninfo() -> str:
    database = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        host=database["HOST"] or "127.0.0.1",
        port=database["PORT"] or 5432,
        user=database["USER"],
        password=database["PASSWORD"],
        dbname="postgres",
    )


@pytest.fixture
def queries(monkeypatch) -> list:
    """The empty queries `check_idle` sends (psycopg's own check, which it falls back to)."""
    sent = []
    original = ConnectionPool.check_connection

    def counted(connection):
        sent.append(connection)
        original(connection)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counted))
    return sent


def readable(connection, timeout: float = 5.0) -> bool:
    poll = select.poll()
    poll.register(connection.fileno(), select.POLLIN)
    return bool(poll.poll(timeout * 1000))


def test_a_working_idle_connection_passes_without_a_query(conninfo, queries):
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("SELECT 1").fetchall()
        for _ in range(3):
            check_idle(connection)
        assert queries == []
        assert connection.execute("SELECT 2").fetchone() == (2,)


def test_a_connection_the_server_ended_fails(conninfo, queries):
    with (
        psycopg.connect(conninfo, autocommit=True) as connection,
        psycopg.connect(conninfo, autocommit=True) as other,
    ):
        other.execute("SELECT pg_terminate_backend(%s)", [connection.info.backend_pid])
        assert readable(connection), "the server's goodbye never arrived"
        with pytest.raises(psycopg.OperationalError):
            check_idle(connection)
        assert queries == [connection]


def test_a_closed_connection_fails(conninfo, queries):
    connection = psycopg.connect(conninfo, autocommit=True)
    connection.close()
    with pytest.raises(psycopg.OperationalError):
        check_idle(connection)
    assert queries == []


def test_a_connection_with_a_message_waiting_is_checked_with_a_query_and_passes(conninfo, queries):
    with (
        psycopg.connect(conninfo, autocommit=True) as connection,
        psycopg.connect(conninfo, autocommit=True) as other,
    ):
        connection.execute("LISTEN pool_check")
        other.execute("NOTIFY pool_check, 'hello'")
        deadline = time.monotonic() + 5
        while not readable(connection, 0.1) and time.monotonic() < deadline:
            pass
        check_idle(connection)
        assert queries == [connection]
        assert connection.execute("SELECT 3").fetchone() == (3,)


def test_without_poll_every_connection_is_checked_with_a_query(conninfo, queries, monkeypatch):
    monkeypatch.delattr(select, "poll")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        check_idle(connection)
        assert queries == [connection]
