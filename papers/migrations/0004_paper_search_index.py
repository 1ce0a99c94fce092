"""GIN indexes on the papers' full-text vectors (title and abstract; authors), for the public search on
PostgreSQL (papers/search.py).

An expression index, not a model index: SQLite has no GIN and no to_tsvector, and a GinIndex in the model's
state would be re-created (and fail) whenever SQLite remakes the table. So the operation runs on PostgreSQL
only and is a no-op elsewhere. The expression is the one papers.search.paper_search_vector() builds, word for
word: PostgreSQL uses an expression index only for a query with the same expression
(tests/papers/test_search.py checks the plan).
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models import TextField
from django.db.models.functions import Cast


def _indexes() -> list[GinIndex]:
    text = SearchVector("title", weight="A", config="english") + SearchVector(
        "abstract", weight="B", config="english"
    )
    # Authors by whole words of their names, as written (no stemming): "Lovelace" finds ["Ada Lovelace"].
    authors = SearchVector(Cast("authors", output_field=TextField()), config="simple")
    return [GinIndex(text, name="paper_search_vector"), GinIndex(authors, name="paper_author_vector")]


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index in _indexes():
            schema_editor.add_index(apps.get_model("papers", "Paper"), index)


def remove_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index in _indexes():
            schema_editor.remove_index(apps.get_model("papers", "Paper"), index)


class Migration(migrations.Migration):
    dependencies = [("papers", "0003_paper_vector")]

    operations = [migrations.RunPython(add_indexes, remove_indexes, elidable=False)]
