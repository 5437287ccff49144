"""The RabbitMQ channel layer with the fixes it needs in production.

- The shared connection future is shielded: without it, one cancelled waiter (a timeout, or
  a server cancelling a consumer) while RabbitMQ is unreachable cancels the future, kills
  the reconnect task and leaves the process's layer broken until restart.
- Channel and group names are checked with the non-deprecated validators of channels 4.3.
"""

import asyncio

from channels.layers import BaseChannelLayer
from channels_rabbitmq.core import RabbitmqChannelLayer as _RabbitmqChannelLayer


class RabbitmqChannelLayer(_RabbitmqChannelLayer):
    @property
    def carehare_connection(self):
        return asyncio.shield(super().carehare_connection)

    def valid_channel_name(self, name, receive=False):
        return BaseChannelLayer.require_valid_channel_name(self, name, receive)

    def valid_group_name(self, name):
        return BaseChannelLayer.require_valid_group_name(self, name)
