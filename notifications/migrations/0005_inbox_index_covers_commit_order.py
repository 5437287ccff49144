from django.db import migrations, models

from common.db import AddIndexConcurrently


class Migration(migrations.Migration):
    """The inbox index, (recipient, -id) carrying `txid` and `horizon`, so a reconnect's late
    check reads the index alone; built without locking the table against writes (on
    PostgreSQL). The index it replaces is dropped by the next migration, so a run that
    stops between the two is recorded as far as it got."""

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
    ]
