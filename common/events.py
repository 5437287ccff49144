"""Product events: the one seam through which apps tell each other what happened.

Services publish an event (`post.created`, `post.liked`, `follow.created`, ...) after their
transaction commits; the app that reacts registers a handler for the kind in its
`AppConfig.ready()`. The emitter never imports the listener, so apps depend only downward.
Events travel through `common.transport` (the durable RabbitMQ queue in production, this
process in the embedded mode) as small JSON objects of integer fields; the transport, the
worker and the websocket hub carry any kind unchanged.
"""

from collections.abc import Awaitable, Callable
from typing import NamedTuple

from django.db import transaction

Handler = Callable[..., Awaitable[dict]]


class InvalidEvent(ValueError):
    """An event that can never be handled (dropped, not retried)."""


class _Registration(NamedTuple):
    handler: Handler
    fields: tuple[str, ...]
    optional: dict[str, int]


_registry: dict[str, _Registration] = {}


def register(kind: str, *fields: str, **optional: int) -> Callable[[Handler], Handler]:
    """Decorator: `handler(**fields)` handles events of `kind`, whose named fields are
    integers; `optional` fields take their default when an event lacks them (events
    published before the field existed). One handler per kind."""

    def decorate(handler: Handler) -> Handler:
        existing = _registry.get(kind)
        if existing is not None and existing.handler is not handler:
            raise RuntimeError(f"a handler for {kind!r} is registered already")
        _registry[kind] = _Registration(handler, fields, optional)
        return handler

    return decorate


def publish(kind: str, **fields: int) -> bool:
    """Hand an event to the transport now; True once it is safely handed over."""
    from common import transport

    return transport.publish({"type": kind, **fields})


def publish_on_commit(kind: str, **fields: int) -> None:
    """Publish once the current transaction commits (at once outside one). A failed publish
    never turns the committed write into an error, and loses nothing: with a broker, the
    event is written to the outbox in the caller's transaction and removed once the broker
    confirmed it; the worker's sweeper publishes what a broker outage left there."""
    from common import transport
    from common.availability import database_outage, is_database_unavailable

    if not transport.is_durable():
        # Handled in this process: handing over cannot fail.
        transaction.on_commit(lambda: publish(kind, **fields), robust=True)
        return
    from common.models import OutboxEvent

    row = OutboxEvent.objects.create(kind=kind, fields=fields)

    def hand_over() -> None:
        if not publish(kind, **fields):
            return  # the row stays; the sweeper publishes it once the broker is back
        try:
            OutboxEvent.objects.filter(pk=row.pk).delete()
        except Exception as exc:
            # The database went away since the commit (a restart, an outage): the event
            # went out, and its row stays for the sweeper, which publishes it again; its
            # handler takes the second copy as it takes any redelivery. The outage is
            # logged once, as `posts.services.post_publish` logs it.
            if not is_database_unavailable(exc):
                raise
            database_outage.down(exc)

    transaction.on_commit(hand_over, robust=True)


async def handle(message: dict) -> dict:
    """Run the registered handler of one transported event; return what it did (for the
    log). An event that can never be handled raises InvalidEvent; any other error is worth
    a retry."""
    if not isinstance(message, dict):
        raise InvalidEvent("message is not an object")
    kind = message.get("type", "post.created")
    registration = _registry.get(kind)
    if registration is None:
        raise InvalidEvent(f"unknown message type {kind!r}")
    try:
        arguments = {field: int(message[field]) for field in registration.fields}
        for field, default in registration.optional.items():
            arguments[field] = int(message.get(field, default))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"malformed {kind!r} message: {exc!r}") from exc
    return await registration.handler(**arguments)
