"""The Alembic migrations build exactly the schema the models declare, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from lifecycle.bootstrap import open_lifecycle


def test_migrations_match_the_models(lc):
    with lc.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_opening_twice_is_idempotent(lc, tmp_path):
    before = lc.log_head()
    again = open_lifecycle(lc.data_dir, url=str(lc.engine.url.render_as_string(False)))
    assert again.log_head() == before
    again.engine.dispose()
