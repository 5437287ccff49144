"""The RabbitMQ channel layer with the fixes it needs in production.

- The shared connection future is shielded: without it, one cancelled waiter (a timeout, or
  a server cancelling a consumer) while RabbitMQ is unreachable cancels the future, kills
  the reconnect task and leaves the process's layer broken until restart.
- Channel and group names are checked with the non-deprecated validators of channels 4.3.
- `group_send` raises when the connection closed under the publish: channels_rabbitmq logs
  a warning and returns as if the message went out, and the fan-out worker must know, to
  send it again (notifications.live.Unsent).
- `connection_state()` tells the live hub when the connection dropped or came back: group
  messages published meanwhile are lost (the process's queue went with the connection), so
  the hub has its clients catch up from the database.
"""

import asyncio

import carehare
from channels.layers import BaseChannelLayer
from channels_rabbitmq.core import RabbitmqChannelLayer as _RabbitmqChannelLayer


class RabbitmqChannelLayer(_RabbitmqChannelLayer):
    @property
    def carehare_connection(self):
        return asyncio.shield(super().carehare_connection)

    async def group_send(self, group, message):
        connection = await self.carehare_connection
        await super().group_send(group, message)
        if connection.closed.done():
            # It closed while the message was on its way, or just after: the message may not
            # have gone out, and sending it again is harmless (clients de-duplicate by id).
            raise carehare.ConnectionClosed(f"the connection closed while sending to {group}")

    def connection_state(self) -> tuple[asyncio.Future, bool]:
        """The layer's current connection (a future that channels_rabbitmq replaces when
        the connection drops) and whether it is established: a change of either means a
        gap in the group messages this process received."""
        future = super().carehare_connection
        return future, future.done()

    def valid_channel_name(self, name, receive=False):
        return BaseChannelLayer.require_valid_channel_name(self, name, receive)

    def valid_group_name(self, name):
        return BaseChannelLayer.require_valid_group_name(self, name)
