"""The RabbitMQ channel layer with the fixes it needs in production.

- The shared connection future is shielded: without it, one cancelled waiter (a timeout, or
  a server cancelling a consumer) while RabbitMQ is unreachable cancels the future, kills
  the reconnect task and leaves the process's layer broken until restart.
- Channel and group names are checked with the non-deprecated validators of channels 4.3.
- `connection_state()` tells the live hub when the connection dropped or came back: group
  messages published meanwhile are lost (the process's queue went with the connection), so
  the hub has its clients catch up from the database.
"""

import asyncio

from channels.layers import BaseChannelLayer
from channels_rabbitmq.core import RabbitmqChannelLayer as _RabbitmqChannelLayer


class RabbitmqChannelLayer(_RabbitmqChannelLayer):
    @property
    def carehare_connection(self):
        return asyncio.shield(super().carehare_connection)

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
