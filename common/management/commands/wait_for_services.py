"""`manage.py wait_for_services`: block until the database (and broker) answer."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.db.utils import OperationalError


def database_ready() -> bool:
    connection = connections["default"]
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except OperationalError:
        connection.close()
        return False


class Command(BaseCommand):
    help = (
        "Wait until the database and, when RABBITMQ_URL is set, the broker accept "
        "connections; exit non-zero after --timeout seconds. For container start-up."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between attempts (default 1)"
        )

    def handle(self, *args, timeout, interval, **options):
        if timeout <= 0 or interval <= 0:
            raise CommandError("--timeout and --interval must be positive.")
        from notifications import transport

        checks = {"database": database_ready}
        if settings.RABBITMQ_URL:
            checks["broker"] = transport.broker_status
        deadline = time.monotonic() + timeout
        waiting = set(checks)
        while True:
            for name in sorted(waiting):
                if checks[name]():
                    waiting.discard(name)
                    self.stdout.write(self.style.SUCCESS(f"{name}: ready"))
            if not waiting:
                return
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"gave up after {timeout:g}s waiting for: {', '.join(sorted(waiting))}"
                )
            self.stdout.write(f"waiting for: {', '.join(sorted(waiting))}")
            time.sleep(interval)
