"""Run Alembic migrations programmatically (no alembic.ini: the URL comes from settings).

Alembic is imported only when a migration runs: importing it costs more than a whole
read-only command (`appeals status`), so `is_current` answers "is the schema at head?"
from the revision files' text and one query instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^revision\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # configparser interpolates "%": escape it (URLs may carry %-encoded options).
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def head_from_files() -> str | None:
    """The head revision read from the revision files' text: the one no other revision
    names as its `down_revision` (the history is linear)."""
    revisions, downs = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if m := _REVISION.search(source):
            revisions.add(m.group(1))
        if m := _DOWN.search(source):
            downs.add(m.group(1))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def is_current(engine: Engine) -> bool:
    """Whether the database's schema is at the head revision, without importing Alembic."""
    want = head_from_files()
    try:
        with engine.connect() as conn:
            have = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return False  # no version table yet: a new database
    return want is not None and have == want
