"""The SMTP listener's SQLite group commit in a child process (gateway.intake.intake_process):
real child processes, a real SQLite database."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from gateway.clock import ManualClock
from gateway.errors import IngestError
from gateway.intake.ingest import Ingest
from gateway.intake.intake_process import ProcessCommitter
from gateway.intake.items import IncomingItem
from gateway.rawstore import RawStore
from models import InboundMessage
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from routing.mail import Envelope

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ENV = Envelope("smtp", "citizen@mail.example.net", ("zvernennia@council.example",), "192.0.2.7")


def msg(n: int) -> bytes:
    return f"Message-ID: <{n}@mail.example.net>\r\n\r\nЗвернення {n}\r\n".encode()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'appeals.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


def _ingest(engine: Engine, tmp_path: Path, commits: list[int] | None = None) -> Ingest:
    return Ingest(
        make_session_factory(engine),
        RawStore(tmp_path / "raw"),
        ManualClock(T0),
        on_commit=(lambda: commits.append(1)) if commits is not None else None,
    )


def test_every_submission_gets_its_own_committed_row(
    db: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = db
    commits: list[int] = []
    ingest = _ingest(engine, tmp_path, commits)

    async def run() -> list[int]:
        pc = ProcessCommitter(ingest, url, max_batch=8)
        await pc.start()
        try:
            items = [IncomingItem(msg(n), ENV) for n in [*range(30), 5, 6]]
            results = await asyncio.gather(*(pc.submit(it) for it in items))
        finally:
            await pc.stop()
        for it, r in zip(items, results, strict=True):
            assert r.sha256 == hashlib.sha256(it.raw).hexdigest()
        assert [r.duplicate for r in results[30:]] == [True, True]
        return [r.inbound_id for r in results]

    ids = asyncio.run(run())
    with make_session_factory(engine)() as s:
        rows = {r.raw_sha256: r.id for r in s.scalars(select(InboundMessage))}
        assert all(r.raw_pending is not None for r in s.scalars(select(InboundMessage)))
    assert len(rows) == 30
    assert ids[:30] == [rows[hashlib.sha256(msg(n)).hexdigest()] for n in range(30)]
    assert ids[30] == ids[5] and ids[31] == ids[6]
    assert 1 <= len(commits) < 32  # grouped; the worker is woken after each batch


def test_a_child_killed_mid_batch_means_451_and_the_next_batch_gets_a_new_child(
    db: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = db
    ingest = _ingest(engine, tmp_path)

    async def run() -> None:
        pc = ProcessCommitter(ingest, url)
        await pc.start()
        try:
            first = await pc.submit(IncomingItem(msg(1), ENV))
            assert first.inbound_id > 0
            child = pc._proc
            assert child is not None
            # Hold SQLite's write lock so that the child's next batch stays in flight.
            blocker = engine.raw_connection()
            blocker.driver_connection.execute("BEGIN IMMEDIATE")
            try:
                in_flight = asyncio.ensure_future(pc.submit(IncomingItem(msg(2), ENV)))
                await asyncio.sleep(0.5)
                assert not in_flight.done()
                child.kill()  # as the OOM killer would, in the middle of the batch
                with pytest.raises(IngestError):
                    await in_flight
            finally:
                blocker.driver_connection.execute("ROLLBACK")
                blocker.close()
            again = await pc.submit(IncomingItem(msg(2), ENV))  # the sender's retry
            assert not again.duplicate
            assert pc._proc is not None and pc._proc is not child
        finally:
            await pc.stop()

    asyncio.run(run())
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 2


def test_database_failure_reaches_every_waiter(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"  # no schema: every batch fails
    engine = make_engine(url)
    ingest = _ingest(engine, tmp_path)

    async def run() -> list[BaseException | object]:
        pc = ProcessCommitter(ingest, url, max_batch=4)
        await pc.start()
        try:
            subs = [pc.submit(IncomingItem(msg(n), ENV)) for n in range(6)]
            return await asyncio.gather(*subs, return_exceptions=True)
        finally:
            await pc.stop()

    outcomes = asyncio.run(run())
    assert all(isinstance(o, IngestError) for o in outcomes), outcomes
    engine.dispose()


def test_stop_lets_submitted_messages_finish_and_ends_the_child(
    db: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = db
    ingest = _ingest(engine, tmp_path)

    async def run() -> None:
        pc = ProcessCommitter(ingest, url, max_batch=3)
        await pc.start()
        pending = [asyncio.ensure_future(pc.submit(IncomingItem(msg(n), ENV))) for n in range(10)]
        await asyncio.sleep(0)
        child = pc._proc
        await pc.stop()
        assert all(p.done() and not p.exception() for p in pending)
        assert child is not None and child.poll() is not None  # the child has exited
        with pytest.raises(IngestError):
            await pc.submit(IncomingItem(msg(99), ENV))

    asyncio.run(run())
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 10
