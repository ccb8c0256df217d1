"""Making received mail durable: the one entry point for SMTP, IMAP and pipe delivery.

`Ingest.accept_batch` stores the raw bytes (see `gateway.rawstore`) and inserts one
`inbound_message` row per message in ONE transaction. It returns only after both are on
disk; callers answer 250 / exit 0 / move the IMAP message only after it returns, and
answer 451 / exit 75 / leave the IMAP message alone if it raises (GUIDE §4.5).

The same bytes received twice (an SMTP client retrying after a lost 250, an IMAP message
fetched again after a reconnect) are one message: the sha256 is unique, and the second
arrival returns the first row with `duplicate=True`.

`GroupCommitter` is the asyncio side for the SMTP listener: messages that arrive while a
batch is being committed wait and are committed together in the next one (group commit),
so intake costs one flush and one transaction per batch rather than per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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


class Ingest:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        rawstore: RawStore,
        clock: Clock,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._raw = rawstore
        self._clock = clock
        self._on_commit = on_commit

    def accept(self, raw: bytes, envelope: Envelope) -> AcceptResult:
        return self.accept_batch([IncomingItem(raw, envelope)])[0]

    def accept_batch(self, items: Sequence[IncomingItem]) -> list[AcceptResult]:
        """Durably store all items; raises IngestError if any part could not be made durable."""
        if not items:
            return []
        return self.register(items, self.store(items))

    def store(self, items: Sequence[IncomingItem]) -> list[str]:
        """First half of `accept_batch`: the raw bytes on disk. Returns their sha256s.

        Nothing is acknowledged yet; `register` must follow before anyone answers 250.
        """
        try:
            return self._raw.put_many([it.raw for it in items])
        except Exception as exc:
            log.exception("raw store failed for a batch of %d message(s)", len(items))
            raise IngestError(f"could not store message: {type(exc).__name__}") from exc

    def register(self, items: Sequence[IncomingItem], shas: Sequence[str]) -> list[AcceptResult]:
        """Second half: one transaction with a row per new message, committed on return.

        Call it only with `shas` returned by `store` for the same items, so that a row
        never exists for bytes that are not durable (GUIDE §4.1 invariant 1).
        """
        if not items:
            return []
        try:
            results = self._insert(items, list(shas))
        except Exception as exc:
            log.exception("ingest failed for a batch of %d message(s)", len(items))
            raise IngestError(f"could not store message: {type(exc).__name__}") from exc
        if self._on_commit is not None:
            self._on_commit()
        return results

    def _insert(self, items: Sequence[IncomingItem], shas: list[str]) -> list[AcceptResult]:
        now = self._clock.now()
        # One row per distinct sha256: the same bytes twice in one batch are one message.
        rows: dict[str, dict[str, Any]] = {}
        for item, sha in zip(items, shas, strict=True):
            if sha not in rows:
                rows[sha] = _row(item, sha, len(item.raw), now)
        with self._sessions.begin() as session:
            inserted, existing = _insert_new(session, list(rows.values()))
        ids = {**existing, **inserted}
        out = []
        seen: set[str] = set()
        for sha in shas:
            out.append(AcceptResult(ids[sha], sha, duplicate=sha in existing or sha in seen))
            seen.add(sha)
        n_dup = sum(r.duplicate for r in out)
        log.info("stored %d message(s), %d duplicate(s)", len(out) - n_dup, n_dup)
        return out


def _row(item: IncomingItem, sha: str, size: int, now: datetime) -> dict[str, Any]:
    env = item.envelope
    return {
        "raw_sha256": sha,
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
    session: Session, rows: list[dict[str, Any]]
) -> tuple[dict[str, int], dict[str, int]]:
    """Insert the rows whose sha256 is not stored yet, in one statement.

    Returns ({sha: id} inserted now, {sha: id} already there). Core `executemany` with
    RETURNING (SQLAlchemy's "insertmanyvalues": one multi-row INSERT) instead of ORM
    objects: intake is the hot path and the unit of work costs more than the commit. On
    SQLite and PostgreSQL `ON CONFLICT (raw_sha256) DO NOTHING` skips duplicates without a
    SELECT first; only the rare duplicate is then looked up. Other conflicts (the IMAP
    mailbox/uidvalidity/uid key) still raise, as they must.
    """
    table = InboundMessage.__table__
    sha_col = table.c.raw_sha256
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        dialect_insert = sqlite_insert if dialect == "sqlite" else pg_insert
        stmt = (
            dialect_insert(table)
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


def _ids_of(session: Session, shas: list[str]) -> dict[str, int]:
    if not shas:
        return {}
    table = InboundMessage.__table__
    query = select(table.c.raw_sha256, table.c.id).where(table.c.raw_sha256.in_(shas))
    return {sha: id_ for sha, id_ in session.execute(query)}


Waiter = tuple[IncomingItem, "asyncio.Future[AcceptResult]"]


class GroupCommitter:
    """Collects concurrent submissions and commits them in batches off the event loop.

    Two stages run as a pipeline, each in a worker thread: while the rows of one batch
    are being committed, the bytes of the next batch are already being written and
    flushed. Each message still hears its result only after both stages are done for it,
    and its row is committed only after its own bytes are durable. Batches whose bytes
    are stored while the database is busy are committed together in one transaction.
    `max_ahead` bounds how many stored batches may wait for the database.
    """

    def __init__(self, ingest: Ingest, max_batch: int = 64, max_ahead: int = 4) -> None:
        self._ingest = ingest
        self._max_batch = max_batch
        self._max_ahead = max_ahead
        self._queue: asyncio.Queue[Waiter] | None = None
        self._stored: asyncio.Queue[tuple[list[Waiter], list[str]]] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._stored = asyncio.Queue(self._max_ahead)
        self._tasks = [
            asyncio.create_task(self._store_loop(), name="group-committer-store"),
            asyncio.create_task(self._register_loop(), name="group-committer-register"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def submit(self, item: IncomingItem) -> AcceptResult:
        if self._queue is None:
            raise IngestError("group committer not started")
        fut: asyncio.Future[AcceptResult] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, fut))
        return await fut

    async def _store_loop(self) -> None:
        assert self._queue is not None and self._stored is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                # Database and fsync work must not block the event loop (issue 2).
                shas = await asyncio.to_thread(self._ingest.store, [it for it, _ in batch])
            except Exception as exc:
                _fail(batch, exc)
                continue
            await self._stored.put((batch, shas))

    async def _register_loop(self) -> None:
        assert self._stored is not None
        while True:
            batch, shas = await self._stored.get()
            while not self._stored.empty():
                more, more_shas = self._stored.get_nowait()
                batch, shas = batch + more, shas + more_shas
            try:
                results = await asyncio.to_thread(
                    self._ingest.register, [it for it, _ in batch], shas
                )
            except Exception as exc:
                _fail(batch, exc)
                continue
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)


def _fail(batch: list[Waiter], exc: Exception) -> None:
    for _, fut in batch:
        if not fut.done():
            fut.set_exception(exc)
