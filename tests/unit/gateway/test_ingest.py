"""Durable intake: rows carry the bytes until the worker spills them to the raw store;
duplicates folded, failures as IngestError.

Runs on a real SQLite database brought to the current schema by the migrations, and on
PostgreSQL (in a private schema) when it is reachable, since the duplicate handling uses
each dialect's `ON CONFLICT`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import ManualClock
from gateway.errors import IngestError
from gateway.intake.committer import GroupCommitter
from gateway.intake.ingest import Ingest
from gateway.intake.ingest import _row as intake_row
from gateway.intake.items import AcceptResult, IncomingItem
from gateway.rawstore import RawStore
from models import InboundMessage
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from routing.mail import Envelope

PG_URL = os.environ.get("APPEALS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ENV = Envelope(
    source="smtp",
    mail_from="citizen@mail.example.net",
    rcpt_tos=("zvernennia@council.example",),
    peer="192.0.2.7",
)


def msg(n: int) -> bytes:
    return f"Message-ID: <{n}@mail.example.net>\r\n\r\nЗвернення {n}\r\n".encode()


@dataclass
class Rig:
    ingest: Ingest
    sessions: sessionmaker[Session]
    raw: RawStore
    commits: list[int]

    def rows(self) -> list[InboundMessage]:
        with self.sessions() as s:
            return list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def _sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'appeals.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _postgres() -> Iterator[Engine]:
    schema = f"ingest_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server, no driver, no rights: the same skip
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}")
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        yield from _sqlite(tmp_path)
    else:
        yield from _postgres()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    yield from _sqlite(tmp_path)


@pytest.fixture
def rig(engine: Engine, tmp_path: Path) -> Rig:
    return _rig(engine, tmp_path)


@pytest.fixture
def sqlite_rig(sqlite_engine: Engine, tmp_path: Path) -> Rig:
    return _rig(sqlite_engine, tmp_path)


def _rig(engine: Engine, tmp_path: Path) -> Rig:
    commits: list[int] = []
    sessions = make_session_factory(engine)
    raw = RawStore(tmp_path / "raw")
    ingest = Ingest(sessions, raw, ManualClock(T0), on_commit=lambda: commits.append(1))
    return Rig(ingest, sessions, raw, commits)


def test_accept_stores_bytes_and_row(rig: Rig) -> None:
    res = rig.ingest.accept(msg(1), ENV)
    assert res.sha256 == hashlib.sha256(msg(1)).hexdigest()
    assert res.duplicate is False
    # Durable in the row; the raw store gets its file when the worker spills it.
    assert rig.ingest.raw(res.inbound_id) == msg(1)
    assert not rig.raw.exists(res.sha256)
    (row,) = rig.rows()
    assert row.id == res.inbound_id
    assert (row.raw_sha256, row.size, row.source) == (res.sha256, len(msg(1)), "smtp")
    assert (row.mail_from, row.rcpt_tos, row.peer) == (
        "citizen@mail.example.net",
        ["zvernennia@council.example"],
        "192.0.2.7",
    )
    assert (row.state, row.attempts, row.info, row.received_at) == ("received", 0, {}, T0)
    assert rig.commits == [1]


@pytest.mark.parametrize(
    ("before", "batch", "want_dup"),
    [
        ([], [1, 2, 1], [False, False, True]),
        ([], [3, 3, 3], [False, True, True]),
        ([1], [1, 2], [True, False]),
        ([1, 2], [2, 1, 2, 4], [True, True, True, False]),
    ],
    ids=["within-batch", "same-thrice", "across-batches", "mixed"],
)
def test_duplicates_are_one_row(
    rig: Rig, before: list[int], batch: list[int], want_dup: list[bool]
) -> None:
    first = {n: rig.ingest.accept(msg(n), ENV).inbound_id for n in before}
    results = rig.ingest.accept_batch([IncomingItem(msg(n), ENV) for n in batch])
    assert [r.duplicate for r in results] == want_dup
    rows = rig.rows()
    by_sha = {r.raw_sha256: r.id for r in rows}
    assert len(rows) == len({*before, *batch})
    for n, r in zip(batch, results, strict=True):
        assert r.sha256 == hashlib.sha256(msg(n)).hexdigest()
        assert r.inbound_id == by_sha[r.sha256]
        if n in first:
            assert r.inbound_id == first[n]


@pytest.mark.parametrize(
    ("before", "batch", "want_dup"),
    [
        ([], [1, 2, 1], [False, False, True]),
        ([1], [1, 2], [True, False]),
        ([1, 2], [2, 1, 2, 4], [True, True, True, False]),
        ([1, 2], [2, 1], [True, True]),
    ],
    ids=["within-batch", "across-batches", "mixed", "all-known"],
)
def test_sqlite_writer_ids_and_duplicates(
    sqlite_rig: Rig, before: list[int], batch: list[int], want_dup: list[bool]
) -> None:
    # The SMTP listener's SQLite path: rows prepared one by one, one statement per batch.
    ingest, commits = sqlite_rig.ingest, sqlite_rig.commits
    assert ingest.prepares_rows
    first = {n: ingest.accept(msg(n), ENV).inbound_id for n in before}
    writer = ingest.open_writer()
    try:
        results = writer.write([ingest.prepare(IncomingItem(msg(n), ENV)) for n in batch])
    finally:
        writer.close()
    assert [r.duplicate for r in results] == want_dup
    by_sha = {row.raw_sha256: row.id for row in sqlite_rig.rows()}
    assert len(by_sha) == len({*before, *batch})
    for n, r in zip(batch, results, strict=True):
        assert r.inbound_id == by_sha[hashlib.sha256(msg(n)).hexdigest()]
        if n in first:
            assert r.inbound_id == first[n]
    assert len(commits) == len(before) + 1


def test_sqlite_writer_stores_exactly_what_the_orm_stores(tmp_path: Path) -> None:
    odd = Envelope(
        source="smtp",
        mail_from="o'brien\\x@mail.example.net",  # quotes and backslashes stay data
        rcpt_tos=("zvernennia@council.example", "Кириличний@council.example"),
        peer="2001:db8::7",
    )
    items = [IncomingItem(msg(1), ENV), IncomingItem(msg(2) + b"\x00\xff", odd)]
    stored = []
    for name in ("orm", "writer"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        ingest = Ingest(make_session_factory(engine), RawStore(tmp_path / "raw"), ManualClock(T0))
        if name == "orm":
            # The same row values through SQLAlchemy's own type handling.
            with make_session_factory(engine).begin() as session:
                for it in items:
                    sha = hashlib.sha256(it.raw).hexdigest()
                    session.add(InboundMessage(**intake_row(it, sha, len(it.raw), T0)))
        else:
            writer = ingest.open_writer()
            writer.write([ingest.prepare(it) for it in items])
            writer.close()
        with engine.connect() as conn:
            rows = conn.execute(select(InboundMessage.__table__)).mappings().all()
            stored.append([dict(r) for r in rows])
            raw_types = conn.exec_driver_sql(
                "SELECT typeof(raw_pending), typeof(rcpt_tos), typeof(received_at), "
                "typeof(size) FROM inbound_message"
            ).all()
            stored.append(raw_types)
        engine.dispose()
    assert stored[0] == stored[2] and len(stored[0]) == 2
    assert stored[1] == stored[3]  # the same SQLite storage classes, column by column
    assert stored[2][1]["raw_pending"] == msg(2) + b"\x00\xff"
    assert stored[2][1]["mail_from"] == "o'brien\\x@mail.example.net"


def test_sqlite_writer_recovers_after_a_failed_batch(sqlite_engine: Engine, tmp_path: Path) -> None:
    engine = sqlite_engine
    ingest = Ingest(make_session_factory(engine), RawStore(tmp_path / "raw"), ManualClock(T0))
    imap = Envelope(source="imap:main", mail_from=None)
    writer = ingest.open_writer()
    try:
        writer.write([ingest.prepare(IncomingItem(msg(1), imap, "main", 1, 5))])
        clash = IncomingItem(msg(2), imap, mailbox="main", uidvalidity=1, uid=5)
        with pytest.raises(IngestError):
            writer.write([ingest.prepare(clash), ingest.prepare(IncomingItem(msg(3), ENV))])
        (ok,) = writer.write([ingest.prepare(IncomingItem(msg(3), ENV))])
    finally:
        writer.close()
    assert not ok.duplicate
    with make_session_factory(engine)() as s:
        # The failed batch left nothing behind: one statement, one transaction.
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 2


def test_same_imap_uid_with_other_bytes_is_an_error_not_a_duplicate(rig: Rig) -> None:
    imap = Envelope(source="imap:main", mail_from=None)
    item = IncomingItem(msg(1), imap, mailbox="main", uidvalidity=7, uid=42)
    rig.ingest.accept_batch([item])
    clash = IncomingItem(msg(2), imap, mailbox="main", uidvalidity=7, uid=42)
    with pytest.raises(IngestError) as err:
        rig.ingest.accept_batch([clash])
    # The IMAP poller recognises this case by SQLAlchemy's class, on every dialect.
    assert isinstance(err.value.__cause__, IntegrityError)
    assert len(rig.rows()) == 1


def test_database_failure_is_ingest_error_and_no_commit_signal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no schema: a real failure
    commits: list[int] = []
    ingest = Ingest(
        make_session_factory(engine),
        RawStore(tmp_path / "raw"),
        ManualClock(T0),
        on_commit=lambda: commits.append(1),
    )
    with pytest.raises(IngestError, match="could not store message"):
        ingest.accept(msg(1), ENV)
    assert commits == []
    engine.dispose()


def test_spill_moves_the_bytes_to_the_raw_store_and_clears_the_row(rig: Rig) -> None:
    a = rig.ingest.accept(msg(1), ENV)
    b = rig.ingest.accept(msg(2), ENV)
    assert rig.ingest.spill([a.inbound_id, b.inbound_id]) == 2
    assert rig.raw.get(a.sha256) == msg(1) and rig.raw.get(b.sha256) == msg(2)
    with rig.sessions() as s:
        pending = s.scalars(select(InboundMessage.raw_pending)).all()
    assert pending == [None, None]
    assert rig.ingest.raw(a.inbound_id) == msg(1)  # now read from the store
    assert rig.ingest.spill([a.inbound_id]) == 0  # nothing left to move


def test_raw_store_failure_during_spill_keeps_the_bytes_in_the_row(rig: Rig) -> None:
    res = rig.ingest.accept(msg(1), ENV)
    rig.raw.tmp.rmdir()
    rig.raw.tmp.write_bytes(b"not a folder")
    with pytest.raises(OSError):
        rig.ingest.spill([res.inbound_id])
    assert rig.ingest.raw(res.inbound_id) == msg(1)
    with rig.sessions() as s:
        assert s.scalar(select(InboundMessage.raw_pending)) == msg(1)


def test_empty_batch(rig: Rig) -> None:
    assert rig.ingest.accept_batch([]) == []
    assert rig.commits == []


# -- the asyncio group committer -------------------------------------------------------
def test_group_committer_answers_every_submission_with_its_own_row(rig: Rig) -> None:
    async def run() -> list[int]:
        gc = GroupCommitter(rig.ingest, max_batch=8)
        await gc.start()
        try:
            items = [IncomingItem(msg(n), ENV) for n in [*range(30), 5, 6]]
            results = await asyncio.gather(*(gc.submit(it) for it in items))
        finally:
            await gc.stop()
        for it, r in zip(items, results, strict=True):
            assert r.sha256 == hashlib.sha256(it.raw).hexdigest()
        return [r.inbound_id for r in results]

    ids = asyncio.run(run())
    rows = rig.rows()
    assert len(rows) == 30
    assert sorted(set(ids)) == [r.id for r in rows]
    assert ids[30] == ids[5] and ids[31] == ids[6]
    # 32 submissions at once: grouped into fewer transactions than messages.
    assert 1 <= len(rig.commits) < 32
    with rig.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 30


def test_group_committer_failure_reaches_every_waiter(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    ingest = Ingest(make_session_factory(engine), RawStore(tmp_path / "raw"), ManualClock(T0))

    async def run() -> list[BaseException | object]:
        gc = GroupCommitter(ingest, max_batch=4)
        await gc.start()
        try:
            subs = [gc.submit(IncomingItem(msg(n), ENV)) for n in range(6)]
            return await asyncio.gather(*subs, return_exceptions=True)
        finally:
            await gc.stop()

    outcomes = asyncio.run(run())
    assert all(isinstance(o, IngestError) for o in outcomes), outcomes
    engine.dispose()


def test_submit_before_start_is_refused(rig: Rig) -> None:
    gc = GroupCommitter(rig.ingest)
    with pytest.raises(IngestError):
        asyncio.run(gc.submit(IncomingItem(msg(1), ENV)))


def test_stop_lets_submitted_messages_finish(rig: Rig) -> None:
    async def run() -> list[AcceptResult]:
        gc = GroupCommitter(rig.ingest, max_batch=3)
        await gc.start()
        pending = [asyncio.ensure_future(gc.submit(IncomingItem(msg(n), ENV))) for n in range(10)]
        await asyncio.sleep(0)  # every submission is queued, few if any are committed
        await gc.stop()
        assert all(p.done() for p in pending)
        return [p.result() for p in pending]

    results = asyncio.run(run())
    assert [r.duplicate for r in results] == [False] * 10
    assert sorted(r.inbound_id for r in results) == [row.id for row in rig.rows()]


def test_a_failed_batch_does_not_stop_the_committer(rig: Rig) -> None:
    imap = Envelope(source="imap:main", mail_from=None)

    async def run() -> tuple[BaseException | AcceptResult, AcceptResult]:
        gc = GroupCommitter(rig.ingest)
        await gc.start()
        try:
            await gc.submit(IncomingItem(msg(1), imap, mailbox="main", uidvalidity=1, uid=5))
            clash = IncomingItem(msg(2), imap, mailbox="main", uidvalidity=1, uid=5)
            (bad,) = await asyncio.gather(gc.submit(clash), return_exceptions=True)
            good = await gc.submit(IncomingItem(msg(3), ENV))
        finally:
            await gc.stop()
        return bad, good

    bad, good = asyncio.run(run())
    assert isinstance(bad, IngestError)
    assert isinstance(good, AcceptResult) and good.duplicate is False
    assert len(rig.rows()) == 2
