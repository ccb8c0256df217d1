"""The Alembic migrations build exactly the schema the models describe, on SQLite and on
PostgreSQL, and every migration can be undone and redone."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from models import Base
from models.migrate import current, head, upgrade


def _drift(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def _up_down_up(url: str) -> None:
    from alembic import command

    from models.migrate import alembic_config

    engine = create_engine(url)
    try:
        upgrade(engine)
        assert current(engine) == head(engine)
        cfg = alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert current(engine) is None
        upgrade(engine)
        assert current(engine) == head(engine)
    finally:
        engine.dispose()


def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    _up_down_up(url)
    assert _drift(url) == []


@pytest.mark.usefixtures("postgres_url")
def test_postgresql_migrations_match_the_models(pg_schema_url: str) -> None:
    _up_down_up(pg_schema_url)
    assert _drift(pg_schema_url) == []
