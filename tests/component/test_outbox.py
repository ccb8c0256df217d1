"""The outbox sender against a real SMTP relay: temporary refusals are retried with
backoff, permanent ones mark the message failed (and flag the appeal when the citizen's
address is dead), every attempt is recorded; no relay means .eml files."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gateway.clock import ManualClock
from gateway.outbound.transport import DirectoryTransport, SmtpTransport
from models import Appeal, DeliveryAttempt, OutboundMessage
from routing.mail import Envelope


def _submit(app: Any) -> None:
    m = EmailMessage()
    m["From"] = "Василь Гнатюк <vasyl@example.org>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = "Ліфт"
    m.set_content(
        "Ліфт не працює вже тиждень, прошу полагодити.\nАдреса: м. Луцьк, вул. Карпенка-Карого, 2"
    )
    app.ingest().accept(m.as_bytes(), Envelope("smtp", "vasyl@example.org", ()))
    app.worker().run_once()


def _rows(app: Any) -> dict[str, OutboundMessage]:
    with app.sessions() as s:
        return {o.kind: o for o in s.scalars(select(OutboundMessage))}


def test_temporary_refusal_is_retried_with_backoff(make_app: Any, capture_relay: Any) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    app = make_app(
        clock=clock, transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False)
    )
    capture_relay.refuse["vasyl@example.org"] = "451 4.2.0 Try again later"
    _submit(app)
    sender = app.sender()
    assert sender.run_once() == 2
    ack = _rows(app)["citizen/ack"]
    assert ack.state == "queued" and ack.attempts == 1
    first_retry = ack.next_attempt_at - clock.now()
    assert timedelta(seconds=30) <= first_retry <= timedelta(minutes=2)
    assert sender.run_once() == 0  # not due yet
    clock.advance(first_retry)
    assert sender.run_once() == 1
    ack = _rows(app)["citizen/ack"]
    assert ack.attempts == 2 and ack.next_attempt_at - clock.now() > first_retry  # doubled
    del capture_relay.refuse["vasyl@example.org"]
    clock.advance(hours=1)
    sender.run_once()
    ack = _rows(app)["citizen/ack"]
    assert ack.state == "sent"
    with app.sessions() as s:
        outcomes = [
            a.outcome
            for a in s.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.outbound_id == ack.id)
                .order_by(DeliveryAttempt.id)
            )
        ]
    assert outcomes == ["temporary", "temporary", "sent"]
    assert [m.rcpt_tos for m in capture_relay.snapshot()].count(["vasyl@example.org"]) == 1


def test_permanent_refusal_fails_and_flags_the_appeal(make_app: Any, capture_relay: Any) -> None:
    app = make_app(transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False))
    capture_relay.refuse["vasyl@example.org"] = "550 5.1.1 No such user"
    _submit(app)
    app.sender().run_once()
    rows = _rows(app)
    assert rows["citizen/ack"].state == "failed"
    assert rows["citizen/ack"].failed_recipients == ["vasyl@example.org"]
    assert rows["department/assigned"].state == "sent"
    with app.sessions() as s:
        assert s.scalars(select(Appeal)).one().delivery_failed


def test_giving_up_after_retry_period(make_app: Any, capture_relay: Any) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    app = make_app(
        {"outbound": {"retry_for_hours": 2}},
        clock=clock,
        transport=SmtpTransport("127.0.0.1", 1, starttls=False),
    )  # nothing listens
    _submit(app)
    sender = app.sender()
    for _ in range(20):
        sender.run_once()
        clock.advance(minutes=30)
    rows = _rows(app)
    assert {r.state for r in rows.values()} == {"failed"}
    assert "gave up" in (rows["citizen/ack"].last_error or "")


def test_directory_transport_writes_eml_files(make_app: Any, tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    app = make_app(transport=DirectoryTransport(out))
    _submit(app)
    app.sender().run_once()
    files = sorted(out.glob("*.eml"))
    assert len(files) == 2
    msgs = [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert {m["X-Envelope-To"] for m in msgs} == {
        "<vasyl@example.org>",
        "<zhkg-staff@council.example>",
    }
    assert not list(out.glob(".*.tmp"))
