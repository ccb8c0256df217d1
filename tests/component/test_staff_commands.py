"""Staff commands and public-information requests through the real pipeline on SQLite with
a manual clock; mail is read back from the outbox: every command confirmed, refusals in
Ukrainian, requests routed to the public-information office with their own letters and
commands."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from gateway.clock import ManualClock
from models import Appeal, AppealEvent, OutboundMessage
from routing.mail import Envelope

ADDRESS = "Адреса: м. Луцьк, вул. Кравчука, 14, кв. 8"
REQUEST = (
    "Відповідно до Закону України «Про доступ до публічної інформації» прошу надати копію "
    "договору на вивезення побутових відходів, укладеного міською радою у 2026 році."
)


class Env:
    def __init__(self, app: Any, clock: ManualClock) -> None:
        self.app, self.clock = app, clock
        self.n = 0  # each letter its own Message-ID: the same one twice is one message

    def deliver(self, data: bytes, sender: str, rcpt: str) -> None:
        self.app.ingest().accept(data, Envelope("smtp", sender, (rcpt,)))
        self.app.worker().run_once(50)

    def citizen(self, body: str, to: str = "appeals@council.example", subject: str = "") -> Appeal:
        m = EmailMessage()
        m["From"] = "Марія Коваль <maria.koval@example.org>"
        m["To"] = to
        m["Subject"] = subject or "Лист до міської ради"
        self.n += 1
        m["Message-ID"] = f"<citizen-{self.n}@example.org>"
        m.set_content(f"{body}\n\nМарія Коваль\n{ADDRESS}\n")
        self.deliver(m.as_bytes(), "maria.koval@example.org", to)
        return self.appeals()[-1]

    def staff(self, appeal: Appeal, body: str, sender: str) -> None:
        (fwd,) = [m for kind, m in self.outbox_of(appeal) if kind.startswith("department/")][-1:]
        r = EmailMessage()
        r["From"] = f"Іван Майстренко <{sender}>"
        r["To"] = fwd["Reply-To"]
        r["Subject"] = "Re: " + fwd["Subject"]
        r["In-Reply-To"] = fwd["Message-ID"]
        self.n += 1
        r["Message-ID"] = f"<staff-{self.n}@council.example>"
        quoted = "\n".join("> " + ln for ln in fwd.get_body().get_content().splitlines())
        r.set_content(f"{body}\n\nЗ повагою,\nІван Майстренко\n\n{quoted}\n")
        self.deliver(r.as_bytes(policy=policy.SMTP), sender, fwd["Reply-To"])

    def appeals(self) -> list[Appeal]:
        with self.app.sessions() as s:
            return list(s.scalars(select(Appeal).order_by(Appeal.id)))

    def row(self, appeal: Appeal) -> Appeal:
        with self.app.sessions() as s:
            got = s.get(Appeal, appeal.id)
            assert got is not None
            return got

    def outbox_of(self, appeal: Appeal) -> list[tuple[str, EmailMessage]]:
        with self.app.sessions() as s:
            rows = s.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.appeal_id == appeal.id)
                .order_by(OutboundMessage.id)
            )
            return [(r.kind, email.message_from_bytes(r.raw, policy=policy.default)) for r in rows]

    def sent(self, appeal: Appeal, kind: str) -> list[EmailMessage]:
        return [m for k, m in self.outbox_of(appeal) if k == kind]

    def events(self, appeal: Appeal, type_: str) -> list[AppealEvent]:
        with self.app.sessions() as s:
            return list(
                s.scalars(
                    select(AppealEvent).where(
                        AppealEvent.appeal_id == appeal.id, AppealEvent.type == type_
                    )
                )
            )


def text(m: EmailMessage) -> str:
    return m.get_body().get_content()  # type: ignore[union-attr]


@pytest.fixture
def env(make_app: Any) -> Env:
    # Friday 6 November 2026, 10:00 in Kyiv: day 30 is a Sunday, so the due date of an
    # appeal is Monday 7 December.
    clock = ManualClock(datetime(2026, 11, 6, 8, 0, tzinfo=UTC))
    return Env(make_app(clock=clock), clock)


def test_extend_15_reaches_45_days_from_receipt_and_is_confirmed(env: Env) -> None:
    a = env.citizen("Після дощу протікає дах над квартирою 8.", to="zhkg@council.example")
    assert (a.receipt_date, a.due_date) == (date(2026, 11, 6), date(2026, 12, 7))
    env.staff(a, "#extend 15 потрібне обстеження покрівлі", "zhkg-staff@council.example")
    row = env.row(a)
    assert row.due_date == date(2026, 12, 21) and row.extended_days == 15
    (told,) = env.sent(a, "citizen/extended")
    assert "продовжено до 21.12.2026" in text(told)
    (confirmed,) = env.sent(a, "department/confirmed")
    assert "Команду #extend виконано" in confirmed["Subject"]
    assert "Загальний строк: 45 днів від дня надходження (06.11.2026)" in text(confirmed)
    assert confirmed["To"] == "zhkg-staff@council.example"
    # Nothing is left: one more day is refused, in Ukrainian.
    env.staff(a, "#extend 1 ще трохи", "zhkg-staff@council.example")
    (refused,) = env.sent(a, "department/command_help")
    assert "строк уже продовжено до граничного" in text(refused)
    assert env.row(a).due_date == date(2026, 12, 21)


def test_extend_13_never_ends_on_a_day_off(env: Env) -> None:
    a = env.citizen("Прошу відремонтувати під'їзд.", to="zhkg@council.example")
    env.staff(a, "#extend 13 обстеження", "zhkg-staff@council.example")
    # Day 43 is Saturday 19 December: the term ends on Monday 21 December.
    assert env.row(a).due_date == date(2026, 12, 21)


def test_extend_16_refused_with_the_reason_in_ukrainian(env: Env) -> None:
    a = env.citizen("Прошу відремонтувати ліфт.", to="zhkg@council.example")
    env.staff(a, "#extend 16 складне питання", "zhkg-staff@council.example")
    (refused,) = env.sent(a, "department/command_help")
    first = text(refused).splitlines()[0]
    assert "становив би 46 днів" in first and "не більше 45 днів" in first
    assert "days" not in first and "law" not in first
    assert env.row(a).due_date == date(2026, 12, 7)
    assert env.sent(a, "department/confirmed") == []


def test_interim_redirect_and_external_are_confirmed(env: Env) -> None:
    a = env.citizen("Прошу відремонтувати дах.", to="zhkg@council.example")
    env.staff(a, "#interim\nЗаявку прийнято, чекаємо на підрядника.", "zhkg-staff@council.example")
    (c1,) = env.sent(a, "department/confirmed")
    assert "Проміжну відповідь" in text(c1)
    env.staff(a, "#redirect social", "zhkg-staff@council.example")
    confirmations = env.sent(a, "department/confirmed")
    assert len(confirmations) == 2
    # The department that gave the command is told where the appeal went.
    assert confirmations[1]["To"] == "zhkg-staff@council.example"
    assert "Департамент соціального захисту населення (social)" in text(confirmations[1])
    env.staff(a, "#external oblenergo@example.com мережі обленерго", "social-staff@council.example")
    confirmations = env.sent(a, "department/confirmed")
    assert len(confirmations) == 3 and confirmations[2]["To"] == "social-staff@council.example"
    assert "переслано за належністю: oblenergo@example.com" in text(confirmations[2])
    assert env.row(a).state == "forwarded_external"


def test_a_staff_address_gets_the_confirmation_and_so_does_the_mailbox(env: Env) -> None:
    a = env.citizen("Прошу відремонтувати сходи.", to="zhkg@council.example")
    env.staff(a, "#extend 5 потрібен кошторис", "petrenko@zhkg.council.example")
    (confirmed,) = env.sent(a, "department/confirmed")
    assert confirmed["To"] == "petrenko@zhkg.council.example, zhkg-staff@council.example"


def test_triage_forward_says_it_is_triage_and_lists_the_codes(env: Env) -> None:
    # No model in this app: an appeal to the general address goes to triage.
    a = env.citizen("Щось незрозуміле з моїм питанням, прошу розібратися.")
    (fwd,) = env.sent(a, "department/assigned")
    assert fwd["To"] == "zvernennia-staff@council.example"
    body = text(fwd)
    assert "визначте відповідальний підрозділ: #redirect <код>" in body
    assert "  public-info    Відділ доступу до публічної інформації" in body
    assert "  landscaping    Управління благоустрою" in body


def test_request_by_wording_goes_to_the_public_information_office(env: Env) -> None:
    a = env.citizen(REQUEST, subject="Запит")
    assert a.kind == "info_request" and a.reg_no.startswith("I-")
    assert a.department is not None and a.department.code == "public-info"
    (routed,) = env.events(a, "routed")
    assert routed.data["rule"] == "info-request"
    (ack,) = env.sent(a, "citizen/info_ack")
    assert "Ваш запит на інформацію зареєстровано" in ack["Subject"]
    assert "Щоб доповнити запит" in text(ack) and "звернення" not in text(ack)
    assert ack["Auto-Submitted"] == "auto-replied"
    (fwd,) = env.sent(a, "department/info_assigned")
    assert fwd["To"] == "publicinfo@council.example"
    assert "#holder" in text(fwd) and "45" not in text(fwd)
    assert env.sent(a, "citizen/ack") == [] and env.sent(a, "department/assigned") == []


def test_request_to_a_departments_address_still_goes_to_the_office(env: Env) -> None:
    a = env.citizen(REQUEST, to="zhkg@council.example")
    assert a.kind == "info_request" and a.department.code == "public-info"  # type: ignore[union-attr]


def test_request_extend_to_20_working_days_and_answer_wording(env: Env) -> None:
    a = env.citizen(REQUEST)
    assert a.due_date == date(2026, 11, 13)  # 5 working days from Friday 6 November
    env.clock.advance(days=3)  # Monday 9 November: within the first 5 working days
    env.staff(a, "#extend 15 великий обсяг документів", "publicinfo@council.example")
    row = env.row(a)
    assert row.due_date == date(2026, 12, 4) and row.extended_days == 15  # 20 working days
    (told,) = env.sent(a, "citizen/info_extended")
    assert "продовжено до 04.12.2026" in text(told) and "20 робочих днів" in text(told)
    (confirmed,) = env.sent(a, "department/confirmed")
    assert "20 робочих днів від дня надходження" in text(confirmed)
    env.staff(a, "#extend 1 ще", "publicinfo@council.example")
    (refused,) = env.sent(a, "department/command_help")
    assert "становив би 21 робочий день" in text(refused)
    env.staff(a, "Надсилаємо копію договору.", "publicinfo@council.example")
    (answer,) = env.sent(a, "citizen/info_answer")
    assert "Відповідь на Ваш запит на інформацію" in answer["Subject"]
    assert env.row(a).state == "closed"


def test_holder_passes_the_request_and_tells_the_requester(env: Env) -> None:
    a = env.citizen(REQUEST)
    env.clock.advance(days=3)
    env.staff(
        a, "#holder info@oblenergo.example.com договір укладало КП", "publicinfo@council.example"
    )
    (passed,) = env.sent(a, "external/info_holder")
    assert passed["To"] == "info@oblenergo.example.com"
    assert "ч. 3 ст. 22" in text(passed) and "договору на вивезення" in text(passed)
    (told,) = env.sent(a, "citizen/info_passed")
    assert "info@oblenergo.example.com" in text(told)
    (confirmed,) = env.sent(a, "department/confirmed")
    assert "до 13.11.2026" in text(confirmed) and "минув" not in text(confirmed)
    assert env.row(a).state == "forwarded_external"
    (ev,) = env.events(a, "passed-to-holder")
    assert (ev.data["deadline"], ev.data["late"]) == ("2026-11-13", False)


def test_each_kind_keeps_its_own_way_out(env: Env) -> None:
    request = env.citizen(REQUEST)
    env.staff(request, "#external obl@example.com не наше", "publicinfo@council.example")
    (help_request,) = env.sent(request, "department/command_help")
    assert "#holder <адреса> <причина>" in text(help_request).splitlines()[0]
    assert env.row(request).state == "routed"
    appeal = env.citizen("Прошу відремонтувати дах.", to="zhkg@council.example")
    env.staff(appeal, "#holder obl@example.com не наше", "zhkg-staff@council.example")
    (help_appeal,) = env.sent(appeal, "department/command_help")
    assert "#external <адреса> <причина>" in text(help_appeal).splitlines()[0]
    assert env.row(appeal).state == "routed"


def test_request_extension_on_the_fifth_working_day_is_in_time(env: Env) -> None:
    a = env.citizen(REQUEST)
    env.clock.set(datetime(2026, 11, 13, 8, 0, tzinfo=UTC))
    env.staff(a, "#extend 3 обсяг", "publicinfo@council.example")
    # The due date itself (the fifth working day) is still in time.
    assert env.row(a).due_date == date(2026, 11, 18)


def test_redirected_request_reaches_the_new_department_as_a_request(env: Env) -> None:
    a = env.citizen(REQUEST)
    env.staff(a, "#redirect cnap", "publicinfo@council.example")
    (fwd,) = env.sent(a, "department/reassigned")
    assert fwd["To"] == "cnap@council.example"
    assert "Запит на інформацію передано вам" in text(fwd)
    assert "----- Текст запиту -----" in text(fwd) and "#holder" in text(fwd)
    (confirmed,) = env.sent(a, "department/confirmed")
    assert confirmed["To"] == "publicinfo@council.example"
    assert env.sent(a, "department/reassigned_away") == []  # the confirmation says it
    (told,) = env.sent(a, "citizen/redirected")
    assert "Ваш запит на інформацію" in text(told)


def test_extend_moves_the_next_reminder_time_and_the_final_answer_clears_it(env: Env) -> None:
    from gateway.scheduler import tick

    a = env.citizen("Після дощу протікає дах над квартирою 8.", to="zhkg@council.example")
    assert env.row(a).next_reminder_at == env.clock.now()  # the next tick plans it
    tick(env.app)
    # Due Monday 7 December: `before-5` on Wednesday 2 December, 09:00 in Kyiv (UTC+2).
    assert env.row(a).next_reminder_at == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    env.staff(a, "#extend 15 потрібне обстеження покрівлі", "zhkg-staff@council.example")
    assert env.row(a).due_date == date(2026, 12, 21)
    assert env.row(a).next_reminder_at == env.clock.now()
    tick(env.app)
    # Due Monday 21 December: `before-5` on Wednesday 16 December.
    assert env.row(a).next_reminder_at == datetime(2026, 12, 16, 7, 0, tzinfo=UTC)
    env.staff(a, "Дах над квартирою 8 відремонтовано 20.11.2026.", "zhkg-staff@council.example")
    row = env.row(a)
    assert row.state == "closed" and row.next_reminder_at is None
