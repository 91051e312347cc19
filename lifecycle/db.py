"""Tables and the database engine.

The log tables (`log_entries`, `merkle_nodes`, `log_head`) are the record; `networks` and `works`
are projections — the reducer's output stored for listing and search — and `users` holds
credentials, which never enter the log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, Text, bindparam, event
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel, create_engine

WRITE_OPTION = "lifecycle_write"


class LogEntry(SQLModel, table=True):
    __tablename__ = "log_entries"
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    entry: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    type: str = Field(index=True)
    work_id: int | None = Field(default=None, index=True)
    at: str


class MerkleNode(SQLModel, table=True):
    """Hash of the complete subtree of 2**level leaves starting at leaf idx * 2**level."""

    __tablename__ = "merkle_nodes"
    level: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogHead(SQLModel, table=True):
    """One row. Write commands lock it first, so appends are serialized in commit order."""

    __tablename__ = "log_head"
    id: int = Field(default=1, primary_key=True)
    size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    head: str = Field(default="0" * 64)  # leaf hash of the last entry, hex
    frontier: str = Field(default="", sa_column=Column(Text, nullable=False))  # hex roots, ","


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    username: str = Field(index=True, unique=True)
    role: str
    entity: str | None = None
    organization_id: int | None = Field(default=None, index=True)
    person_id: str | None = Field(default=None, index=True)
    token_hash: str = Field(index=True, unique=True)
    password_hash: str | None = None
    created_at: str


class NetworkRow(SQLModel, table=True):
    __tablename__ = "networks"
    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    name: str
    region: str = Field(index=True)
    state: str = Field(sa_column=Column(Text, nullable=False))


class OrganizationRow(SQLModel, table=True):
    """Projection of organization.registered/updated; `name_key` is the normalized name, for
    search and duplicate warnings only."""

    __tablename__ = "organizations"
    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    name: str
    name_key: str = Field(index=True)
    tax_id: str | None = Field(default=None, index=True, unique=True)
    kind: str
    state: str = Field(sa_column=Column(Text, nullable=False))


class WorkRow(SQLModel, table=True):
    __tablename__ = "works"
    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    code: str = Field(index=True, unique=True)
    title: str
    entity: str = Field(index=True)
    region: str = Field(index=True)
    network_id: int = Field(index=True)
    stage: str = Field(index=True)
    version: int
    last_change_at: str
    stage_entered_at: str = ""  # overdue is measured from it; a suspension never resets it
    # lifecycle/search.py: folded code, title, entity, places and awarded parties.
    search_key: str = Field(default="", sa_column=Column(Text, nullable=False,
                                                         server_default=""))
    state: str = Field(sa_column=Column(Text, nullable=False))


class DocumentBlob(SQLModel, table=True):
    """A document's content on PostgreSQL, named by its SHA-256: the row exists only once all
    its chunks are written, in the same transaction as the entry that attaches it."""

    __tablename__ = "document_blobs"
    sha256: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    chunks: int


class DocumentChunk(SQLModel, table=True):
    """One slice (up to 1 MiB) of a blob: documents are streamed in and out chunk by chunk."""

    __tablename__ = "document_chunks"
    sha256: str = Field(foreign_key="document_blobs.sha256", primary_key=True, max_length=64)
    idx: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class WebSessionRow(SQLModel, table=True):
    """A logged-in web session, by the SHA-256 of the random id its cookie carries: deleting the
    row ends the session on every process and machine (logout, or a password change)."""

    __tablename__ = "web_sessions"
    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(index=True)
    created_at: str
    expires_at: str = Field(index=True)


class Prepared:
    """A Core statement compiled once per dialect and run on the driver's own cursor.

    The write path runs the same few statements for every command; SQLAlchemy's per-call
    execution machinery costs more than SQLite needs to run them. The cursor belongs to the
    connection's current transaction, so these statements commit or roll back with it.
    Every bound value must be named in the statement (`bindparam`); literals keep theirs."""

    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict]] = {}

    def _for(self, dialect) -> tuple[str, tuple[str, ...] | None, dict]:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            done = self.statement.compile(dialect=dialect)
            order = tuple(done.positiontup) if done.positiontup else None
            fixed = {k: v for k, v in done.params.items() if v is not None}
            compiled = self._compiled[dialect.name] = (done.string, order, fixed)
        return compiled

    def __call__(self, conn, params: dict | None = None, *, many: list[dict] | None = None):
        """Run on `conn`; returns the driver's cursor."""
        compiled = self._compiled.get(conn.dialect.name) or self._for(conn.dialect)
        sql, order, fixed = compiled
        # A DriverTransaction, or a SQLAlchemy Connection (for reads): both end at a cursor.
        cursor = conn.driver.cursor() if type(conn) is DriverTransaction else \
            conn.connection.driver_connection.cursor()
        if many is not None:
            cursor.executemany(sql, [_bind(values, order, fixed) for values in many])
        else:
            cursor.execute(sql, _bind(params or {}, order, fixed))
        return cursor

    def one(self, conn, params: dict | None = None):
        """The first row as a tuple, or None."""
        cursor = self(conn, params)
        row = cursor.fetchone()
        cursor.close()
        return row


