"""The SMTP listener over real sockets: recipient policy, size limit, durable 250, and
bad input that is stored and held, never crashing the worker."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from typing import Any

import pytest
from gwtest import wait_for
from sqlalchemy import func, select

from models import Appeal, InboundMessage


def appeal_message(to: str = "zhkg@council.example", subject: str = "Немає води") -> bytes:
    m = EmailMessage()
    m["From"] = "Олена Коваль <olena@example.org>"
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = f"<{time.monotonic_ns()}@example.org>"
    m.set_content("Прошу відновити водопостачання у будинку на вул. Лесі Українки, 7.")
    return m.as_bytes()


def states(app: Any) -> dict[str, int]:
    with app.sessions() as s:
        return dict(
            s.execute(
                select(InboundMessage.state, func.count()).group_by(InboundMessage.state)
            ).all()
        )


@pytest.fixture
def gateway(make_app: Any, run_gateway: Any, capture_relay: Any) -> Any:
    from gateway.outbound.transport import SmtpTransport

    app = make_app(
        {"smtp_server": {"max_message_size": 64 * 1024}},
        transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False),
    )
    return run_gateway(app)


def test_unknown_recipient_gets_550_and_nothing_is_stored(gateway: Any) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.port) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
            smtp.sendmail("x@example.org", ["someone@elsewhere.example"], appeal_message())
    assert exc.value.recipients["someone@elsewhere.example"][0] == 550
    assert states(gateway.app) == {}


def test_relaying_to_outside_is_refused_even_with_one_good_recipient(gateway: Any) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.port) as smtp:
        refused = smtp.sendmail(
            "x@example.org", ["zhkg@council.example", "victim@elsewhere.example"], appeal_message()
        )
    assert refused["victim@elsewhere.example"][0] == 550
    wait_for(lambda: states(gateway.app).get("processed") == 1)
    with gateway.app.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
    assert row.rcpt_tos == ["zhkg@council.example"]


def test_oversize_message_gets_552(gateway: Any) -> None:
    big = appeal_message() + b"x" * (80 * 1024) + b"\r\n"
    with smtplib.SMTP("127.0.0.1", gateway.port) as smtp:
        with pytest.raises(smtplib.SMTPException) as exc:
            smtp.sendmail("x@example.org", ["zhkg@council.example"], big)
    code = getattr(exc.value, "smtp_code", None) or exc.value.args[0]
    if isinstance(code, dict):  # SMTPRecipientsRefused after SIZE
        code = next(iter(code.values()))[0]
    assert code == 552
    assert states(gateway.app) == {}


def test_reply_domain_is_accepted(gateway: Any) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.port) as smtp:
        assert (
            smtp.sendmail("x@example.org", ["reply+1-abc@reply.council.example"], appeal_message())
            == {}
        )
    wait_for(
        lambda: sum(states(gateway.app).values()) == 1 and "received" not in states(gateway.app)
    )


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(
            b"\r\n".join(
                bytes((i * 7 + j) % 256 for j in range(70)).replace(b"\r", b"").replace(b"\n", b"")
                for i in range(40)
            ),
            id="arbitrary-bytes",
        ),
        pytest.param(
            b"From: a@example.org\r\nTo: zhkg@council.example\r\nSubject: x\r\n"
            b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="zzz"\r\n\r\n'
            b'--zzz\r\nContent-Type: multipart/alternative; boundary="yyy"\r\n\r\n'
            b"--yyy\r\nContent-Type: text/plain; charset=unknown-8bit\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n@@@not base64@@@\r\n",
            id="broken-mime-tree",
        ),
    ],
)
def test_bad_input_is_stored_and_ends_in_a_recorded_state(gateway: Any, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.port) as smtp:
        smtp.sendmail("x@example.org", ["zhkg@council.example"], raw)
    wait_for(
        lambda: (
            sum(states(gateway.app).values()) == 1
            and not {"received", "processing"} & set(states(gateway.app))
        )
    )
    with gateway.app.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
    # Kept exactly as received (content-addressed), in a terminal state with a reason.
    import hashlib

    stored = gateway.app.rawstore.get(row.raw_sha256)
    assert hashlib.sha256(stored).hexdigest() == row.raw_sha256
    assert len(stored) == row.size
    assert row.state == "held"
    assert row.reason in {"no-sender", "empty", "unparseable", "defective"}
    # The worker is still alive: a good appeal after the bad one goes through.
    with smtplib.SMTP("127.0.0.1", gateway.port) as smtp:
        smtp.sendmail("x@example.org", ["zhkg@council.example"], appeal_message())
    wait_for(lambda: _appeals(gateway.app) >= 1)


def _appeals(app: Any) -> int:
    with app.sessions() as s:
        return int(s.scalar(select(func.count(Appeal.id))) or 0)


def test_appeal_is_acknowledged_and_forwarded_through_the_relay(
    gateway: Any, capture_relay: Any
) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.port) as smtp:
        smtp.sendmail("olena@example.org", ["zhkg@council.example"], appeal_message())
    wait_for(lambda: len(capture_relay.snapshot()) >= 2)
    msgs = capture_relay.snapshot()
    by_rcpt = {m.rcpt_tos[0]: m for m in msgs}
    assert set(by_rcpt) == {"olena@example.org", "zhkg-staff@council.example"}
    ack = by_rcpt["olena@example.org"].data
    assert b"Auto-Submitted: auto-replied" in ack
    assert b"X-Appeal-Gateway:" in ack
    fwd = by_rcpt["zhkg-staff@council.example"].data
    assert b"Reply-To: reply+" in fwd
    # The envelope sender is a VERP bounce address on the reply domain.
    assert by_rcpt["zhkg-staff@council.example"].mail_from.startswith("bounces+")
