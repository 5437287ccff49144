from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """An event committed in the same transaction as the write that caused it, kept until
    the transport has taken it (production mode). A broker outage leaves rows here; the
    worker's sweeper hands them over once the broker is back, so no event is lost (a
    post's own `post.created` uses its `published_at` the same way)."""

    kind = models.CharField(max_length=64)
    fields = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.fields}"
