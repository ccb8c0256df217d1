"""Group commit for the SMTP listener on SQLite, done by a child process.

Why a process and not a thread (gateway.intake.committer.GroupCommitter): a committing thread shares
the interpreter lock with the event loop that serves the SMTP sessions. Each time it comes
back from SQLite it has to win that lock back from a busy loop, and it waits to be
scheduled beside it; on these 2-core machines a batch of six 4 KB messages, about 0.5 ms
of SQLite work on its own, took 2.5-3 ms inside the listener (bench/smtp_intake.py,
timings in the README). The child has its own interpreter: it only waits for the disk.

The protocol is deliberately small. The listener prepares each message's row on the loop
(`Ingest.prepare`: sha256 and the column types' bind conversions) and, whenever no batch
is in flight, sends everything waiting as one batch: a length-prefixed pickle of
`(sha256, values)` tuples over a socketpair. The child commits the batch with
`SqliteIntakeWriter` (one multi-row INSERT, flushed before it returns) and answers with
one `(inbound_id, sha256, duplicate)` per message, or the name of the error. Only then
does each SMTP session hear 250 (or 451). One batch at a time: SQLite has one writer.

If the child dies, every message of the batch in flight gets 451 (the sender retries; a
batch that was in fact committed is then recognised by its sha256 and not stored twice),
and the next batch starts a new child. If the listener dies, the child reads end-of-file
and exits. Both sides are the same program, so the pickles cross no trust boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import socket
import struct
import subprocess
import sys
from typing import Any

from gateway.errors import IngestError
from gateway.intake.committer import settle
from gateway.intake.ingest import Ingest
from gateway.intake.items import AcceptResult, IncomingItem, PreparedRow
from gateway.intake.sqlite_writer import SqliteIntakeWriter

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")  # payload length


def _encode(obj: Any) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


Entry = tuple[PreparedRow, "asyncio.Future[AcceptResult]"]


class ProcessCommitter:
    """The listener side: same interface as GroupCommitter (start, submit, stop)."""

    def __init__(self, ingest: Ingest, database_url: str, max_batch: int = 64) -> None:
        if not ingest.prepares_rows:
            raise IngestError("the process committer is for SQLite only")
        self._ingest = ingest
        self._url = database_url
        self._max_batch = max_batch
        self._waiting: list[Entry] = []
        self._inflight: list[Entry] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._results: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._started = False
        # Set when the child's socket reached end-of-file: the child is gone even if the
        # kernel has not yet made it a zombie (its files close before it exits, so
        # `poll()` can still say "running" for a moment after the end-of-file).
        self._child_gone = False

    async def start(self) -> None:
        self._started = True
        self._idle.set()

    async def stop(self) -> None:
        """Let every submitted message finish, then end the child."""
        while self._waiting or self._inflight:
            self._idle.clear()
            await self._idle.wait()
        self._started = False
        await self._close_child()

    async def submit(self, item: IncomingItem) -> AcceptResult:
        if not self._started:
            raise IngestError("group committer not started")
        try:
            row = self._ingest.prepare(item)
        except Exception as exc:
            log.exception("could not prepare an inbound row")
            raise IngestError(f"could not store message: {type(exc).__name__}") from exc
        fut: asyncio.Future[AcceptResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, fut))
        if self._inflight is None:
            await self._send_next()
        return await fut

    # -- the listener's side of the protocol ---------------------------------------------
    async def _send_next(self) -> None:
        if self._inflight is not None or not self._waiting:
            return
        batch = self._waiting[: self._max_batch]
        del self._waiting[: self._max_batch]
        self._inflight = batch
        try:
            writer = await self._child_writer()
            # memoryview (the LargeBinary bind processor's output) does not pickle.
            rows = [
                (
                    row.sha256,
                    tuple(bytes(v) if isinstance(v, memoryview) else v for v in row.values),
                )
                for row, _ in batch
            ]
            writer.write(_encode(rows))
        except Exception as exc:
            log.exception("could not hand a batch to the intake process")
            await self._fail_inflight(f"intake process unavailable: {type(exc).__name__}")

    async def _child_writer(self) -> asyncio.StreamWriter:
        if (
            self._writer is not None
            and self._proc is not None
            and not self._child_gone
            and self._proc.poll() is None
        ):
            return self._writer
        await self._close_child()
        ours, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway.intake.intake_process",
                    self._url,
                    str(theirs.fileno()),
                ],
                pass_fds=[theirs.fileno()],
            )
        finally:
            theirs.close()
        reader, self._writer = await asyncio.open_unix_connection(sock=ours)
        self._child_gone = False
        self._results = asyncio.create_task(self._read_results(reader))
        log.info("intake process %d started", self._proc.pid)
        return self._writer

    async def _read_results(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
                answer = pickle.loads(await reader.readexactly(size))
                batch, self._inflight = self._inflight or [], None
                if isinstance(answer, str):
                    settle(batch, IngestError(f"could not store message: {answer}"))
                else:
                    settle(batch, [AcceptResult(*a) for a in answer])
                    self._ingest.notify_commit()
                await self._after_batch()
        except (asyncio.IncompleteReadError, ConnectionError):
            # Before answering the batch: its waiters' senders retry at once, and the
            # retry must go to a new child, not be written into this dead socket.
            self._child_gone = True
            if self._inflight:
                log.error("intake process ended with a batch in flight; answering 451")
            await self._fail_inflight("intake process ended")

    async def _fail_inflight(self, reason: str) -> None:
        batch, self._inflight = self._inflight or [], None
        settle(batch, IngestError(reason))
        await self._after_batch()

    async def _after_batch(self) -> None:
        if self._waiting:
            await self._send_next()
        elif self._inflight is None:
            self._idle.set()

    async def _close_child(self) -> None:
        writer, proc, results = self._writer, self._proc, self._results
        self._writer = None
        self._proc = None
        self._results = None
        if writer is not None:
            writer.close()  # the child reads end-of-file and exits
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        if results is not None and results is not asyncio.current_task():
            results.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await results
        if proc is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, proc.wait, 30)
            except subprocess.TimeoutExpired:
                log.error("intake process %d did not exit; killing it", proc.pid)
                proc.kill()


# -- the child ---------------------------------------------------------------------------
def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def child_main(database_url: str, fd: int) -> int:
    """Commit batches from the listener until it closes the socket."""
    from models.db import make_engine

    sock = socket.socket(fileno=fd)
    engine = make_engine(database_url)
    writer = SqliteIntakeWriter(engine, None)
    try:
        while True:
            header = _read_exactly(sock, _HEADER.size)
            if header is None:
                return 0
            payload = _read_exactly(sock, _HEADER.unpack(header)[0])
            if payload is None:
                return 0
            rows = [PreparedRow(sha, values) for sha, values in pickle.loads(payload)]
            answer: Any
            try:
                answer = [(r.inbound_id, r.sha256, r.duplicate) for r in writer.write(rows)]
            except IngestError as exc:
                cause = exc.__cause__
                answer = type(cause).__name__ if cause is not None else str(exc)
            sock.sendall(_encode(answer))
    finally:
        writer.close()
        engine.dispose()
        sock.close()


if __name__ == "__main__":
    from gateway.logsetup import configure

    configure("INFO")
    raise SystemExit(child_main(sys.argv[1], int(sys.argv[2])))
