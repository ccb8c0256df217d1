"""Staff reply from a normal mail client -> matched -> answer relayed -> appeal closed;
forged tokens and strangers held; staff commands; citizen follow-ups."""

from __future__ import annotations

import email
import smtplib
import time
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from gwtest import wait_for
from sqlalchemy import select

from gateway.outbound.transport import SmtpTransport
from models import Appeal, AppealEvent, InboundMessage, TrainingLabel


@pytest.fixture
def gw(make_app: Any, run_gateway: Any, capture_relay: Any) -> Any:
    app = make_app(transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False))
    return run_gateway(app)


def send(gw: Any, raw: bytes, rcpt: str, sender: str = "someone@example.org") -> None:
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.sendmail(sender, [rcpt], raw)


def mail_for(relay: Any, rcpt: str, n: int = 1) -> list[EmailMessage]:
    def found() -> list[EmailMessage]:
        out = [
            email.message_from_bytes(m.data, policy=policy.default)
            for m in relay.snapshot()
            if rcpt in m.rcpt_tos
        ]
        return out if len(out) >= n else []

    return wait_for(found)  # type: ignore[no-any-return]


def new_appeal(gw: Any, relay: Any) -> tuple[EmailMessage, str]:
    m = EmailMessage()
    m["From"] = "Оксана Бондар <oksana@example.org>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = "Протікає дах"
    m["Message-ID"] = f"<{time.monotonic_ns()}@example.org>"
    m.set_content("Після дощу протікає дах над квартирою 9 у будинку на вул. Глушець, 3.")
    send(gw, m.as_bytes(policy=policy.SMTP), "zhkg@council.example", "oksana@example.org")
    fwd = mail_for(relay, "zhkg-staff@council.example")[0]
    reg_no = fwd["Subject"].split("]")[0].lstrip("[")
    return fwd, reg_no


def staff_reply(
    fwd: EmailMessage, body: str, sender: str = "zhkg-staff@council.example", to: str | None = None
) -> bytes:
    """A reply composed the way mail clients do it: answer on top, quoted original below."""
    r = EmailMessage()
    r["From"] = f"Іван Майстренко <{sender}>"
    r["To"] = to or fwd["Reply-To"]
    r["Subject"] = "Re: " + fwd["Subject"]
    r["In-Reply-To"] = fwd["Message-ID"]
    r["References"] = fwd["Message-ID"]
    quoted = "\n".join("> " + ln for ln in fwd.get_body().get_content().splitlines())
    r.set_content(
        f"{body}\n\nЗ повагою,\nІван Майстренко\n\n"
        f"23.11.2026 10:00, Звернення громадян пише:\n{quoted}\n"
    )
    return r.as_bytes(policy=policy.SMTP)  # CRLF line ends, as a mail client sends


def appeal_row(gw: Any, reg_no: str) -> Appeal:
    with gw.app.sessions() as s:
        return s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()


