from django.db import migrations, models

from common.db import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    """The (recipient, -id) index carries `txid` and `horizon`, so a reconnect's late check
    reads the index alone. The new index is built before the old one is dropped, both
    without locking the table against writes (on PostgreSQL)."""

    atomic = False

    dependencies = [
        ("notifications", "0004_notifications_commit_order"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="notification",
            index=models.Index(
                fields=["recipient", "-id"],
                include=["txid", "horizon"],
                name="notifications_inbox_idx",
            ),
        ),
        RemoveIndexConcurrently(
            model_name="notification",
            name="notifications_recipient_idx",
        ),
    ]
