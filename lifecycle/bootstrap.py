"""Open the engine on a data folder: database, migrations, document store and signing key."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from lifecycle import accounts, db, migrate  # noqa: F401  (accounts: its table)
from lifecycle.log.note import SIGNING_KEY_FILE, generate_signing_key
from lifecycle.service import MAX_UPLOAD_BYTES, SYSTEM, Lifecycle, utcnow

DEFAULT_ORIGIN = "lifecycle.local/log"


def open_lifecycle(data_dir: Path | None = None, *, url: str | None = None,
                   clock: Callable[[], datetime] = utcnow, migrate_schema: bool = True,
                   origin: str | None = None) -> Lifecycle:
    folder = Path(data_dir) if data_dir else db.data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(url or db.database_url(folder))
    if migrate_schema:
        # Several workers and machines start at once: one migrates, the others then find the
        # schema at its head and do nothing.
        with db.advisory_lock(engine, db.MIGRATION_LOCK):
            migrate.upgrade(engine)
            _ensure_log_head(engine)
    if not (folder / SIGNING_KEY_FILE).exists():
        generate_signing_key(folder, origin or os.environ.get("LIFECYCLE_ORIGIN", DEFAULT_ORIGIN))
    upload_limit = int(os.environ.get("LIFECYCLE_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES))
    return Lifecycle(engine=engine, data_dir=folder, clock=clock, max_upload_bytes=upload_limit)


def _ensure_log_head(engine) -> None:
    """The log-head row that every write locks first, created once with the schema: were the
    first write to create it, two concurrent first writes on PostgreSQL would both find no row
    to lock and both insert it."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    head = db.LogHead.__table__
    try:
        with engine.begin() as conn:
            if conn.execute(select(head.c.id).where(head.c.id == 1)).first() is None:
                conn.execute(head.insert().values(id=1, size=0, head="0" * 64, frontier=""))
    except IntegrityError:  # another process (SQLite has no advisory lock) created it first
        pass


def init(lc: Lifecycle, *, admin: str = "admin", password: str | None = None) -> str | None:
    """Create the first admin unless there is one; return its token (None if it existed)."""
    if any(u.role == "admin" for u in lc.users()):
        return None
    _, token = lc.create_user(actor=SYSTEM, username=admin, role="admin", password=password)
    return token
