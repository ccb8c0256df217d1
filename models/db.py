"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout.

The embedded default is one SQLite file in WAL mode (readers never block the writer);
PostgreSQL is the choice for several worker processes on several hosts.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


def make_engine(url: str, *, echo: bool = False, read_only: bool = False) -> Engine:
    """`read_only`: for pages that only read (the web console). On SQLite its transactions
    begin DEFERRED, a snapshot that never takes the write lock, so a long export does not
    hold up intake's commits; writing through it is a programming error."""
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take control so that a write
        # transaction starts with BEGIN IMMEDIATE and never fails half-way on a lock upgrade.
        event.listen(engine, "begin", _sqlite_begin_read if read_only else _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk when COMMIT returns; we answer 250 only after that.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


# Waiting for SQLite's write lock: SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20,
# 25, ... up to 100 ms between tries, so with several writers (the listener's committer,
# worker processes, the sender) a waiter sleeps on long after the lock is free, and two
# worker processes got less done than one. BEGIN IMMEDIATE is where every write
# transaction takes the lock, so it is retried here with short sleeps instead.
BEGIN_WAIT_SECONDS = 30.0
BEGIN_FIRST_SLEEP = 0.0002
BEGIN_MAX_SLEEP = 0.002
BUSY_TIMEOUT_MS = 30000


# Intake (the listener's group commit) retries more often than the workers, so it gets
# the lock first: a citizen's MTA waits for its 250, the pipeline can wait a little.
INTAKE_MAX_SLEEP = 0.0002


def retry_while_locked(statement: Callable[[], T], max_sleep: float = BEGIN_MAX_SLEEP) -> T:
    """Run `statement` (on a connection whose busy_timeout is 0) until SQLite's write
    lock is free, sleeping from 0.2 ms up to `max_sleep` between tries, for at most
    `BEGIN_WAIT_SECONDS`. A statement refused for the lock did nothing: it is safe to
    run again."""
    deadline = time.monotonic() + BEGIN_WAIT_SECONDS
    pause = min(BEGIN_FIRST_SLEEP, max_sleep)
    while True:
        try:
            return statement()
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, max_sleep)


def _sqlite_begin(conn: Any) -> None:
    raw = conn.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        retry_while_locked(lambda: raw.execute("BEGIN IMMEDIATE"))
    finally:
        # Any other statement that meets a lock (rare in WAL mode) waits as before.
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _sqlite_begin_read(conn: Any) -> None:
    # WAL readers see one snapshot for the whole transaction and never block the writer.
    conn.exec_driver_sql("BEGIN DEFERRED")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, future=True)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
