"""Making received mail durable: the one entry point for SMTP, IMAP and pipe delivery.

`Ingest.accept_batch` inserts one `inbound_message` row per message, carrying the exact
received bytes, in ONE transaction, and returns only after it is committed (SQLite WAL with
synchronous=FULL, or PostgreSQL: the commit is on disk). Callers answer 250 / exit 0 /
move the IMAP message only after it returns, and answer 451 / exit 75 / leave the IMAP
message alone if it raises (GUIDE §4.5).

Why the bytes go into the row first and into the content-addressed raw store later: a file
per message means creating, flushing and renaming a file and flushing its directory on the
hot path, and on the virtual disks this runs on one file creation costs as much CPU as the
whole SMTP exchange (bench/smtp_intake.py). The database commit makes a whole batch
durable with one WAL flush. The worker then writes each message's file (`spill`: temporary
file, flush, rename, as `gateway.rawstore` does) and clears the column; until then the
bytes are read from the row (`raw`). A crash between the two loses nothing: the row still
holds the bytes and the next claim spills them again (the store is content-addressed, so
doing it twice is harmless).

The same bytes received twice (an SMTP client retrying after a lost 250, an IMAP message
fetched again after a reconnect) are one message: the sha256 is unique, and the second
arrival returns the first row with `duplicate=True`.

`GroupCommitter` is the asyncio side for the SMTP listener: messages that arrive while a
batch is being committed wait and are committed together in the next one (group commit),
so intake costs one flush and one transaction per batch rather than per message.

On SQLite every batch is written by `SqliteIntakeWriter` with ONE statement: a multi-row
INSERT in SQLite's autocommit mode is one transaction, flushed to disk (synchronous=FULL)
before `execute` returns, and comes back to Python once. Each row's values are prepared
first (`Ingest.prepare`: sha256 and the column types' own bind conversions), so that the
SMTP listener can do that part on its event loop and leave only the statement to its
committing process (gateway.intake_process; why a process: timings in the README).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import IngestError
from gateway.rawstore import RawStore
from models import InboundMessage
from routing.mail import Envelope
from routing.ports import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingItem:
    raw: bytes
    envelope: Envelope
    mailbox: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None


@dataclass(frozen=True)
class AcceptResult:
    inbound_id: int
    sha256: str
    duplicate: bool


@dataclass(frozen=True)
class PreparedRow:
    """One message's inbound row, ready for the SQLite driver: the values of
    `_INTAKE_COLUMNS` in order, already through each column type's bind processor."""

    sha256: str
    values: tuple[Any, ...]


