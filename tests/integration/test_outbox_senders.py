"""Two senders on one database (SQLite, PostgreSQL), each with its own engine, deliver 200
queued messages through a relay slow enough that a 20-row claim outlasts the lease: every
Message-ID reaches the directory transport and the SMTP relay exactly once.

The bug this guards against: the claim's lease ran out while the first rows of the batch
were being sent, the other sender claimed the rest, and both sent them.
"""

from __future__ import annotations

import collections
import email
import logging
import threading
import time
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any

import gwtest
import pytest
from sqlalchemy import func, select

from gateway.clock import SystemClock
from gateway.outbound.outbox import OutboxSender
from gateway.outbound.transport import DirectoryTransport, SmtpTransport
from models import DeliveryAttempt, OutboundMessage
from models.db import make_engine, make_session_factory

pytestmark = pytest.mark.integration

N = 200
LEASE = timedelta(seconds=1)
PER_MESSAGE = 0.1  # a 20-row claim takes 2 s: twice the lease


class SlowRelay:
    """A transport that takes PER_MESSAGE seconds per message, and counts its sends."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.sent = inner, 0

    def send(self, envelope_from: str, recipients: Any, raw: bytes) -> Any:
        time.sleep(PER_MESSAGE)
        self.sent += 1
        return self.inner.send(envelope_from, recipients, raw)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_schema_url"))
    return f"sqlite:///{tmp_path / 'senders.db'}"


@pytest.mark.parametrize("via", ["directory", "smtp"])
def test_two_senders_with_a_short_lease_deliver_each_message_once(
    make_app: Any,
    db_url: str,
    via: str,
    tmp_path: Path,
    capture_relay: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app({"database": {"url": db_url}})
    wanted = gwtest.queue_outbound(app.sessions, N, "two-senders")
    out = tmp_path / "outbox"
    relays = [
        SlowRelay(
            DirectoryTransport(out)
            if via == "directory"
            else SmtpTransport(capture_relay.host, capture_relay.port, starttls=False)
        )
        for _ in range(2)
    ]
    engines = [make_engine(db_url) for _ in range(2)]
    senders = [
        OutboxSender(
            make_session_factory(e),
            relay,
            SystemClock(),
            retry_for=timedelta(hours=1),
            first_retry=timedelta(seconds=1),
            lease=LEASE,
        )
        for e, relay in zip(engines, relays, strict=True)
    ]
    errors: list[BaseException] = []

    def unfinished() -> int:
        with app.sessions() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(OutboundMessage)
                    .where(OutboundMessage.state.not_in(("sent", "failed")))
                )
                or 0
            )

    def drain(sender: OutboxSender, batch: int) -> None:
        deadline = time.monotonic() + 120
        try:
            while unfinished() and time.monotonic() < deadline:
                if sender.run_once(batch) == 0:
                    time.sleep(0.05)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    caplog.set_level(logging.INFO, logger="gateway.outbound.outbox")
    # Different batch sizes keep the two out of step: the one with short batches comes
    # back while the other's claim still holds rows whose lease has run out.
    threads = [
        threading.Thread(target=drain, args=(s, batch))
        for s, batch in zip(senders, (20, 5), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert not errors, errors
    assert unfinished() == 0
    # Both worked, and the lease did run out inside claims (rows were taken over).
    assert all(r.sent > 0 for r in relays), [r.sent for r in relays]
    assert "claimed by another sender since" in caplog.text
    assert sum(r.sent for r in relays) == N  # each row handed off once
    if via == "directory":
        files = list(out.glob("*.eml"))
        got = [
            email.message_from_bytes(f.read_bytes(), policy=policy.default)["Message-ID"]
            for f in files
        ]
    else:
        got = [
            email.message_from_bytes(m.data, policy=policy.default)["Message-ID"]
            for m in capture_relay.snapshot()
        ]
    assert collections.Counter(got) == collections.Counter(wanted)
    with app.sessions() as s:
        outcomes = collections.Counter(a.outcome for a in s.scalars(select(DeliveryAttempt)))
        assert outcomes == {"sent": N}
        assert {o.state for o in s.scalars(select(OutboundMessage))} == {"sent"}
