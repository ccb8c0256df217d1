"""Making received mail durable: the one entry point for SMTP, IMAP and pipe delivery.

`Ingest.accept_batch` inserts one `inbound_message` row per message, carrying the exact
received bytes, in ONE transaction, and returns only after it is committed (SQLite WAL with
synchronous=FULL, or PostgreSQL: the commit is on disk). Callers answer 250 / exit 0 /
move the IMAP message only after it returns, and answer 451 / exit 75 / leave the IMAP
message alone if it raises.

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
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import IngestError
from gateway.intake.items import AcceptResult, IncomingItem, PreparedRow
from gateway.intake.sqlite_writer import (
    INTAKE_COLUMNS,
    SqliteIntakeWriter,
    bind_processors,
    ids_of,
)
from gateway.rawstore import RawStore
from models import InboundMessage
from routing.mail import Envelope
from routing.ports import Clock

log = logging.getLogger(__name__)


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
            bind_processors(self._engine) if self._engine.dialect.name == "sqlite" else None
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
            for name, proc in zip(INTAKE_COLUMNS, self._sqlite_procs, strict=True)
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
        table = cast(Table, InboundMessage.__table__)
        with self._engine.connect() as conn:
            row = conn.execute(
                select(table.c.raw_sha256, table.c.raw_pending).where(table.c.id == inbound_id)
            ).first()
        if row is None:
            raise KeyError(inbound_id)
        return (
            bytes(row.raw_pending) if row.raw_pending is not None else self._raw.get(row.raw_sha256)
        )

    def raw_of(self, inbound_id: int, sha256: str) -> bytes:
        """The received bytes of a claimed message whose sha256 the claim gave: from the
        raw store without a query (the claim's spill put them there), else as `raw`."""
        try:
            return self._raw.get(sha256)
        except FileNotFoundError:
            return self.raw(inbound_id)

    def spill(self, inbound_ids: Sequence[int]) -> int:
        """Move the bytes of these messages from their rows to the raw store: the files are
        durable before the column is cleared. Returns how many were moved."""
        if not inbound_ids:
            return 0
        table = cast(Table, InboundMessage.__table__)
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
    table = cast(Table, InboundMessage.__table__)
    sha_col = table.c.raw_sha256
    if session.dialect.name == "postgresql":
        stmt = (
            pg_insert(table)
            .on_conflict_do_nothing(index_elements=[sha_col])
            .returning(sha_col, table.c.id)
        )
        inserted: dict[str, int] = {sha: id_ for sha, id_ in session.execute(stmt, rows)}
        missing = [r["raw_sha256"] for r in rows if r["raw_sha256"] not in inserted]
        existing = ids_of(session, missing)
    else:
        existing = ids_of(session, [r["raw_sha256"] for r in rows])
        new = [r for r in rows if r["raw_sha256"] not in existing]
        stmt = insert(table).returning(sha_col, table.c.id)
        inserted = {sha: id_ for sha, id_ in session.execute(stmt, new)} if new else {}
    return inserted, existing