class Ingest:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        rawstore: RawStore,
        clock: Clock,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        with sessions() as probe:  # no connection is opened for this
            bind = probe.get_bind()
        self._engine: Engine = bind if isinstance(bind, Engine) else bind.engine
        self._raw = rawstore
        self._clock = clock
        # Prepared once: the SQLite intake path converts values on every batch.
        self._sqlite_procs = (
            _bind_processors(self._engine) if self._engine.dialect.name == "sqlite" else None
        )
        self._on_commit = on_commit

    @property
    def prepares_rows(self) -> bool:
        """True where `prepare` and `open_writer` exist (SQLite)."""
        return self._sqlite_procs is not None

    def prepare(self, item: IncomingItem) -> PreparedRow:
        """The row for `item`, converted for the driver (SQLite only); cheap enough for the
        event loop (a sha256 and a few conversions)."""
        if self._sqlite_procs is None:
            raise IngestError("prepared rows are only used with SQLite")
        sha = hashlib.sha256(item.raw).hexdigest()
        row = _row(item, sha, len(item.raw), self._clock.now())
        values = tuple(
            proc(row[name]) if proc is not None else row[name]
            for name, proc in zip(_INTAKE_COLUMNS, self._sqlite_procs, strict=True)
        )
        return PreparedRow(sha, values)

    def notify_commit(self) -> None:
        """Tell whoever waits for new rows (the worker) that some were committed."""
        if self._on_commit is not None:
            self._on_commit()

    def open_writer(self) -> SqliteIntakeWriter:
        """A writer with its own database connection, for one thread (the committer's)."""
        return SqliteIntakeWriter(self._engine, self._on_commit)

    def accept(self, raw: bytes, envelope: Envelope) -> AcceptResult:
        return self.accept_batch([IncomingItem(raw, envelope)])[0]

    def accept_batch(self, items: Sequence[IncomingItem]) -> list[AcceptResult]:
        """Durably record all items; raises IngestError if they could not be committed."""
        if not items:
            return []
        if self.prepares_rows:
            # SQLite: the same one-statement write as the SMTP listener's (a pooled
            # connection for this call only: IMAP pollers and `inject` run in many threads).
            writer = self.open_writer()
            try:
                return writer.write([self.prepare(it) for it in items])
            finally:
                writer.close()
        shas = [hashlib.sha256(it.raw).hexdigest() for it in items]
        try:
            results = self._insert(items, shas)
        except Exception as exc:
            log.exception("ingest failed for a batch of %d message(s)", len(items))
            raise IngestError(f"could not store message: {type(exc).__name__}") from exc
        if self._on_commit is not None:
            self._on_commit()
        return results

    def raw(self, inbound_id: int) -> bytes:
        """The received bytes: from the row while they wait there, else from the raw store."""
        table = InboundMessage.__table__
        with self._engine.connect() as conn:
            row = conn.execute(
                select(table.c.raw_sha256, table.c.raw_pending).where(table.c.id == inbound_id)
            ).first()
        if row is None:
            raise KeyError(inbound_id)
        return (
            bytes(row.raw_pending) if row.raw_pending is not None else self._raw.get(row.raw_sha256)
        )

    def spill(self, inbound_ids: Sequence[int]) -> int:
        """Move the bytes of these messages from their rows to the raw store: the files are
        durable before the column is cleared. Returns how many were moved."""
        if not inbound_ids:
            return 0
        table = InboundMessage.__table__
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(table.c.id, table.c.raw_pending).where(
                    table.c.id.in_(list(inbound_ids)), table.c.raw_pending.is_not(None)
                )
            ).all()
        if not rows:
            return 0
        self._raw.put_many([bytes(r.raw_pending) for r in rows])
        with self._engine.begin() as conn:
            conn.execute(
                update(table).where(table.c.id.in_([r.id for r in rows])).values(raw_pending=None)
            )
        return len(rows)

    def store_blobs(self, blobs: Sequence[bytes]) -> list[str]:
        """Attachment bodies into the raw store, durable before the appeal that lists them
        is registered: the forward and the relayed answer read them back by sha256."""
        return self._raw.put_many(blobs) if blobs else []

    def _insert(self, items: Sequence[IncomingItem], shas: list[str]) -> list[AcceptResult]:
        now = self._clock.now()
        # One row per distinct sha256: the same bytes twice in one batch are one message.
        rows: dict[str, dict[str, Any]] = {}
        for item, sha in zip(items, shas, strict=True):
            if sha not in rows:
                rows[sha] = _row(item, sha, len(item.raw), now)
        # A Core connection, not an ORM session: nothing here needs the unit of work, and
        # its bookkeeping costs more than the statement on the intake hot path.
        with self._engine.begin() as conn:
            inserted, existing = _insert_new(conn, list(rows.values()))
        ids = {**existing, **inserted}
        out = []
        seen: set[str] = set()
        for sha in shas:
            out.append(AcceptResult(ids[sha], sha, duplicate=sha in existing or sha in seen))
            seen.add(sha)
        n_dup = sum(r.duplicate for r in out)
        log.debug("stored %d message(s), %d duplicate(s)", len(out) - n_dup, n_dup)
        return out


def _row(item: IncomingItem, sha: str, size: int, now: datetime) -> dict[str, Any]:
    env = item.envelope
    return {
        "raw_sha256": sha,
        "raw_pending": item.raw,
        "size": size,
        "source": env.source,
        "mail_from": env.mail_from,
        "rcpt_tos": list(env.rcpt_tos),
        "peer": env.peer,
        "mailbox": item.mailbox,
        "uidvalidity": item.uidvalidity,
        "uid": item.uid,
        "received_at": now,
        "state": "received",
        "attempts": 0,
        "info": {},
    }


