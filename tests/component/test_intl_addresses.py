"""Citizens with non-ASCII addresses (RFC 6530: `оксана@пошта.укр`, IDN domains) over real
sockets: the listener takes SMTPUTF8 mail, the outbox sends the acknowledgement with
SMTPUTF8 to a relay that offers it, and through a relay that does not the letter ends
`failed` with the reason, the appeal is flagged, the admin is told, and the rest of the
batch is delivered."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from conftest import CaptureRelay
from gwtest import free_port, wait_for
from sqlalchemy import select

from gateway.errors import DeliveryError
from gateway.intake.parsing import parse
from gateway.outbound.transport import SendResult, SmtpTransport
from models import Appeal, AppealEvent, InboundMessage, OutboundMessage
from routing.mail import Envelope

CYRILLIC = "оксана@пошта.укр"
CYRILLIC_WIRE = "оксана@xn--80a1acn3a.xn--j1amh"
IDN = "petro@пошта.укр"
IDN_WIRE = "petro@xn--80a1acn3a.xn--j1amh"


def letter(address: str, name: str, street: str) -> bytes:
    # Thunderbird writes a UTF-8 mailbox raw in the header (RFC 6532) and sends with
    # SMTPUTF8; the display name is an encoded word as usual.
    return (
        f"From: {name} <{address}>\r\n"
        "To: zhkg@council.example\r\n"
        f"Subject: Не працює ліфт, {street}\r\n"
        f"Message-ID: <{abs(hash((address, street)))}@пошта.укр>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"Доброго дня! У будинку на вул. {street} другий тиждень не працює ліфт.\r\n"
        f"Прошу відремонтувати.\r\n\r\n{name}\r\nАдреса: м. Луцьк, вул. {street}, кв. 3\r\n"
    ).encode()


@pytest.fixture
def relay() -> Iterator[Callable[[bool], CaptureRelay]]:
    controllers: list[Controller] = []

    def start(smtputf8: bool) -> CaptureRelay:
        r = CaptureRelay("127.0.0.1", free_port())
        c = Controller(r, hostname=r.host, port=r.port, enable_SMTPUTF8=smtputf8)
        c.start()
        controllers.append(c)
        return r

    yield start
    for c in controllers:
        c.stop()


def submit(app: Any, raw: bytes, mail_from: str) -> None:
    app.ingest().accept(raw, Envelope("smtp", mail_from, ("zhkg@council.example",)))
    app.worker().run_once(20)


def rows(app: Any) -> list[OutboundMessage]:
    with app.sessions() as s:
        return list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_listener_takes_smtputf8_mail_from_a_cyrillic_address(
    make_app: Any, run_gateway: Any, capture_relay: Any
) -> None:
    app = make_app(transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False))
    gw = run_gateway(app)
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("smtputf8")
        smtp.sendmail(
            CYRILLIC,
            ["zhkg@council.example"],
            letter(CYRILLIC, "Оксана Гнатюк", "Карпенка-Карого, 2"),
            mail_options=["SMTPUTF8", "BODY=8BITMIME"],
        )

    def registered() -> Appeal | None:
        with app.sessions() as s:
            return s.scalars(select(Appeal)).first()

    appeal = wait_for(registered)
    assert appeal.citizen_email == CYRILLIC
    with app.sessions() as s:
        assert s.scalars(select(InboundMessage.mail_from)).one() == CYRILLIC


def test_ack_goes_with_smtputf8_to_a_relay_that_offers_it(make_app: Any, relay: Any) -> None:
    r = relay(True)
    app = make_app(transport=SmtpTransport(r.host, r.port, starttls=False))
    submit(app, letter(CYRILLIC, "Оксана Гнатюк", "Карпенка-Карого, 2"), CYRILLIC)
    app.sender().run_once()
    assert {o.kind: o.state for o in rows(app)} == {
        "citizen/ack": "sent",
        "department/assigned": "sent",
    }
    (ack,) = [m for m in r.snapshot() if m.rcpt_tos == [CYRILLIC_WIRE]]
    assert ack.smtp_utf8
    got = parse(ack.data)
    assert [a.email for a in got.to] == [CYRILLIC]
    assert "Реєстраційний номер" in got.text
    # The forward is plain ASCII mail and needs no extension.
    (fwd,) = [m for m in r.snapshot() if m.rcpt_tos == ["zhkg-staff@council.example"]]
    assert not fwd.smtp_utf8
    assert CYRILLIC in parse(fwd.data).text


def test_relay_without_smtputf8_fails_that_letter_only_and_alerts(
    make_app: Any, relay: Any
) -> None:
    r = relay(False)
    app = make_app(transport=SmtpTransport(r.host, r.port, starttls=False))
    # Two citizens in one batch: the Cyrillic one first, then an IDN domain with an ASCII
    # local part (deliverable anywhere as A-labels), then an ordinary address.
    submit(app, letter(CYRILLIC, "Оксана Гнатюк", "Карпенка-Карого, 2"), CYRILLIC)
    submit(app, letter(IDN, "Петро Іваненко", "Шевченка, 5"), IDN)
    submit(app, letter("vasyl@ukr.net", "Василь Гнатюк", "Ковельська, 9"), "vasyl@ukr.net")
    sender = app.sender()
    assert sender.run_once(20) == 6
    by = {(o.kind, o.recipients[0]): o for o in rows(app)}
    failed = by[("citizen/ack", CYRILLIC)]
    assert failed.state == "failed"
    assert failed.failed_recipients == [CYRILLIC]
    assert "SMTPUTF8" in (failed.last_error or "")
    assert by[("citizen/ack", IDN)].state == "sent"
    assert by[("citizen/ack", "vasyl@ukr.net")].state == "sent"
    forwards = [o.state for o in rows(app) if o.kind == "department/assigned"]
    assert forwards == ["sent"] * 3
    assert [IDN_WIRE] in [m.rcpt_tos for m in r.snapshot()]
    with app.sessions() as s:
        appeal = s.scalars(select(Appeal).where(Appeal.citizen_email == CYRILLIC)).one()
        assert appeal.delivery_failed
        (event,) = s.scalars(
            select(AppealEvent).where(AppealEvent.type == "citizen-undeliverable")
        ).all()
        assert event.appeal_id == appeal.id and "SMTPUTF8" in event.data["reason"]
    # The admin's notice goes out in the next round.
    assert sender.run_once(20) == 1
    (alert,) = [m for m in r.snapshot() if m.rcpt_tos == ["admin@council.example"]]
    text = parse(alert.data).text
    assert appeal.reg_no in text and "smtputf8_enable" in text


class _BrokenFor:
    """A transport with a bug for one recipient (what the UTF-8 address used to trigger
    inside smtplib), real SMTP for everyone else."""

    def __init__(self, inner: SmtpTransport, bad: str) -> None:
        self.inner, self.bad = inner, bad

    def send(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> SendResult:
        if self.bad in recipients:
            raise UnicodeEncodeError("ascii", self.bad, 0, 1, "ordinal not in range(128)")
        return self.inner.send(envelope_from, recipients, raw)


def test_a_transport_error_never_leaves_a_row_sending(make_app: Any, relay: Any) -> None:
    r = relay(True)
    transport = _BrokenFor(SmtpTransport(r.host, r.port, starttls=False), "vasyl@ukr.net")
    app = make_app(transport=transport)
    submit(app, letter("vasyl@ukr.net", "Василь Гнатюк", "Ковельська, 9"), "vasyl@ukr.net")
    submit(app, letter("olena@ukr.net", "Олена Коваль", "Шевченка, 5"), "olena@ukr.net")
    app.sender().run_once(20)
    by = {(o.kind, o.recipients[0]): o for o in rows(app)}
    assert "sending" not in {o.state for o in by.values()}
    # A failed attempt, retried with backoff (and failed for good after retry_for).
    broken = by[("citizen/ack", "vasyl@ukr.net")]
    assert (broken.state, broken.attempts) == ("queued", 1)
    assert broken.last_error == "transport error: UnicodeEncodeError"
    assert by[("citizen/ack", "olena@ukr.net")].state == "sent"


def test_unwritable_domain_is_refused_with_a_reason(relay: Any) -> None:
    r = relay(True)
    t = SmtpTransport(r.host, r.port, starttls=False)
    bad = "x@" + "д" * 70 + ".укр"
    result = t.send(
        "bounces+1@reply.council.example", [bad, "ok@example.org"], b"Subject: x\r\n\r\n."
    )
    assert result.refused[bad][0] == 553
    assert [m.rcpt_tos for m in r.snapshot()] == [["ok@example.org"]]
    with pytest.raises(DeliveryError) as exc:
        t.send(bad, ["ok@example.org"], b"Subject: x\r\n\r\n.")
    assert exc.value.permanent
