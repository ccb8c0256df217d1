"""Group commit for the SMTP listener. `GroupCommitter` is the asyncio side: messages that
arrive while a batch is being committed wait and are committed together in the next one
(group commit), so intake costs one flush and one transaction per batch rather than per
message.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from typing import Any

from gateway.errors import IngestError
from gateway.intake.ingest import Ingest
from gateway.intake.items import AcceptResult, IncomingItem

log = logging.getLogger(__name__)


Waiter = tuple[IncomingItem, "asyncio.Future[AcceptResult]"]


class GroupCommitter:
    """Collects concurrent submissions and commits them in batches off the event loop.

    One thread takes everything queued (up to `max_batch`), commits it in one transaction
    and hands the results back to the event loop in one call; messages that arrive
    meanwhile form the next batch. Each message hears its result only after its own row
    (with its bytes) is committed. `stop` lets the messages already submitted finish
    before the thread ends. The SMTP listener uses it with PostgreSQL; on SQLite it uses
    `gateway.intake.intake_process.ProcessCommitter`, which commits in a child process.
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
