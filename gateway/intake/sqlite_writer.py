"""The SQLite intake writer. Every batch is written by `SqliteIntakeWriter` with ONE
statement: a multi-row INSERT in SQLite's autocommit mode is one transaction, flushed to
disk (synchronous=FULL) before `execute` returns, and comes back to Python once. Each
row's values are prepared first (`Ingest.prepare`: sha256 and the column types' own bind
conversions), so that the SMTP listener can do that part on its event loop and leave
only the statement to its committing process (gateway.intake.intake_process; why a
process: timings in the README).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.exc import DBAPIError

from gateway.errors import IngestError
from gateway.intake.items import AcceptResult, PreparedRow
from models import InboundMessage
from models.db import BUSY_TIMEOUT_MS, INTAKE_MAX_SLEEP, retry_while_locked

log = logging.getLogger(__name__)


# The columns intake writes, in the order of SqliteIntakeWriter's INSERT.
INTAKE_COLUMNS = (
    "raw_sha256",
    "raw_pending",
    "size",
    "source",
    "mail_from",
    "rcpt_tos",
    "peer",
    "mailbox",
    "uidvalidity",
    "uid",
    "received_at",
    "state",
    "attempts",
    "info",
)


def bind_processors(engine: Engine) -> list[Any]:
    """Each intake column's value converter for this dialect (None where there is none)."""
    table = cast(Table, InboundMessage.__table__)
    dialect = engine.dialect
    return [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in INTAKE_COLUMNS
    ]


def ids_of(session: Connection, shas: list[str]) -> dict[str, int]:
    if not shas:
        return {}
    table = cast(Table, InboundMessage.__table__)
    query = select(table.c.raw_sha256, table.c.id).where(table.c.raw_sha256.in_(shas))
    return {sha: id_ for sha, id_ in session.execute(query)}


class SqliteIntakeWriter:
    """Commits batches of prepared rows on SQLite with one statement each.

    Owns one DB-API connection (with the engine's pragmas: WAL, synchronous=FULL,
    busy_timeout), used only by the thread that created the writer; a connection that
    failed is thrown away and a new one opened for the next batch.
    """

    def __init__(self, engine: Engine, on_commit: Callable[[], None] | None) -> None:
        self._engine = engine
        self._on_commit = on_commit
        self._conn: Any = None
        self._statements: dict[int, str] = {}

    def write(self, rows: Sequence[PreparedRow]) -> list[AcceptResult]:
        if not rows:
            return []
        unique: dict[str, PreparedRow] = {}
        for r in rows:
            unique.setdefault(r.sha256, r)  # the same bytes twice in a batch: one row
        try:
            ids, new = self._insert(list(unique.values()))
        except Exception as exc:
            log.exception("ingest failed for a batch of %d message(s)", len(rows))
            self._discard_connection()
            raise IngestError(f"could not store message: {type(exc).__name__}") from exc
        if self._on_commit is not None:
            self._on_commit()
        out: list[AcceptResult] = []
        seen: set[str] = set()
        for r in rows:
            out.append(
                AcceptResult(ids[r.sha256], r.sha256, r.sha256 not in new or r.sha256 in seen)
            )
            seen.add(r.sha256)
        return out

    def close(self) -> None:
        if self._conn is not None:
            self._conn.driver_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._conn.close()  # back to the pool
            self._conn = None

    def _insert(self, rows: list[PreparedRow]) -> tuple[dict[str, int], set[str]]:
        if self._conn is None:
            self._conn = self._engine.raw_connection()
            # The lock is waited for by `retry_while_locked` (short sleeps, ahead of the
            # workers), not by SQLite's busy handler (sleeps of up to 100 ms).
            self._conn.driver_connection.execute("PRAGMA busy_timeout=0")
        driver = self._conn.driver_connection
        statement = self._statements.get(len(rows))
        if statement is None:
            one = "(" + ", ".join("?" * len(INTAKE_COLUMNS)) + ")"
            statement = (
                f"INSERT INTO inbound_message ({', '.join(INTAKE_COLUMNS)}) "
                f"VALUES {', '.join([one] * len(rows))} "
                "ON CONFLICT (raw_sha256) DO NOTHING"
            )
            self._statements[len(rows)] = statement
        params = [v for r in rows for v in r.values]
        dbapi = self._engine.dialect.loaded_dbapi
        try:
            # The connection is in autocommit mode (models.db sets isolation_level=None):
            # this one statement is the whole transaction, committed and flushed when
            # execute returns.
            cur = retry_while_locked(
                lambda: driver.execute(statement, params), max_sleep=INTAKE_MAX_SLEEP
            )
            inserted, last = cur.rowcount, cur.lastrowid
            cur.close()
            if inserted == len(rows):
                # No conflict: SQLite gave the rows the rowids after the largest one, in
                # VALUES order (https://www.sqlite.org/autoinc.html, "the usual algorithm");
                # nobody else could write in between, the statement held the write lock.
                first = last - inserted + 1
                return {r.sha256: first + i for i, r in enumerate(rows)}, {r.sha256 for r in rows}
            # Some bytes were stored before: read the ids back; the new rows are the ones
            # above the largest id before this statement.
            shas = [r.sha256 for r in rows]
            cur = driver.execute(
                "SELECT raw_sha256, id FROM inbound_message WHERE raw_sha256 IN "
                f"({', '.join('?' * len(shas))})",
                shas,
            )
            ids = dict(cur.fetchall())
            cur.close()
            floor = last - inserted if inserted else None
            new = {sha for sha, id_ in ids.items() if floor is not None and id_ > floor}
            return ids, new
        except dbapi.Error as exc:
            # Callers tell conflicts apart by SQLAlchemy's exception classes, as the Core
            # path would raise them.
            raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc

    def _discard_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
            except Exception:
                log.warning("could not close a failed intake connection", exc_info=True)
            self._conn = None
