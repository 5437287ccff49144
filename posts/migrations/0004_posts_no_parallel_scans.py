"""No parallel scans of the posts table, on PostgreSQL only.

Every read of posts is a page: newest first, a LIMIT of at most 101. For a search PostgreSQL
walks the primary key backwards and tests each post until the page is full; with parallel
workers allowed it planned a Gather Merge, started two workers for every search and had
each of them test thousands of posts, ten times the database time of the same plan run by
one process (docs/benchmarks.md, "The read path"). The storage parameter applies to every
connection, through PgBouncer as well, without a setting per session.
"""

from django.db import migrations

SET = "ALTER TABLE posts_post SET (parallel_workers = 0)"
RESET = "ALTER TABLE posts_post RESET (parallel_workers)"


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("posts", "0003_replies_reposts_likes_bookmarks_hashtags")]

    operations = [
        migrations.RunPython(_on_postgresql(SET), _on_postgresql(RESET), elidable=False),
    ]
