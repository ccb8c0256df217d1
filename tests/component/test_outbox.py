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

import pytest
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


class _KilledAfterHandOff:
    """Writes the message like the directory transport, then dies the way a SIGKILL
    between the hand-off and the commit would look from the database: nothing after the
    hand-off is committed (BaseException passes the sender's `except Exception`)."""

    def __init__(self, inner: DirectoryTransport) -> None:
        self.inner = inner

    def send(self, envelope_from: str, recipients: Any, raw: bytes) -> Any:
        self.inner.send(envelope_from, recipients, raw)
        raise KeyboardInterrupt


def test_a_hand_off_cut_before_its_commit_is_visible_and_writes_no_second_file(
    make_app: Any, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    out = tmp_path / "outbox"
    app = make_app(clock=clock, transport=_KilledAfterHandOff(DirectoryTransport(out)))
    _submit(app)
    with pytest.raises(KeyboardInterrupt):
        app.sender().run_once(1)
    (written,) = out.glob("*.eml")
    with app.sessions() as s:
        (row,) = [r for r in s.scalars(select(OutboundMessage)) if r.attempts]
        (attempt,) = s.scalars(select(DeliveryAttempt)).all()
    # The attempt was committed before the hand-off: counted and recorded, unfinished.
    assert row.state == "sending" and row.attempts == 1
    assert (attempt.outbound_id, attempt.outcome) == (row.id, "handoff")
    msg = email.message_from_bytes(written.read_bytes(), policy=policy.default)
    assert msg["Message-ID"] == row.message_id
    # The lease runs out; a sender (the restarted process) takes the row again.
    clock.advance(seconds=app.settings.worker.lease_seconds + 1)
    app.transport = DirectoryTransport(out)
    assert app.sender().run_once() == 2
    assert written.exists()
    assert len(list(out.glob("*.eml"))) == 2  # the ack once, and the forward
    with app.sessions() as s:
        again = s.get(OutboundMessage, row.id)
        assert again is not None and again.state == "sent" and again.attempts == 2
        outcomes = [
            (a.outcome, a.detail or "")
            for a in s.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.outbound_id == row.id)
                .order_by(DeliveryAttempt.id)
            )
        ]
    assert outcomes[0] == ("handoff", "")
    assert outcomes[1][0] == "sent" and outcomes[1][1].startswith("already delivered")


def test_the_attempt_is_committed_before_the_relay_is_spoken_to(
    make_app: Any, capture_relay: Any
) -> None:
    app = make_app(transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False))
    seen: list[tuple[str, int]] = []

    class Watching:
        def send(self, envelope_from: str, recipients: Any, raw: bytes) -> Any:
            # What another connection sees during the hand-off: committed, not pending.
            with app.sessions() as s:
                a = s.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id.desc())).first()
                o = s.get(OutboundMessage, a.outbound_id)
                seen.append((a.outcome, o.attempts))
            return inner.send(envelope_from, recipients, raw)

    inner = app.transport
    app.transport = Watching()
    _submit(app)
    assert app.sender().run_once() == 2
    assert seen == [("handoff", 1), ("handoff", 1)]
    with app.sessions() as s:
        assert [a.outcome for a in s.scalars(select(DeliveryAttempt))] == ["sent", "sent"]
    assert len(capture_relay.snapshot()) == 2
