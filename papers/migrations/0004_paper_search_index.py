"""A GIN index on the papers' full-text vector, for the public search on PostgreSQL (papers/search.py).

An expression index, not a model index: SQLite has no GIN and no to_tsvector, and a GinIndex in the model's
state would be re-created (and fail) whenever SQLite remakes the table. So the operation runs on PostgreSQL
only and is a no-op elsewhere. The expression is the one papers.search.paper_search_vector() builds, word for
word: PostgreSQL uses an expression index only for a query with the same expression
(tests/papers/test_search.py checks the plan).
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX_NAME = "paper_search_vector"


def _index() -> GinIndex:
    vector = SearchVector("title", weight="A", config="english") + SearchVector(
        "abstract", weight="B", config="english"
    )
    return GinIndex(vector, name=INDEX_NAME)


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("papers", "Paper"), _index())


def remove_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("papers", "Paper"), _index())


class Migration(migrations.Migration):
    dependencies = [("papers", "0003_paper_vector")]

    operations = [migrations.RunPython(add_index, remove_index, elidable=False)]
