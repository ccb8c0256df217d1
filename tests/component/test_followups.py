"""A citizen's reply to a finished appeal: after the final answer a new, linked appeal
(repeated, or a complaint when it disagrees), a "thank you" only recorded; after a returned
or not-considered letter the missing data re-opens the appeal with a new term. Runs the
real pipeline on SQLite with a manual clock; mail is read back from the outbox."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from gateway.clock import ManualClock
from models import Appeal, AppealEvent, InboundMessage, OutboundMessage
from routing.mail import Envelope

CITIZEN = "oksana.bondar@example.org"
NAME = "Оксана Бондар"
ADDRESS = "м. Луцьк, вул. Глушець, 3, кв. 9"
PROBLEM = "Після кожного дощу протікає дах над квартирою 9, стеля вже чорна від цвілі."


class Env:
    def __init__(self, app: Any, clock: ManualClock) -> None:
        self.app, self.clock = app, clock
        self.n = 0

    def deliver(self, msg: EmailMessage, mail_from: str, rcpt: str) -> None:
        self.n += 1
        if "Message-ID" not in msg:
            msg["Message-ID"] = f"<m{self.n}@example.org>"
        self.app.ingest().accept(
            msg.as_bytes(policy=policy.SMTP), Envelope("smtp", mail_from, (rcpt,))
        )
        self.app.worker().run_once(50)

    def appeals(self) -> list[Appeal]:
        with self.app.sessions() as s:
            return list(s.scalars(select(Appeal).order_by(Appeal.id)))

    def appeal(self, reg_no: str) -> Appeal:
        with self.app.sessions() as s:
            return s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()

    def outbox(self, kind: str | None = None) -> list[EmailMessage]:
        with self.app.sessions() as s:
            query = select(OutboundMessage).order_by(OutboundMessage.id)
            if kind:
                query = query.where(OutboundMessage.kind == kind)
            return [
                email.message_from_bytes(r.raw, policy=policy.default) for r in s.scalars(query)
            ]

    def events(self, type_: str) -> list[AppealEvent]:
        with self.app.sessions() as s:
            return list(s.scalars(select(AppealEvent).where(AppealEvent.type == type_)))

    def last_inbound(self) -> InboundMessage:
        with self.app.sessions() as s:
            return s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()

    # --- the steps of a conversation ----------------------------------------------------

    def appeal_letter(self, body: str, name: str = NAME) -> EmailMessage:
        m = EmailMessage()
        m["From"] = f"{name} <{CITIZEN}>" if name else CITIZEN
        m["To"] = "zhkg@council.example"
        m["Subject"] = "Протікає дах"
        m.set_content(body)
        self.deliver(m, CITIZEN, "zhkg@council.example")
        return m

    def staff_answer(self, text: str) -> EmailMessage:
        fwd = self.outbox("department/assigned")[-1]
        r = EmailMessage()
        r["From"] = "Іван Майстренко <zhkg-staff@council.example>"
        r["To"] = fwd["Reply-To"]
        r["Subject"] = "RE: " + fwd["Subject"]
        r["In-Reply-To"] = fwd["Message-ID"]
        quoted = "\n".join("> " + ln for ln in fwd.get_body().get_content().splitlines())
        r.set_content(f"{text}\n\nЗ повагою,\nІван Майстренко\n\n{quoted}\n")
        self.deliver(r, "zhkg-staff@council.example", fwd["Reply-To"])
        return self.outbox()[-1]  # what went to the citizen

    def citizen_reply(self, to: EmailMessage, text: str) -> None:
        """A Gmail-style reply: the new text on top, attribution line, the letter quoted."""
        r = EmailMessage()
        r["From"] = f"{NAME} <{CITIZEN}>"
        r["To"] = to["Reply-To"]
        r["Subject"] = "Re: " + to["Subject"]
        r["In-Reply-To"] = to["Message-ID"]
        r["References"] = to["Message-ID"]
        quoted = "\n".join("> " + ln for ln in to.get_body().get_content().splitlines())
        r.set_content(
            f"{text}\n\nпн, 30 лист. 2026 р. о 10:00 Звернення громадян <appeals@council.example>"
            f" пише:\n\n{quoted}\n"
        )
        self.deliver(r, CITIZEN, to["Reply-To"])


@pytest.fixture
def env(make_app: Any) -> Env:
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # Monday 10:00 in Kyiv
    return Env(make_app(clock=clock), clock)


@pytest.fixture
def answered(env: Env) -> tuple[Env, Appeal, EmailMessage]:
    env.appeal_letter(f"{PROBLEM}\n\nЗ повагою,\n{NAME}\n{ADDRESS}\n")
    env.clock.advance(days=3)
    answer = env.staff_answer("Дах оглянуто, ремонт заплановано на весну 2027 року.")
    (first,) = env.appeals()
    assert first.state == "closed"
    env.clock.advance(days=7)  # Thursday 3.12.2026, 10:00 in Kyiv
    return env, first, answer


def test_disagreement_with_the_answer_is_a_linked_complaint(answered: Any) -> None:
    env, first, answer = answered
    before = len(env.outbox())
    env.citizen_reply(
        answer,
        "Я не згодна з відповіддю: до весни стеля просто обвалиться. Прошу відремонтувати дах "
        "цього року.",
    )
    first_now, second = env.appeals()
    assert first_now.state == "closed"
    assert (second.repeat_status, second.related_appeal_id) == ("repeated", first.id)
    assert second.flags["followup_of"] == first.reg_no
    # The Classifier's characteristics: a repeated appeal of the type complaint.
    assert (second.appeal_sign, second.appeal_type) == ("repeated", "complaint")
    assert second.reg_no != first.reg_no and second.state == "routed"
    assert second.department.code == first.department.code == "housing"
    assert second.topic == first.topic
    assert second.citizen_address == first.citizen_address  # not repeated in the reply
    # Its own term: 30 days from the day the reply arrived (Art. 20).
    assert second.receipt_date == date(2026, 12, 3) and second.due_date == date(2027, 1, 4)
    assert "обвалиться" in second.text and "ремонт заплановано" not in second.text
    new = env.outbox()[before:]
    assert [m["To"] for m in new] == [CITIZEN, "zhkg-staff@council.example"]
    ack, fwd = new
    assert second.reg_no in ack["Subject"]
    ack_text = ack.get_body().get_content()
    assert first.reg_no in ack_text and "скарга" in ack_text and "04.01.2027" in ack_text
    assert first.reg_no in fwd["Subject"] and second.reg_no in fwd["Subject"]
    fwd_text = fwd.get_body().get_content()
    assert first.reg_no in fwd_text and "обвалиться" in fwd_text
    assert ADDRESS in fwd_text
    assert env.last_inbound().reason == "followup-registered"
    (ev,) = env.events("followup-registered")
    assert ev.data["first_reg_no"] == first.reg_no and ev.data["complaint"] is True


def test_a_further_question_after_the_answer_is_a_repeated_appeal(answered: Any) -> None:
    env, first, answer = answered
    env.citizen_reply(answer, "А в якому саме місяці весни будуть ремонтувати? Треба знати.")
    _, second = env.appeals()
    assert (second.repeat_status, second.related_appeal_id) == ("repeated", first.id)
    assert second.appeal_type != "complaint" and second.state == "routed"
    ack = env.outbox("citizen/ack")[-1].get_body().get_content()
    assert "повторне звернення" in ack and first.reg_no in ack


@pytest.mark.parametrize(
    "text",
    [
        "Дякую!",
        "Щиро дякую за відповідь.\n\nОксана Бондар",
        "Дякую, все зрозуміло.\n\nНадіслано з iPhone",
        "Thank you very much!\n\nSent from my iPhone",
    ],
)
def test_thanks_after_the_answer_is_recorded_and_nothing_is_registered(
    answered: Any, text: str
) -> None:
    env, first, answer = answered
    before = len(env.outbox())
    env.citizen_reply(answer, text)
    assert len(env.appeals()) == 1
    assert len(env.outbox()) == before
    (ev,) = env.events("citizen-thanks")
    assert ev.appeal_id == first.id
    assert env.last_inbound().reason == "followup-thanks"


def test_second_reply_while_the_complaint_is_open_adds_to_it(answered: Any) -> None:
    env, _first, answer = answered
    env.citizen_reply(answer, "Не погоджуюся з відповіддю, дах тече вже зараз, а не навесні.")
    env.clock.advance(hours=2)
    env.citizen_reply(answer, "Забула додати: вода тече також по стіні в під'їзді.")
    _first, second = env.appeals()  # no third appeal
    fwd = env.outbox("department/followup")[-1]
    assert second.reg_no in fwd["Subject"]
    assert "по стіні в під'їзді" in fwd.get_body().get_content()


def test_complaint_is_considered_although_repeats_are_not(make_app: Any) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    env = Env(make_app({"screening": {"repeated_policy": "not_considered"}}, clock=clock), clock)
    env.appeal_letter(f"{PROBLEM}\n\nЗ повагою,\n{NAME}\n{ADDRESS}\n")
    answer = env.staff_answer("Ремонт заплановано на весну.")
    env.citizen_reply(answer, "Я не згодна з відповіддю, прошу переглянути рішення.")
    env.citizen_reply(answer, "Коли саме навесні приїде бригада? Дайте точну дату.")
    _first, complaint = env.appeals()
    # The second reply joined the open complaint instead of being a third appeal.
    assert complaint.state == "routed" and complaint.appeal_type == "complaint"
    assert len(env.appeals()) == 2


def test_plain_repeat_follows_the_repeated_policy(make_app: Any) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    env = Env(make_app({"screening": {"repeated_policy": "not_considered"}}, clock=clock), clock)
    env.appeal_letter(f"{PROBLEM}\n\nЗ повагою,\n{NAME}\n{ADDRESS}\n")
    answer = env.staff_answer("Ремонт заплановано на весну.")
    env.citizen_reply(answer, "Коли саме навесні приїде бригада? Дайте точну дату.")
    _first, repeated = env.appeals()
    assert (repeated.repeat_status, repeated.state) == ("repeated", "not_considered")


def test_address_sent_in_reply_to_the_returned_letter_reopens_the_appeal(env: Env) -> None:
    env.appeal_letter(f"{PROBLEM}\n\nЗ повагою,\n{NAME}\n")
    (a,) = env.appeals()
    assert a.state == "returned" and a.flags["missing"] == ["address"]
    returned = env.outbox("citizen/returned")[0]
    assert "дайте відповідь на цей лист" in returned.get_body().get_content()
    env.clock.advance(days=5)  # Saturday 28.11.2026: received on Monday 30.11 in law
    before = len(env.outbox())
    env.citizen_reply(returned, f"Моя адреса: {ADDRESS}\n\nЗ повагою,\n{NAME}")
    (a,) = env.appeals()
    assert a.state == "routed" and a.closed_at is None
    assert a.citizen_address == ADDRESS and "missing" not in a.flags
    assert a.receipt_date == date(2026, 11, 30) and a.due_date == date(2026, 12, 30)
    assert a.flags["reopened"] == {"from": "returned", "on": "2026-11-30"}
    assert a.result is None  # "returned" was the result; now it is still to come
    new = env.outbox()[before:]
    assert [m["To"] for m in new] == [CITIZEN, "zhkg-staff@council.example"]
    ack, fwd = new
    ack_text = ack.get_body().get_content()
    assert a.reg_no in ack["Subject"] and "30.12.2026" in ack_text
    assert "прийнято до розгляду" in ack_text
    fwd_text = fwd.get_body().get_content()
    assert ADDRESS in fwd_text and "протікає дах" in fwd_text and "ст. 5" in fwd_text
    (ev,) = env.events("reopened")
    assert ev.data["from_state"] == "returned" and ev.data["supplied"] == ["address"]
    assert env.last_inbound().reason == "followup-reopened"


def test_reply_still_without_the_address_gets_the_returned_letter_again(env: Env) -> None:
    env.appeal_letter(f"{PROBLEM}\n\nЗ повагою,\n{NAME}\n")
    returned = env.outbox("citizen/returned")[0]
    env.citizen_reply(returned, "Я живу в цьому будинку вже двадцять років, дах не ремонтували.")
    (a,) = env.appeals()
    assert a.state == "returned"
    again = env.outbox("citizen/returned")
    assert len(again) == 2
    text = again[1].get_body().get_content()
    assert "Дякуємо за доповнення" in text and "місце проживання (адресу)" in text
    assert env.outbox("department/assigned") == []
    assert env.last_inbound().reason == "followup-still-incomplete"
    # The next reply, with the address, completes it.
    env.citizen_reply(again[1], f"Адреса: {ADDRESS}")
    (a,) = env.appeals()
    assert a.state == "routed"
    assert "двадцять років" in a.text  # both additions reach the department


def test_anonymous_appeal_completed_by_name_and_address_is_considered(env: Env) -> None:
    env.appeal_letter("У парку біля озера вночі постійно гучна музика і бійки, наведіть лад.", "")
    (a,) = env.appeals()
    assert a.state == "not_considered" and a.anonymous
    letter = env.outbox("citizen/not_considered")[0]
    env.clock.advance(days=1)
    env.citizen_reply(letter, f"Перепрошую, не підписалася.\n\n{NAME}\n{ADDRESS}")
    (a,) = env.appeals()
    assert a.state == "routed" and not a.anonymous and a.subject_kind == "individual"
    assert (a.citizen_name, a.citizen_address) == (NAME, ADDRESS)
    assert a.flags["reopened"]["from"] == "not_considered"
    assert a.receipt_date == date(2026, 11, 24)
    fwd = env.outbox("department/assigned")[-1].get_body().get_content()
    assert "анонімне" in fwd and ADDRESS in fwd


def test_reply_to_a_duplicate_goes_to_the_first_appeal(env: Env) -> None:
    body = f"{PROBLEM}\n\nЗ повагою,\n{NAME}\n{ADDRESS}\n"
    env.appeal_letter(body)
    env.clock.advance(hours=1)
    env.appeal_letter(body)
    first, dup = env.appeals()
    assert dup.state == "duplicate"
    letter = env.outbox("citizen/duplicate")[0]
    env.citizen_reply(letter, "Додаю: тепер тече і на кухні.")
    fwd = env.outbox("department/followup")[-1]
    assert first.reg_no in fwd["Subject"] and "на кухні" in fwd.get_body().get_content()


def test_reply_after_forwarding_to_another_body_is_held_for_a_person(env: Env) -> None:
    env.appeal_letter(f"{PROBLEM}\n\nЗ повагою,\n{NAME}\n{ADDRESS}\n")
    env.staff_answer("#external oblenergo@example.ua Електромережі будинку не наші.")
    (a,) = env.appeals()
    assert a.state == "forwarded_external"
    before = len(env.outbox())
    forwarded = env.outbox("citizen/forwarded")[0]
    env.citizen_reply(forwarded, "А хто тоді відповідатиме за дах?")
    assert len(env.appeals()) == 1 and len(env.outbox()) == before
    row = env.last_inbound()
    assert (row.state, row.reason, row.appeal_id) == ("held", "followup-needs-person", a.id)


def test_reply_to_the_acknowledgement_of_an_open_appeal_still_reaches_the_department(
    env: Env,
) -> None:
    env.appeal_letter(f"{PROBLEM}\n\nЗ повагою,\n{NAME}\n{ADDRESS}\n")
    env.citizen_reply(env.outbox("citizen/ack")[0], "Я не згодна чекати, тече вже й на кухні.")
    (a,) = env.appeals()  # open: a follow-up, not a complaint or a new appeal
    assert a.state == "routed"
    fwd = env.outbox("department/followup")[-1]
    assert a.reg_no in fwd["Subject"] and "на кухні" in fwd.get_body().get_content()
    assert env.last_inbound().reason == "followup"


def test_reply_matched_only_by_the_number_in_its_subject_is_held_for_a_person(
    answered: Any,
) -> None:
    from gateway.commands import holding_pen

    env, first, answer = answered
    # Written by hand to the intake address, or an answering machine's "Re:": no Reply-To
    # token, no In-Reply-To, only the number in the subject.
    m = EmailMessage()
    m["From"] = f"{NAME} <{CITIZEN}>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = "Re: " + answer["Subject"]
    m.set_content("Я не згодна з відповіддю, прошу відремонтувати дах цього року.")
    before = len(env.outbox())
    env.deliver(m, CITIZEN, "zhkg@council.example")
    row = env.last_inbound()
    assert (row.state, row.reason, row.appeal_id) == ("held", "followup-unthreaded", first.id)
    assert len(env.appeals()) == 1 and len(env.outbox()) == before
    # An admin looks at it and assigns it to the appeal: now it is registered.
    assert holding_pen.assign(env.app, row.id, first.reg_no) is None
    env.app.worker().run_once(50)
    _, second = env.appeals()
    assert second.flags["followup_of"] == first.reg_no
    assert set(second.flags) == {"followup_of", "contacts"}
    # The reply did not repeat the address: it comes from the first appeal, and says so.
    assert second.flags["contacts"]["address"]["how"] == "first-appeal"
    assert second.appeal_type == "complaint"
    assert len(env.outbox()) == before + 2  # acknowledgement and forward


def test_follow_up_appeals_per_citizen_and_day_are_capped(answered: Any) -> None:
    from routing.followups import MAX_FOLLOWUP_APPEALS_PER_DAY

    env, _first, answer = answered
    # A quick department and a citizen (or a machine) who contests every answer at once.
    for i in range(MAX_FOLLOWUP_APPEALS_PER_DAY):
        env.citizen_reply(answer, f"Я не згодна з відповіддю номер {i}, прошу переглянути.")
        assert len(env.appeals()) == i + 2
        answer = env.staff_answer(f"Відповідь {i}: рішення залишається в силі.")
    env.citizen_reply(answer, "Я знову не згодна з відповіддю, прошу переглянути.")
    assert len(env.appeals()) == MAX_FOLLOWUP_APPEALS_PER_DAY + 1
    assert env.last_inbound().reason == "followup-loop-guard"
    env.clock.advance(days=1, hours=1)  # the next day a new complaint is registered again
    env.citizen_reply(answer, "Я знову не згодна з відповіддю, прошу переглянути ще раз.")
    assert len(env.appeals()) == MAX_FOLLOWUP_APPEALS_PER_DAY + 2
