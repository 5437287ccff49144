from django.db import migrations

from common.db import RemoveIndexConcurrently


class Migration(migrations.Migration):
    """The (recipient, -id) index without the commit-order columns: the inbox index of 0005
    serves everything it served."""

    atomic = False

    dependencies = [
        ("notifications", "0005_inbox_index_covers_commit_order"),
    ]

    operations = [
        RemoveIndexConcurrently(
            model_name="notification",
            name="notifications_recipient_idx",
        ),
    ]