def test_staff_reply_reaches_citizen_and_closes_appeal(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    answer = "Бригаду направлено, дах відремонтують до п'ятниці."
    send(gw, staff_reply(fwd, answer), fwd["Reply-To"], "zhkg-staff@council.example")
    msgs = mail_for(capture_relay, "oksana@example.org", n=2)
    relayed = [m for m in msgs if "Відповідь" in m["Subject"]]
    assert len(relayed) == 1
    text = relayed[0].get_body().get_content()
    assert answer in text
    assert "> " not in text and "Протікає дах" not in text.split(answer)[1][:50]
    row = wait_for(lambda: appeal_row(gw, reg_no).state == "closed" and appeal_row(gw, reg_no))
    assert row.closed_at is not None


def test_interim_answer_keeps_the_appeal_open(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    send(
        gw,
        staff_reply(fwd, "#interim\nЗаявку прийнято, чекаємо на матеріали."),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    msgs = mail_for(capture_relay, "oksana@example.org", n=2)
    assert any("Проміжна" in m["Subject"] for m in msgs)
    wait_for(lambda: appeal_row(gw, reg_no).state == "answered")


def test_forged_token_is_held_and_nothing_reaches_the_citizen(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    token = fwd["Reply-To"]
    local, domain = token.split("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    send(gw, staff_reply(fwd, "Відмовити.", to=forged), forged, "zhkg-staff@council.example")
    wait_for(lambda: _held(gw, "bad-token"))
    time.sleep(0.5)
    assert len(mail_for(capture_relay, "oksana@example.org")) == 1  # only the acknowledgement
    assert appeal_row(gw, reg_no).state == "routed"


def test_reply_from_a_stranger_is_held(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    send(
        gw,
        staff_reply(fwd, "Я не з ради.", sender="stranger@evil.example"),
        fwd["Reply-To"],
        "stranger@evil.example",
    )
    wait_for(lambda: _held(gw, "unknown-sender"))
    assert len(mail_for(capture_relay, "oksana@example.org")) == 1
    assert appeal_row(gw, reg_no).state == "routed"


def test_redirect_command_reroutes_and_records_a_label(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    send(
        gw,
        staff_reply(fwd, "#redirect social\nЦе питання соціального захисту."),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    again = mail_for(capture_relay, "social-staff@council.example")[0]
    assert reg_no in again["Subject"]
    assert appeal_row(gw, reg_no).department.code == "social"
    with gw.app.sessions() as s:
        label = s.scalars(select(TrainingLabel)).one()
    assert (label.department_code, label.source) == ("social", "redirect")


def test_unknown_command_answers_staff_with_help(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    send(gw, staff_reply(fwd, "#escalate now"), fwd["Reply-To"], "zhkg-staff@council.example")
    help_msgs = mail_for(capture_relay, "zhkg-staff@council.example", n=2)
    assert any("#interim" in m.get_body().get_content() for m in help_msgs[1:])
    assert appeal_row(gw, reg_no).state == "routed"


def test_citizen_reply_is_a_followup_forwarded_to_the_department(
    gw: Any, capture_relay: Any
) -> None:
    _fwd, _reg_no = new_appeal(gw, capture_relay)
    ack = mail_for(capture_relay, "oksana@example.org")[0]
    r = EmailMessage()
    r["From"] = "oksana@example.org"
    r["To"] = ack["Reply-To"]
    r["Subject"] = "Re: " + ack["Subject"]
    r["In-Reply-To"] = ack["Message-ID"]
    r.set_content("Додаю: тече також у під'їзді.\n\n> старий текст")
    send(gw, r.as_bytes(policy=policy.SMTP), ack["Reply-To"], "oksana@example.org")
    msgs = mail_for(capture_relay, "zhkg-staff@council.example", n=2)
    assert "тече також у під'їзді" in msgs[1].get_body().get_content()
    with gw.app.sessions() as s:
        types = set(s.scalars(select(AppealEvent.type)))
    assert {"reply-matched", "followup"} <= types


def _held(gw: Any, reason: str) -> bool:
    with gw.app.sessions() as s:
        return (
            s.scalars(
                select(InboundMessage).where(
                    InboundMessage.state == "held", InboundMessage.reason == reason
                )
            ).first()
            is not None
        )


def test_holding_pen_assign_reruns_the_matching(gw: Any, capture_relay: Any) -> None:
    from gateway.commands import holding_pen as holdingpen

    _fwd, reg_no = new_appeal(gw, capture_relay)
    # A staff member writes a fresh mail to the reply domain without token or thread.
    m = EmailMessage()
    m["From"] = "zhkg-staff@council.example"
    m["To"] = "reply@reply.council.example"
    m["Subject"] = "Відповідь на скаргу про дах"
    m.set_content("Дах відремонтовано.")
    send(
        gw,
        m.as_bytes(policy=policy.SMTP),
        "reply@reply.council.example",
        "zhkg-staff@council.example",
    )
    wait_for(lambda: _held(gw, "unmatched-reply"))
    held = holdingpen.list_held(gw.app, "unmatched-reply")
    assert len(held) == 1
    assert holdingpen.assign(gw.app, held[0]["id"], "NO-SUCH") == "no appeal NO-SUCH"
    assert holdingpen.assign(gw.app, held[0]["id"], reg_no) is None
    msgs = mail_for(capture_relay, "oksana@example.org", n=2)
    assert "Дах відремонтовано." in msgs[1].get_body().get_content()
    wait_for(lambda: appeal_row(gw, reg_no).state == "closed")


def test_holding_pen_discard_needs_a_reason(gw: Any, capture_relay: Any) -> None:
    from gateway.commands import holding_pen as holdingpen

    fwd, _reg_no = new_appeal(gw, capture_relay)
    send(gw, staff_reply(fwd, "x", sender="stranger@evil.example"), fwd["Reply-To"])
    wait_for(lambda: _held(gw, "unknown-sender"))
    (row,) = holdingpen.list_held(gw.app, "unknown-sender")
    assert holdingpen.discard(gw.app, row["id"], "  ") == "a reason is required"
    assert holdingpen.discard(gw.app, row["id"], "not from the council") is None
    assert holdingpen.list_held(gw.app) == []


def test_review_mode_holds_answers_until_approved(
    make_app: Any, run_gateway: Any, capture_relay: Any
) -> None:
    from gateway.commands import holding_pen as holdingpen

    app = make_app(
        {"replies": {"relay": "review"}},
        transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False),
    )
    gw = run_gateway(app)
    fwd, _reg_no = new_appeal(gw, capture_relay)
    send(
        gw,
        staff_reply(fwd, "Відповідь після перевірки."),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    wait_for(lambda: _held(gw, "answer-review"))
    assert len(mail_for(capture_relay, "oksana@example.org")) == 1
    (row,) = holdingpen.list_held(app, "answer-review")
    assert holdingpen.approve(app, row["id"]) is None
    msgs = mail_for(capture_relay, "oksana@example.org", n=2)
    assert "Відповідь після перевірки." in msgs[1].get_body().get_content()


def test_extend_command_moves_the_due_date_and_tells_the_citizen(
    gw: Any, capture_relay: Any
) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    old_due = appeal_row(gw, reg_no).due_date
    send(
        gw,
        staff_reply(fwd, "#extend 10 потрібне обстеження даху"),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    msgs = mail_for(capture_relay, "oksana@example.org", n=2)
    assert "продовжено" in msgs[1]["Subject"]
    assert "потрібне обстеження даху" in msgs[1].get_body().get_content()
    row = wait_for(lambda: appeal_row(gw, reg_no).due_date != old_due and appeal_row(gw, reg_no))
    # Counted from receipt (30 + 10 days), the last day moved off a day off.
    expected = gw.app.calendar().on_or_after(row.receipt_date + timedelta(days=40))
    assert row.due_date == expected and row.state == "routed" and row.extended_days == 10
    with gw.app.sessions() as s:
        ev = s.scalars(select(AppealEvent).where(AppealEvent.type == "extended")).one()
    assert (
        ev.actor == "zhkg-staff@council.example" and ev.data["reason"] == "потрібне обстеження даху"
    )


def test_extension_past_45_days_is_refused_with_an_explanation(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    old_due = appeal_row(gw, reg_no).due_date
    send(
        gw,
        staff_reply(fwd, "#extend 20 складне питання"),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    msgs = mail_for(capture_relay, "zhkg-staff@council.example", n=2)
    assert "45" in msgs[1].get_body().get_content()
    assert appeal_row(gw, reg_no).due_date == old_due


def test_external_command_forwards_to_the_competent_body(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    send(
        gw,
        staff_reply(fwd, "#external oblenergo@example.com мережі обленерго"),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    (external,) = mail_for(capture_relay, "oblenergo@example.com")
    assert (
        "ст. 7" in external.get_body().get_content()
        and "Протікає дах" in external.get_body().get_content()
    )
    msgs = mail_for(capture_relay, "oksana@example.org", n=2)
    assert "oblenergo@example.com" in msgs[1].get_body().get_content()
    assert wait_for(lambda: appeal_row(gw, reg_no).state == "forwarded_external")


@pytest.mark.parametrize(
    ("reply", "state", "result", "source"),
    [
        ("Дах відремонтовано.", "closed", "explained", "default"),
        (
            "#result відмовлено\nУ ремонті відмовлено: будинок на балансі ОСББ.",
            "closed",
            "refused",
            "staff",
        ),
        ("#interim\n#result вирішено\nЗаявку прийнято.", "answered", None, None),
        (
            "#external oblenergo@example.com мережі обленерго",
            "forwarded_external",
            "forwarded",
            "rule",
        ),
    ],
)
def test_the_result_of_consideration_is_recorded(
    gw: Any, capture_relay: Any, reply: str, state: str, result: str | None, source: str | None
) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    send(gw, staff_reply(fwd, reply), fwd["Reply-To"], "zhkg-staff@council.example")
    row = wait_for(lambda: appeal_row(gw, reg_no).state == state and appeal_row(gw, reg_no))
    assert (row.result, (row.characteristic_sources or {}).get("result")) == (result, source)
    # Registration recorded the characteristics with their sources.
    assert row.appeal_type in ("application", "complaint", "proposal")
    assert (row.characteristic_sources or {})["type"] == "rule"


def test_an_unknown_result_word_answers_staff_with_help(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    send(
        gw,
        staff_reply(fwd, "#result добре\nЗроблено."),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    help_msgs = mail_for(capture_relay, "zhkg-staff@council.example", n=2)
    assert any("#result" in m.get_body().get_content() for m in help_msgs[1:])
    row = appeal_row(gw, reg_no)
    assert (row.state, row.result) == ("routed", None)


def _events(gw: Any, reg_no: str, type_: str) -> list[AppealEvent]:
    with gw.app.sessions() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()
        return list(
            s.scalars(
                select(AppealEvent).where(AppealEvent.appeal_id == a.id, AppealEvent.type == type_)
            )
        )


def test_a_correction_alone_changes_the_register_and_answers_nothing(
    gw: Any, capture_relay: Any
) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    send(
        gw,
        staff_reply(fwd, "#type скарга\n#category учасник бойових дій"),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    confirmed = mail_for(capture_relay, "zhkg-staff@council.example", n=2)[1]
    text = confirmed.get_body().get_content()
    assert "вид звернення: скарга" in text
    assert "категорія автора: учасник бойових дій" in text
    row = wait_for(
        lambda: appeal_row(gw, reg_no).appeal_type == "complaint" and appeal_row(gw, reg_no)
    )
    assert row.state == "routed"  # nothing was answered
    assert row.privileged_category == "combat_veteran" and row.priority == 1
    sources = row.characteristic_sources or {}
    assert (sources["type"], sources["privileged_category"]) == ("staff", "staff")
    events = _events(gw, reg_no, "characteristic-set")
    assert [(e.data["field"], e.data["to"], e.actor) for e in events] == [
        ("type", "complaint", "zhkg-staff@council.example"),
        ("category", "combat_veteran", "zhkg-staff@council.example"),
    ]
    # Only the acknowledgement reached the citizen.
    time.sleep(0.5)
    assert len(mail_for(capture_relay, "oksana@example.org")) == 1


def test_a_correction_beside_an_answer_and_after_the_close(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    send(
        gw,
        staff_reply(fwd, "#topic-code 010\nДах відремонтовано."),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    row = wait_for(lambda: appeal_row(gw, reg_no).state == "closed" and appeal_row(gw, reg_no))
    assert row.topic_code == "010" and (row.characteristic_sources or {})["topic_code"] == "staff"
    # Weeks later the office finds it was a repeated appeal: a correction alone is taken
    # although the appeal is closed (an answer would be held).
    send(
        gw,
        staff_reply(fwd, "#sign повторне"),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    row = wait_for(
        lambda: appeal_row(gw, reg_no).appeal_sign == "repeated" and appeal_row(gw, reg_no)
    )
    assert row.state == "closed"


def test_a_bad_correction_changes_nothing_and_gets_help(gw: Any, capture_relay: Any) -> None:
    fwd, reg_no = new_appeal(gw, capture_relay)
    before = appeal_row(gw, reg_no).appeal_type
    send(
        gw,
        staff_reply(fwd, "#subject колективне\n#type прохання"),
        fwd["Reply-To"],
        "zhkg-staff@council.example",
    )
    help_msg = mail_for(capture_relay, "zhkg-staff@council.example", n=2)[1]
    assert "після #type має бути: скарга, пропозиція, заява" in help_msg.get_body().get_content()
    row = appeal_row(gw, reg_no)
    assert (row.appeal_type, row.subject_kind) == (before, "individual")
    assert _events(gw, reg_no, "characteristic-set") == []
