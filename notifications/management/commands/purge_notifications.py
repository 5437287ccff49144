"""`manage.py purge_notifications --older-than DAYS`: delete old notifications in batches."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.models import Notification

# One DELETE binds one parameter per row: PostgreSQL takes at most 65535, and a batch is
# meant to be a short transaction.
MAX_BATCH_SIZE = 10_000


class Command(BaseCommand):
    help = (
        "Delete notifications created more than DAYS days ago, in batches (short "
        "transactions, safe while the service runs). Reports progress as it goes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=int, required=True, metavar="DAYS", help="age in days (>= 0)"
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=5000,
            help=f"rows deleted per transaction (1 to {MAX_BATCH_SIZE}, default 5000)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="only count what would be deleted"
        )

    def handle(self, *args, older_than, batch_size, dry_run, **options):
        if older_than < 0:
            raise CommandError("--older-than must be 0 or more days.")
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}.")
        now = timezone.now()
        # Further back than the first day of year 1 is not a date.
        oldest = (now - datetime.datetime.min.replace(tzinfo=datetime.UTC)).days
        if older_than > oldest:
            raise CommandError(f"--older-than must be at most {oldest} days.")
        cutoff = now - datetime.timedelta(days=older_than)
        old = Notification.objects.filter(created_at__lt=cutoff)
        total = old.count()
        if dry_run or not total:
            verb = "would be deleted" if dry_run else "to delete"
            self.stdout.write(f"{total} notifications older than {older_than} days {verb}.")
            return
        deleted = 0
        while ids := list(old.order_by("id").values_list("id", flat=True)[:batch_size]):
            count, _ = Notification.objects.filter(id__in=ids).delete()
            deleted += count
            self.stdout.write(f"deleted {deleted}/{total}")
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} notifications."))
