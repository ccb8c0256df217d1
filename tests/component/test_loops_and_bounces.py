"""Mail loops and bounces: the gateway facing an auto-responder that answers
everything stops within a bounded number of messages; bounces are linked to the message
they are about and flag the appeal or alert the admin."""

from __future__ import annotations

import email
import smtplib
import threading
import time
from email import policy
from email.message import EmailMessage
from typing import Any

import gwtest
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from gateway.outbound.transport import SmtpTransport
from models import Appeal, OutboundMessage


class AnsweringMachine:
    """A relay whose every recipient auto-answers everything, carelessly: no
    Auto-Submitted, no In-Reply-To, just 'Re: <subject>' back to the From address,
    through the gateway's own SMTP port."""

    def __init__(self) -> None:
        self.gateway_port = 0
        self.received = 0
        self.sent = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.received += 1
        for rcpt in envelope.rcpt_tos:
            threading.Thread(target=self._answer, args=(rcpt, msg), daemon=True).start()
        return "250 OK"

    def _answer(self, me: str, msg: EmailMessage) -> None:
        r = EmailMessage()
        r["From"] = f"Автовідповідач Тест <{me}>"
        r["To"] = str(msg["From"])
        r["Subject"] = "Re: " + str(msg["Subject"])
        r.set_content(
            "Дякуємо за лист! Ми отримали Ваше повідомлення і відповімо згодом.\n"
            "Адреса: м. Луцьк, вул. Тестова, 1"
        )
        to = msg["From"].addresses[0].addr_spec
        try:
            with smtplib.SMTP("127.0.0.1", self.gateway_port, timeout=10) as smtp:
                smtp.sendmail(me, [to], r.as_bytes(policy=policy.SMTP))
            with self.lock:
                self.sent += 1
        except (OSError, smtplib.SMTPException):
            pass


def test_gateway_and_an_answering_machine_stop_after_a_few_messages(
    make_app: Any, run_gateway: Any
) -> None:
    machine = AnsweringMachine()
    port = gwtest.free_port()
    ctl = Controller(machine, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        app = make_app(transport=SmtpTransport("127.0.0.1", port, starttls=False))
        gw = run_gateway(app)
        machine.gateway_port = gw.port
        m = EmailMessage()
        m["From"] = "Автовідповідач Тест <robot@example.org>"
        m["To"] = "zhkg@council.example"
        m["Subject"] = "Сміття у дворі"
        m.set_content(
            "Прошу вивезти сміття з двору будинку, воно лежить тиждень.\n"
            "Адреса: м. Луцьк, вул. Тестова, 1"
        )
        with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
            smtp.sendmail(
                "robot@example.org", ["zhkg@council.example"], m.as_bytes(policy=policy.SMTP)
            )
        # Let the exchange run until it is quiet for a while (or clearly runs away).
        last, quiet_since = -1, time.monotonic()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with machine.lock:
                now = machine.received + machine.sent
            if now != last:
                last, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since > 3:
                break
            time.sleep(0.1)
        with app.sessions() as s:
            outbound = s.scalar(select(func.count(OutboundMessage.id)))
            appeals = s.scalar(select(func.count(Appeal.id)))
        with app.sessions() as s:
            kinds = [(o.kind, o.recipients) for o in s.scalars(select(OutboundMessage))]
        assert machine.received <= 6, (
            f"the exchange ran on: {machine.received} messages out {kinds[:12]}"
        )
        assert outbound == machine.received
        assert appeals == 1  # the machine's answers never became new appeals
        print(
            f"loop test: {machine.received} messages to the answering machine, {machine.sent} back"
        )
    finally:
        ctl.stop()


def _dsn(failed_rcpt: str, status: str, original: bytes) -> bytes:
    headers = original.split(b"\r\n\r\n", 1)[0].decode()
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        "To: bounces@reply.council.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {failed_rcpt}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} User unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{headers}\r\n--B--\r\n"
    ).encode()


