"""Bring a local database file to the current schema: back it up, then run Alembic."""

import logging
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(kind: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS / kind))
    return cfg


def head_of(kind: str) -> str:
    return ScriptDirectory.from_config(alembic_config(kind)).get_current_head()


def upgrade(engine: Engine, kind: str, path: Path) -> Path | None:
    """Migrate to head; a file that already holds a schema is copied first. Returns the copy."""
    cfg = alembic_config(kind)
    head = head_of(kind)
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return None
    backup = None
    if current is not None:
        backup = _backup(path, current)
        log.info("migrating %s from %s to %s (copy at %s)", path.name, current, head, backup)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return backup


def _backup(path: Path, revision: str) -> Path:
    """A consistent copy through SQLite's online backup (a plain file copy could miss the WAL)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.before-{revision}-{stamp}.bak")
    with sqlite3.connect(path) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target
