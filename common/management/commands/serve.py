"""`manage.py serve`: the embedded mode's one command."""

import importlib.util
import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Apply migrations, collect static files and serve HTTP and websockets with daphne on "
        "SERVER_ADDRESS:SERVER_PORT (127.0.0.1:8000 by default)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--address", default=settings.SERVER_ADDRESS)
        parser.add_argument("--port", type=int, default=settings.SERVER_PORT)
        parser.add_argument(
            "--skip-setup", action="store_true", help="Do not migrate or collect static files."
        )

    def handle(self, *args, address, port, skip_setup, **options):
        if not skip_setup:
            call_command("migrate", interactive=False, verbosity=1)
            call_command("collectstatic", interactive=False, verbosity=0)
        if importlib.util.find_spec("daphne") is None:
            raise CommandError("daphne is not installed: run ./dev.sh run, or pip install -e .")
        self.stdout.write(
            self.style.SUCCESS(
                f"Serving on http://{address}:{port}/ (API docs at /docs, websocket at "
                "/ws/notifications/)"
            )
        )
        sys.stdout.flush()
        # daphne's command line with a server that stops cleanly on SIGTERM (config/daphne.py).
        # Requests are logged once, by the application (common.logging), never with their
        # query strings: daphne's own access log is off.
        os.execv(  # noqa: S606 (fixed arguments, no shell)
            sys.executable,
            [
                sys.executable,
                "-m",
                "config.daphne",
                "-b",
                address,
                "-p",
                str(port),
                "--access-log",
                os.devnull,
                "config.asgi:application",
            ],
        )
