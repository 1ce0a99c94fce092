"""Full-text search of papers on PostgreSQL (papers/search.py): a stored vector of each paper's title (weight
A) and abstract (B), kept current by a trigger and GIN-indexed; and a GIN index on the authors' words.

Stored, not an expression index: ranking and the recheck of phrase queries read the vector of every matching
row, and computing to_tsvector of each abstract there cost about a millisecond a paper (the first version of
this migration, measured in benchmarks/bench_search.py). Triggers fill it on every insert and on every
change of the title or abstract, however the row is written (ORM, bulk, admin, SQL).

PostgreSQL only, and outside Django's model state: SQLite has no tsvector, GIN or to_tsvector, and a column
or GinIndex in the model's state would be created (and fail) whenever SQLite remakes the table. On SQLite
this migration does nothing; search there uses the matcher.
"""

from django.db import migrations

FORWARD = [
    "ALTER TABLE papers_paper ADD COLUMN search_vector tsvector",
    """
    CREATE FUNCTION papers_paper_search_vector_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector :=
            setweight(to_tsvector('english'::regconfig, COALESCE(NEW.title, '')), 'A')
            || setweight(to_tsvector('english'::regconfig, COALESCE(NEW.abstract, '')), 'B');
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER papers_paper_search_vector
        BEFORE INSERT ON papers_paper
        FOR EACH ROW EXECUTE FUNCTION papers_paper_search_vector_update()
    """,
    # A re-listing rewrites every found paper's row (upvotes, dates) with its text unchanged: only a changed
    # title or abstract is worth analysing again.
    """
    CREATE TRIGGER papers_paper_search_vector_on_edit
        BEFORE UPDATE OF title, abstract ON papers_paper
        FOR EACH ROW
        WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.abstract IS DISTINCT FROM NEW.abstract)
        EXECUTE FUNCTION papers_paper_search_vector_update()
    """,
    # The papers already stored (the same expression as the trigger's).
    """
    UPDATE papers_paper SET search_vector =
        setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, COALESCE(abstract, '')), 'B')
    """,
    "CREATE INDEX paper_search_vector ON papers_paper USING gin (search_vector)",
    """
    CREATE INDEX paper_author_vector ON papers_paper
        USING gin (to_tsvector('simple'::regconfig, COALESCE((authors)::text, '')))
    """,
]

BACKWARD = [
    "DROP INDEX IF EXISTS paper_author_vector",
    "DROP INDEX IF EXISTS paper_search_vector",
    "DROP TRIGGER IF EXISTS papers_paper_search_vector ON papers_paper",
    "DROP TRIGGER IF EXISTS papers_paper_search_vector_on_edit ON papers_paper",
    "DROP FUNCTION IF EXISTS papers_paper_search_vector_update()",
    "ALTER TABLE papers_paper DROP COLUMN IF EXISTS search_vector",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("papers", "0003_paper_vector")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
