"""daphne as this project runs it: `manage.py serve` starts `python -m config.daphne`, which
takes the `daphne` command's arguments (`python -m config.daphne config.asgi:application`).

It is daphne's own command line with a server that stops cleanly on SIGTERM:

1. daphne 4.2's shutdown step (`Server.kill_all_applications`) reads the application
   instance of every connection it lists, but a connection has none while its request is
   still being read, and the HTTP request a websocket was upgraded from stays listed without
   one until daphne's next one-second sweep. The step then ends in a KeyError that nobody
   sees (daphne sends Twisted's log nowhere), no application is cancelled, and the reactor
   stops the event loop with the consumers' tasks still pending. The interpreter finalizes
   those coroutines at exit; one waiting in `asyncio.Queue.get()` that was already handed
   a message makes CPython 3.11 (before 3.11.8, gh-113566) format the repr of a future after
   `_asyncio` has been torn down, and the process dies of SIGSEGV.
2. Once the applications are done, what they started in the background (the live hub's
   listener and watcher, the channel layer's connection) is stopped too: the channel layer
   is closed (a clean AMQP close for RabbitMQ's), then every task still pending is cancelled
   and awaited, as `asyncio.run` does when uvicorn stops. The reactor then stops a loop with
   nothing left pending.
"""

import asyncio
import contextlib
import logging

from channels.layers import channel_layers
from daphne.cli import CommandLineInterface as DaphneCommandLine
from daphne.server import Server as DaphneServer
from twisted.internet import defer

logger = logging.getLogger("warble.server")

# Bounds each step of the shutdown, so that a broker that does not answer cannot hold the
# process (daphne's own grace period for an application is 10 s).
SHUTDOWN_STEP_TIMEOUT = 5.0


class Server(DaphneServer):
    def kill_all_applications(self):
        """Cancel every application instance and then the background tasks; twisted waits
        for the returned Deferred before stopping the loop."""
        instances = [
            details["application_instance"]
            for details in self.connections.values()
            if "application_instance" in details
        ]
        pending = [instance for instance in instances if not instance.done()]
        for instance in pending:
            instance.cancel()
        logger.info("stopping: cancelling the applications of %d connections", len(pending))
        return defer.Deferred.fromFuture(asyncio.ensure_future(self._stop(pending)))

    async def _stop(self, instances: list[asyncio.Future]) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*instances, return_exceptions=True), SHUTDOWN_STEP_TIMEOUT
            )
        for layer in list(channel_layers.backends.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(layer.close(), SHUTDOWN_STEP_TIMEOUT)
        current = asyncio.current_task()
        rest = [task for task in asyncio.all_tasks() if task is not current]
        for task in rest:
            task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*rest, return_exceptions=True), SHUTDOWN_STEP_TIMEOUT
            )


class CommandLine(DaphneCommandLine):
    server_class = Server


if __name__ == "__main__":
    CommandLine.entrypoint()
