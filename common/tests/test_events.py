"""The event seam: apps publish and register through common.events, never through each
other's modules."""

import logging
import modulefinder
from pathlib import Path

import pytest
from django.db import OperationalError, connection, transaction

from common import events

ROOT = Path(__file__).resolve().parents[2]


def _imported_project_modules(path: Path) -> set[str]:
    finder = modulefinder.ModuleFinder(path=[str(ROOT)], excludes=["django", "rest_framework"])
    finder.run_script(str(path))
    return {name for name in finder.modules if name.split(".")[0] in APPS}


APPS = {"accounts", "posts", "follows", "notifications", "common", "config"}


@pytest.mark.parametrize("module", ["posts/services/__init__.py", "accounts/services.py"])
def test_services_do_not_import_the_fanout(module):
    imported = _imported_project_modules(ROOT / module)
    assert "common.events" in imported
    assert not {name for name in imported if name.startswith("notifications")}, imported


async def test_handle_refuses_unknown_and_malformed_events():
    with pytest.raises(events.InvalidEvent, match="unknown message type"):
        await events.handle({"type": "no.such.kind"})
    with pytest.raises(events.InvalidEvent, match="malformed"):
        await events.handle({"type": "post.created", "post_id": "x"})


def test_a_second_handler_for_a_kind_is_refused():
    async def another(post_id):
        return {}

    with pytest.raises(RuntimeError, match="registered already"):
        events.register("post.created", "post_id")(another)


@pytest.mark.django_db(transaction=True)
def test_an_event_published_after_the_database_went_away_stays_for_the_sweeper(
    settings, monkeypatch, caplog
):
    """The broker took the event, then the outbox row's removal failed (the database
    restarted between the commit and the delete): no error, the row stays for the sweeper."""
    from common import transport
    from common.availability import database_outage
    from common.models import OutboxEvent

    settings.RABBITMQ_URL, settings.FANOUT_EAGER = "amqp://guest:guest@127.0.0.1:5672/", False
    sent = []
    monkeypatch.setattr(transport, "publish", lambda message: sent.append(message) or True)
    table = OutboxEvent._meta.db_table

    def server_gone_for_deletes(execute, sql, params, many, context):
        if sql.startswith("DELETE") and table in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    database_outage.up()  # no outage under way: the next one is logged
    try:
        with (
            caplog.at_level(logging.INFO),
            connection.execute_wrapper(server_gone_for_deletes),
            transaction.atomic(),
        ):
            events.publish_on_commit("post.liked", post_id=7, user_id=9)
    finally:
        outage_was_logged = database_outage.active
        database_outage.up()
    assert sent == [{"type": "post.liked", "post_id": 7, "user_id": 9}]
    assert list(OutboxEvent.objects.values_list("kind", "fields")) == [
        ("post.liked", {"post_id": 7, "user_id": 9})
    ]
    # No error and no traceback: the outage is logged once, as a warning.
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith("database unavailable: server closed the connection")
    assert outage_was_logged

    # Once the database answers, a published event's row is removed as before.
    with transaction.atomic():
        events.publish_on_commit("post.unliked", post_id=7, user_id=9)
    assert OutboxEvent.objects.filter(kind="post.unliked").count() == 0
