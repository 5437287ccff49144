"""Sessions that end close their websockets, on every websocket process.

`accounts.services` publishes `session.closed` (one session signed out; session 0 stands
for the tokens that carry no session) and `sessions.closed` (every session of the account
but `keep_session_id` ended: sign out everywhere, a password change, a suspension) after
their transaction commits, and `web_session.closed` when a browser signs out of the web
client (`web_session`: the number `accounts.sessions.session_number` gives its session).
The handlers send one live message to the group every websocket process joins; each
process's hub closes, with code 4401, the sockets of that account that were opened with a
token of an ended session, or by the signed-out browser session (notifications.live). A
message that did not go out fails the job, which is retried (notifications.live.Unsent):
a signed-out session's socket must not stay open.
"""

import logging

from common import events
from notifications import live

logger = logging.getLogger("warble.websocket")


@events.register("session.closed", "user_id", "session_id")
async def close_session_sockets(user_id: int, session_id: int) -> dict:
    """Close the sockets opened with the tokens of one session."""
    sent = await live.send(live.session_closed(user_id=user_id, session_id=session_id))
    stats = {"user_id": user_id, "session_id": session_id, "live_batches_sent": int(sent)}
    live.require_sent(stats, sent=int(sent), expected=1)
    logger.info("session.closed sent", extra=stats)
    return stats


@events.register("sessions.closed", "user_id", keep_session_id=0)
async def close_other_sessions_sockets(user_id: int, keep_session_id: int) -> dict:
    """Close the account's sockets but those of `keep_session_id` (0: keep none)."""
    sent = await live.send(live.sessions_closed(user_id=user_id, keep_session_id=keep_session_id))
    stats = {"user_id": user_id, "kept": keep_session_id, "live_batches_sent": int(sent)}
    live.require_sent(stats, sent=int(sent), expected=1)
    logger.info("sessions.closed sent", extra=stats)
    return stats


@events.register("web_session.closed", "user_id", "web_session")
async def close_web_session_sockets(user_id: int, web_session: int) -> dict:
    """Close the sockets a browser opened with the session cookie it signed out of."""
    sent = await live.send(live.web_session_closed(user_id=user_id, web_session=web_session))
    stats = {"user_id": user_id, "live_batches_sent": int(sent)}
    live.require_sent(stats, sent=int(sent), expected=1)
    logger.info("web_session.closed sent", extra=stats)
    return stats
