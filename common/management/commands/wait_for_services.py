"""`manage.py wait_for_services`: block until the database (and broker) answer."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from common import health

# Each attempt waits at most the time left (and at least this long, so that the last round
# still asks every service once).
MIN_ATTEMPT = 0.5


class Command(BaseCommand):
    help = (
        "Wait until the database and, when RABBITMQ_URL is set, the broker accept "
        "connections; print why each one does not yet, and exit non-zero after --timeout "
        "seconds. For container start-up."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between attempts (default 1)"
        )

    def handle(self, *args, timeout, interval, **options):
        if not (0 < timeout < float("inf")) or not (0 < interval < float("inf")):
            raise CommandError("--timeout and --interval must be positive numbers of seconds.")
        checks = {"database": health.database_error}
        if settings.RABBITMQ_URL:
            checks["broker"] = health.broker_error
        deadline = time.monotonic() + timeout
        waiting = sorted(checks)
        while True:
            errors = {}
            for name in waiting:
                left = deadline - time.monotonic()
                error = checks[name](min(health.CHECK_TIMEOUT, max(left, MIN_ATTEMPT)))
                if error is None:
                    self.stdout.write(self.style.SUCCESS(f"{name}: ready"))
                else:
                    errors[name] = error
            if not errors:
                return
            waiting = sorted(errors)
            reasons = "; ".join(f"{name} ({errors[name]})" for name in waiting)
            left = deadline - time.monotonic()
            if left <= 0:
                raise CommandError(f"gave up after {timeout:g}s waiting for: {reasons}")
            self.stdout.write(f"waiting for: {reasons}")
            time.sleep(min(interval, left))