@pytest.fixture
def sent_appeal(make_app: Any) -> Any:
    from routing.mail import Envelope

    app = make_app()
    m = EmailMessage()
    m["From"] = "Ірина Лисенко <iryna@example.org>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = "Опалення"
    m.set_content("У квартирі холодно, батареї ледь теплі.\nАдреса: м. Луцьк, вул. Гонти, 5")
    app.ingest().accept(
        m.as_bytes(), Envelope("smtp", "iryna@example.org", ("zhkg@council.example",))
    )
    app.worker().run_once()
    return app


def _outbound(app: Any, kind: str) -> OutboundMessage:
    with app.sessions() as s:
        return s.scalars(select(OutboundMessage).where(OutboundMessage.kind == kind)).one()


@pytest.mark.parametrize("via", ["verp", "message-id"])
def test_permanent_bounce_of_the_citizen_flags_the_appeal(sent_appeal: Any, via: str) -> None:
    from routing.mail import Envelope

    app = sent_appeal
    ack = _outbound(app, "citizen/ack")
    rcpt = ack.envelope_from if via == "verp" else "reply@reply.council.example"
    original = ack.raw if via == "message-id" else b"From: x\r\nSubject: y\r\n\r\n"
    app.ingest().accept(
        _dsn("iryna@example.org", "5.1.1", original), Envelope("smtp", None, (rcpt,))
    )
    app.worker().run_once()
    with app.sessions() as s:
        appeal = s.scalars(select(Appeal)).one()
        assert appeal.delivery_failed
    assert "iryna@example.org" in _outbound(app, "citizen/ack").failed_recipients


def test_mailbox_full_is_recorded_but_not_a_dead_address(sent_appeal: Any) -> None:
    from routing.mail import Envelope

    app = sent_appeal
    ack = _outbound(app, "citizen/ack")
    app.ingest().accept(
        _dsn("iryna@example.org", "5.2.2", ack.raw), Envelope("smtp", None, (ack.envelope_from,))
    )
    app.worker().run_once()
    with app.sessions() as s:
        assert not s.scalars(select(Appeal)).one().delivery_failed


def test_department_bounce_alerts_the_admin(sent_appeal: Any) -> None:
    from routing.mail import Envelope

    app = sent_appeal
    fwd = _outbound(app, "department/assigned")
    app.ingest().accept(
        _dsn("zhkg@council.example", "5.1.1", fwd.raw), Envelope("smtp", None, (fwd.envelope_from,))
    )
    app.worker().run_once()
    alert = _outbound(app, "admin/delivery_failed")
    assert alert.recipients == ["admin@council.example"]
    assert (
        "zhkg"
        in email.message_from_bytes(alert.raw, policy=policy.default).get_body().get_content()
    )


def test_daily_cap_on_automatic_mail_to_one_address(make_app: Any) -> None:
    from routing.mail import Envelope

    app = make_app({"outbound": {"max_per_recipient_per_day": 3}})
    issues = [
        "ремонт під'їзду",
        "вивіз сміття",
        "освітлення двору",
        "ремонт ліфта",
        "прибирання снігу",
    ]
    for i, issue in enumerate(issues):
        m = EmailMessage()
        m["From"] = "Ірина Лисенко <iryna@example.org>"
        m["To"] = "zhkg@council.example"
        m["Subject"] = f"Питання {i}"
        m.set_content(
            f"Окреме питання: {issue}, прошу вжити заходів.\nАдреса: м. Луцьк, вул. Гонти, 5"
        )
        app.ingest().accept(m.as_bytes(), Envelope("smtp", "iryna@example.org", ()))
    app.worker().run_once()
    with app.sessions() as s:
        acks = s.scalars(select(OutboundMessage).where(OutboundMessage.kind == "citizen/ack")).all()
        forwards = s.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == "department/assigned")
        ).all()
        appeals = s.scalars(select(Appeal)).all()
    assert len(appeals) == 5 and len(forwards) == 5  # every appeal is still handled
    assert len(acks) == 3  # but the citizen gets at most 3 automatic messages a day
