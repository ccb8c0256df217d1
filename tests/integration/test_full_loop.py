"""The whole loop against real servers: an appeal in over SMTP,
the forward delivered into the department's mailbox in Dovecot, a staff reply composed
the way a mail client does it (answer on top, quoted original below), delivered to the
gateway's reply mailbox and picked up over IMAP, the answer relayed to the citizen; the
appeal is closed and its reminders cancelled."""

from __future__ import annotations

import email
import smtplib
from email import policy
from email.message import EmailMessage
from typing import Any

import gwtest
import pytest
from aiosmtpd.controller import Controller
from gwtest import wait_for
from sqlalchemy import select

from gateway.outbound.transport import SmtpTransport
from gateway.scheduler import tick
from models import Appeal, AppealEvent, ReminderSent

pytestmark = pytest.mark.integration


class CouncilMailServer:
    """The council's MTA as far as the test needs it: mail for department addresses goes
    into the department's Dovecot mailbox; mail for the reply domain goes into the
    gateway's reply mailbox; everything else (citizens) is captured."""

    def __init__(self, dovecot: Any) -> None:
        self.dovecot = dovecot
        self.outside: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            user = rcpt.split("@")[0] if rcpt.endswith("@council.example") else None
            if rcpt.endswith("@reply.council.example"):
                user = "gateway-replies"
            if user:
                # Final delivery writes the envelope sender as Return-Path (RFC 5321 §4.4),
                # as Postfix's local delivery and Dovecot's LMTP do; the gateway reads it to
                # see that a department's mail came from the department (T2).
                path = f"Return-Path: <{envelope.mail_from}>\r\n".encode()
                self.dovecot.deliver(user, path + envelope.original_content)
            else:
                self.outside.append(([rcpt], envelope.original_content))
        return "250 OK"


def test_appeal_forward_staff_reply_over_imap_answer_to_citizen(
    dovecot: Any, make_app: Any, run_gateway: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.reset_user("zhkg-staff")
    dovecot.reset_user("gateway-replies")
    mta = CouncilMailServer(dovecot)
    port = gwtest.free_port()
    ctl = Controller(mta, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        app = make_app(
            {
                "imap": {
                    "mailboxes": [
                        {
                            "name": "replies",
                            "host": dovecot.host,
                            "port": dovecot.port,
                            "tls": False,
                            "username": "gateway-replies",
                            "password_env": "TEST_IMAP_PW",
                            "folder": "INBOX",
                            "after": "flag",
                            "poll_seconds": 1,
                            "idle": True,
                        }
                    ]
                }
            },
            transport=SmtpTransport("127.0.0.1", port, starttls=False),
            env={"TEST_IMAP_PW": dovecot.password},
        )
        gw = run_gateway(app, {"smtp", "work", "send", "imap"})
        # 1. A citizen's appeal over SMTP.
        m = EmailMessage()
        m["From"] = "Галина Мороз <halyna@example.org>"
        m["To"] = "zhkg@council.example"
        m["Subject"] = "Не працює вуличне освітлення"
        m["Message-ID"] = "<loop-1@example.org>"
        m.set_content(
            "Третій тиждень не світять ліхтарі на нашій вулиці, ввечері небезпечно.\n\n"
            "З повагою,\nГалина Мороз\nм. Луцьк, вул. Весняна, 8"
        )
        with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
            smtp.send_message(m)
        # 2. The forward arrives in the department's real mailbox.
        wait_for(lambda: dovecot.uids("zhkg-staff"))
        c = dovecot.client("zhkg-staff")
        c.select_folder("INBOX")
        (uid,) = c.search("ALL")
        fwd = email.message_from_bytes(
            c.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"], policy=policy.default
        )
        c.logout()
        reg_no = fwd["Subject"].split("]")[0].lstrip("[")
        # 3. Staff press Reply in their client: answer on top, the original quoted below.
        r = EmailMessage()
        r["From"] = "Сергій Коваль <zhkg-staff@council.example>"
        r["To"] = fwd["Reply-To"]
        r["Subject"] = "Re: " + fwd["Subject"]
        r["In-Reply-To"] = fwd["Message-ID"]
        r["References"] = fwd["Message-ID"]
        quoted = "\n".join("> " + ln for ln in fwd.get_body().get_content().splitlines())
        answer = "Освітлення на вул. Весняній відремонтовано 25.11, світильники замінено."
        r.set_content(
            f"{answer}\n\n--\nСергій Коваль\nДепартамент ЖКГ\n\n"
            f"Пн, 23 лист. 2026 о 10:15 Звернення громадян <appeals@council.example> пише:\n{quoted}\n"
        )
        with smtplib.SMTP("127.0.0.1", port) as smtp:  # through the council's MTA
            smtp.sendmail(
                "zhkg-staff@council.example", [fwd["Reply-To"]], r.as_bytes(policy=policy.SMTP)
            )

        # 4. The gateway takes it over IMAP and the citizen receives the answer.
        def citizen_answer() -> Any:
            for rcpts, data in mta.outside:
                msg = email.message_from_bytes(data, policy=policy.default)
                if rcpts == ["halyna@example.org"] and "Відповідь" in str(msg["Subject"]):
                    return msg
            return None

        got = wait_for(citizen_answer)
        text = got.get_body().get_content()
        assert answer in text
        assert "Третій тиждень" not in text  # the quoted original is not relayed
        with app.sessions() as s:
            appeal = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()
            events = [
                e.type
                for e in s.scalars(select(AppealEvent).where(AppealEvent.appeal_id == appeal.id))
            ]
        assert appeal.state == "closed"
        assert "reply-matched" in events and "answer-relayed" in events
        # 5. Its reminders are cancelled: a tick past the due date sends nothing for it.
        from datetime import UTC, datetime, timedelta
        from zoneinfo import ZoneInfo

        from gateway.clock import ManualClock
        from gateway.scheduler import reminder_plan
        from routing.reminders import within_window

        day = appeal.due_date + timedelta(days=8)
        while not app.calendar().is_working_day(day):
            day += timedelta(days=1)
        app.clock = ManualClock(datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC))
        assert within_window(
            app.clock.now(), reminder_plan(app), app.calendar(), ZoneInfo("Europe/Kyiv")
        )
        assert tick(app).sent == 0  # overdue by a week, yet nothing: it is answered
        with app.sessions() as s:
            assert (
                s.scalars(select(ReminderSent).where(ReminderSent.appeal_id == appeal.id)).first()
                is None
            )
    finally:
        ctl.stop()
