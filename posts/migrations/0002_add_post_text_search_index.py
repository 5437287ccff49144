"""GIN index for full-text search of posts, on PostgreSQL only.

The indexed expression is exactly what posts.search.search_document() compiles to, so the
planner matches it. SQLite (the embedded default) searches without an index.
"""

from django.db import migrations

INDEX = "posts_post_text_search"
CREATE = (
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON posts_post "
    "USING gin (to_tsvector('english'::regconfig, COALESCE(text, '')))"
)
DROP = f"DROP INDEX IF EXISTS {INDEX}"


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("posts", "0001_initial")]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP), elidable=False),
    ]