def _insert_new(
    session: Connection, rows: list[dict[str, Any]]
) -> tuple[dict[str, int], dict[str, int]]:
    """Insert the rows whose sha256 is not stored yet (any database but SQLite, which goes
    through `SqliteIntakeWriter`).

    Returns ({sha: id} inserted now, {sha: id} already there). Core `executemany` with
    RETURNING (SQLAlchemy's "insertmanyvalues": one multi-row INSERT) instead of ORM
    objects: intake is the hot path and the unit of work costs more than the commit. On
    PostgreSQL `ON CONFLICT (raw_sha256) DO NOTHING` skips duplicates; other conflicts (the
    IMAP mailbox/uidvalidity/uid key) still raise, as they must.
    """
    table = InboundMessage.__table__
    sha_col = table.c.raw_sha256
    if session.dialect.name == "postgresql":
        stmt = (
            pg_insert(table)
            .on_conflict_do_nothing(index_elements=[sha_col])
            .returning(sha_col, table.c.id)
        )
        inserted: dict[str, int] = {sha: id_ for sha, id_ in session.execute(stmt, rows)}
        missing = [r["raw_sha256"] for r in rows if r["raw_sha256"] not in inserted]
        existing = _ids_of(session, missing)
    else:
        existing = _ids_of(session, [r["raw_sha256"] for r in rows])
        new = [r for r in rows if r["raw_sha256"] not in existing]
        stmt = insert(table).returning(sha_col, table.c.id)
        inserted = {sha: id_ for sha, id_ in session.execute(stmt, new)} if new else {}
    return inserted, existing


# The columns intake writes, in the order of SqliteIntakeWriter's INSERT.
_INTAKE_COLUMNS = (
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


def _bind_processors(engine: Engine) -> list[Any]:
    """Each intake column's value converter for this dialect (None where there is none)."""
    table = InboundMessage.__table__
    dialect = engine.dialect
    return [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in _INTAKE_COLUMNS
    ]


def _ids_of(session: Connection, shas: list[str]) -> dict[str, int]:
    if not shas:
        return {}
    table = InboundMessage.__table__
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
            self._conn.close()  # back to the pool
            self._conn = None

    def _insert(self, rows: list[PreparedRow]) -> tuple[dict[str, int], set[str]]:
        if self._conn is None:
            self._conn = self._engine.raw_connection()
        driver = self._conn.driver_connection
        statement = self._statements.get(len(rows))
        if statement is None:
            one = "(" + ", ".join("?" * len(_INTAKE_COLUMNS)) + ")"
            statement = (
                f"INSERT INTO inbound_message ({', '.join(_INTAKE_COLUMNS)}) "
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
            cur = driver.execute(statement, params)
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


Waiter = tuple[IncomingItem, "asyncio.Future[AcceptResult]"]


class GroupCommitter:
    """Collects concurrent submissions and commits them in batches off the event loop.

    One thread takes everything queued (up to `max_batch`), commits it in one transaction
    and hands the results back to the event loop in one call; messages that arrive
    meanwhile form the next batch. Each message hears its result only after its own row
    (with its bytes) is committed. `stop` lets the messages already submitted finish
    before the thread ends. The SMTP listener uses it with PostgreSQL; on SQLite it uses
    `gateway.intake_process.ProcessCommitter`, which commits in a child process.
    """

    def __init__(self, ingest: Ingest, max_batch: int = 64) -> None:
        self._ingest = ingest
        self._max_batch = max_batch
        self._incoming: queue.SimpleQueue[Waiter | None] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._commit_worker, name="intake", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        if self._thread is None:
            return
        self._incoming.put(None)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        self._thread = None
        self._loop = None

    async def submit(self, item: IncomingItem) -> AcceptResult:
        if self._loop is None:
            raise IngestError("group committer not started")
        fut: asyncio.Future[AcceptResult] = self._loop.create_future()
        self._incoming.put((item, fut))
        return await fut

    # -- the committing thread (database work never runs on the event loop) --------------
    def _commit_worker(self) -> None:
        stopping = False
        while not stopping:
            first = self._incoming.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    more = self._incoming.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            try:
                outcome: list[AcceptResult] | Exception = self._ingest.accept_batch(
                    [item for item, _ in batch]
                )
            except Exception as exc:
                outcome = exc
            self._settle(batch, outcome)

    def _settle(self, batch: list[Waiter], outcome: list[AcceptResult] | Exception) -> None:
        """Hand the outcome to the event loop; futures are only touched on its thread."""
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(settle, batch, outcome)
        except RuntimeError:  # the loop is already closed: nobody is waiting any more
            log.warning("intake results for %d message(s) arrived after shutdown", len(batch))


def settle(
    batch: Sequence[tuple[Any, asyncio.Future[AcceptResult]]],
    outcome: list[AcceptResult] | Exception,
) -> None:
    """Give each waiting SMTP session its result (on the event loop's thread)."""
    for i, (_, fut) in enumerate(batch):
        if fut.done():  # the SMTP session went away meanwhile
            continue
        if isinstance(outcome, Exception):
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome[i])