def _bind(values: dict, order: tuple[str, ...] | None, fixed: dict):
    """The statement's parameters from named values: a tuple in `order` (positional
    paramstyles) or the dict itself; `fixed` holds the statement's own literals."""
    if fixed:
        values = {**fixed, **values}
    return tuple([values[name] for name in order]) if order else values


_WRITE_QUEUES: dict[int, threading.Lock] = {}


class DriverTransaction:
    """One write transaction on a pooled driver connection, without SQLAlchemy's Connection
    (or, with write=False, a read that is rolled back, i.e. released, at the end).

    SQLite: BEGIN IMMEDIATE takes the write lock before anything is read. PostgreSQL: the
    driver opens the transaction at the first statement, and the caller's first statement
    locks the log head row. Commit on success, roll back on any exception."""

    def __init__(self, engine: Engine, *, write: bool = True):
        self.engine = engine
        self.write = write
        self.dialect = engine.dialect
        self.integrity_error = engine.dialect.loaded_dbapi.IntegrityError
        # SQLite answers a second writer with "busy" and its busy handler sleeps in growing
        # steps (up to 100 ms) before it tries again: under a burst of writes that sleeping,
        # not the work, sets the latency. Writers of this process therefore queue on a lock
        # first; other processes still meet SQLite's own lock and busy timeout.
        self._queue = _WRITE_QUEUES.setdefault(id(engine.pool), threading.Lock()) \
            if write and self.dialect.name == "sqlite" else None

    def __enter__(self) -> "DriverTransaction":
        if self._queue is not None:
            self._queue.acquire()
        self._pooled = None
        try:
            self._pooled = self.engine.raw_connection()
            self.driver = self._pooled.driver_connection
            if self.write and self.dialect.name == "sqlite":
                self.driver.execute("BEGIN IMMEDIATE")
        except BaseException:
            if self._pooled is not None:
                self._pooled.close()
            self._release()
            raise
        return self

    def _release(self) -> None:
        if self._queue is not None:
            self._queue.release()

    def cursor(self):
        return self.driver.cursor()

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is None and self.write:
                self.driver.commit()
            else:
                self.driver.rollback()
        finally:
            self._pooled.close()  # back to the pool
            self._release()


def insert_all(table) -> Prepared:
    """INSERT of every column of `table`, each bound by its column name."""
    return Prepared(table.insert().values({c.name: bindparam(c.name) for c in table.columns}))


def data_dir() -> Path:
    return Path(os.environ.get("LIFECYCLE_DATA_DIR", "./lifecycle-data")).resolve()


def database_url(folder: Path | None = None) -> str:
    url = os.environ.get("LIFECYCLE_DATABASE_URL")
    if url:
        return url
    folder = folder or data_dir()
    return f"sqlite:///{folder / 'lifecycle.db'}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_setup(engine: Engine) -> None:
    """WAL, and transactions we open ourselves: a write takes the database's write lock at
    BEGIN IMMEDIATE, before it reads the state it will change (DESIGN §1).

    synchronous=FULL: in WAL mode every commit then fsyncs the write-ahead log before it
    returns. With NORMAL a commit is durable only at the next checkpoint, and an operating-system
    crash (or power loss) could take back entries the server had acknowledged and a checkpoint
    had already signed: the log would then be shorter than a signed tree head given out, and
    the signer and the log would disagree. FULL costs one fsync per write transaction."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class WalCheckpointer:
    """SQLite: checkpoint the write-ahead log from a background thread.

    Left to itself, SQLite checkpoints inside whichever commit pushes the WAL past 1,000 pages,
    and that commit then waits for the database file's fsync: one request in a few hundred
    takes a hundred milliseconds more. A passive checkpoint every second, on a connection of
    its own, keeps the WAL below that size, so no request's commit does it. Passive means it
    never waits for, or blocks, a writer."""

    def __init__(self, engine: Engine, interval: float = 1.0):
        self.path = engine.url.database
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    def start(self) -> "WalCheckpointer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        try:
            while not self._stop.wait(self.interval):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# PostgreSQL advisory lock keys of the whole deployment (one 64-bit number each).
MIGRATION_LOCK = 0x6C69_6665_0001  # "life" 1: one process migrates, the others wait


@contextmanager
def advisory_lock(engine: Engine, key: int) -> Iterator[None]:
    """Hold a PostgreSQL session advisory lock for the block, waiting for it; on SQLite the
    database's own write lock serializes the work, and this does nothing. The lock belongs
    to a connection of its own, so it ends if the process dies."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (key,))
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
            conn.commit()


# ------------------------------------------------------------------------------------------
# Signed checkpoints and witness cosignatures (DESIGN §4 "Checkpoints", §4.4). Owned by the
# checkpoint/witness code (lifecycle/ledger.py, lifecycle/worker.py); rows are written under
# the log-head lock (checkpoints) or in their own short transactions (cosignatures).


class SignedCheckpointRow(SQLModel, table=True):
    """Every checkpoint the log signed; the largest is the floor no later one may contradict.
    The note is stored as signed, so it is re-verified with the key on every read."""

    __tablename__ = "signed_checkpoints"
    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    signed_at: str


class CosignatureRow(SQLModel, table=True):
    """A witness's cosignature/v1 of the checkpoint signed at `size` (one per witness)."""

    __tablename__ = "checkpoint_cosignatures"
    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    witness: str = Field(primary_key=True)  # the witness's verifier key
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    line: str = Field(sa_column=Column(Text, nullable=False))
