"""Every message that does not reach a normal end reaches a person: the admin's digest of
held and failed mail (rate-limited, each item with the command to act on it), the letter
to a staff member whose answer was held (council domains only, rate-limited), and crash
logs with the whole traceback and no personal data. The real pipeline on SQLite with a
manual clock; letters are read back from the outbox, failed ones come from a real relay
that refuses the recipient."""

from __future__ import annotations

import email
import logging
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from gateway.alerts import KIND as DIGEST
from gateway.alerts import send_digest
from gateway.clock import ManualClock
from gateway.outbound.transport import SmtpTransport
from models import AppealEvent, InboundMessage, OutboundMessage
from routing.held_answers import KIND as HELD_NOTICE
from routing.lifecycle import requeue_inbound
from routing.mail import Envelope

CITIZEN = "oksana.bondar@example.org"
NAME = "Оксана Бондар"
PROBLEM = "Після кожного дощу протікає дах над квартирою 9, стеля вже чорна від цвілі."


class Env:
    def __init__(self, app: Any, clock: ManualClock) -> None:
        self.app, self.clock = app, clock
        self.n = 0

    def deliver(self, msg: EmailMessage, mail_from: str, rcpt: str, runs: int = 1) -> None:
        self.n += 1
        if "Message-ID" not in msg:
            msg["Message-ID"] = f"<alert-{self.n}@example.org>"
        self.app.ingest().accept(
            msg.as_bytes(policy=policy.SMTP), Envelope("smtp", mail_from, (rcpt,))
        )
        for _ in range(runs):
            self.app.worker().run_once(50)

    def outbox(self, kind: str | None = None) -> list[EmailMessage]:
        with self.app.sessions() as s:
            query = select(OutboundMessage).order_by(OutboundMessage.id)
            if kind:
                query = query.where(OutboundMessage.kind == kind)
            return [
                email.message_from_bytes(r.raw, policy=policy.default) for r in s.scalars(query)
            ]

    def held(self) -> list[InboundMessage]:
        with self.app.sessions() as s:
            q = select(InboundMessage).where(InboundMessage.state == "held")
            return list(s.scalars(q.order_by(InboundMessage.id)))

    def appeal_letter(self) -> tuple[EmailMessage, EmailMessage]:
        m = EmailMessage()
        m["From"] = f"{NAME} <{CITIZEN}>"
        m["To"] = "zhkg@council.example"
        m["Subject"] = "Протікає дах"
        m.set_content(f"{PROBLEM}\n\nЗ повагою,\n{NAME}\nм. Луцьк, вул. Глушець, 3, кв. 9\n")
        self.deliver(m, CITIZEN, "zhkg@council.example")
        return self.outbox("citizen/ack")[-1], self.outbox("department/assigned")[-1]

    def answer(self, to: EmailMessage, sender: str, text: str = "Дах відремонтовано.") -> None:
        r = EmailMessage()
        r["From"] = f"Іван Майстренко <{sender}>"
        r["To"] = to["Reply-To"]
        r["Subject"] = "RE: " + to["Subject"]
        r["In-Reply-To"] = to["Message-ID"]
        r.set_content(f"{text}\n\nЗ повагою,\nІван Майстренко\n")
        self.deliver(r, sender, to["Reply-To"])


def text_of(m: EmailMessage) -> str:
    body = m.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


@pytest.fixture
def env(make_app: Any) -> Env:
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    return Env(make_app(clock=clock), clock)


def spam(env: Env, n: int) -> None:
    m = EmailMessage()
    m["From"] = f"Петро Шахрай <promo{n}@spam.example>"
    m["To"] = "appeals@council.example"
    m["Subject"] = f"Вигідна пропозиція {n}"
    m["X-Spam-Flag"] = "YES"
    m.set_content("Купуйте дешево.")
    env.deliver(m, f"promo{n}@spam.example", "appeals@council.example")


def test_the_digest_lists_what_is_new_with_the_command_and_is_rate_limited(env: Env) -> None:
    assert send_digest(env.app).sent is False  # nothing held: nothing sent
    ack, fwd = env.appeal_letter()
    env.answer(fwd, "stranger@elsewhere.example")  # a reply from nobody we know: held
    spam(env, 1)
    first, second = env.held()
    assert (first.reason, second.reason) == ("unknown-sender", "spam")
    result = send_digest(env.app)
    assert (result.sent, result.held, result.failed) == (True, 2, 0)
    (digest,) = env.outbox(DIGEST)
    assert digest["To"] == "admin@council.example"
    assert "затримано 2" in digest["Subject"]
    body = text_of(digest)
    reg_no = ack["Subject"].split("]")[0].lstrip("[")
    # Sender, subject, reason and the exact command for each.
    assert "Іван Майстренко <stranger@elsewhere.example>" in body
    assert f"RE: {fwd['Subject']}" in body
    assert "unknown-sender" in body and reg_no in body
    assert f"appeals holding-pen assign {first.id} {reg_no}" in body
    assert "Петро Шахрай <promo1@spam.example>" in body and "Вигідна пропозиція 1" in body
    assert f'appeals holding-pen discard {second.id} "' in body

    # Within the hour: nothing more, even with something new.
    env.clock.advance(minutes=10)
    spam(env, 2)
    assert send_digest(env.app).sent is False
    env.clock.advance(minutes=51)
    result = send_digest(env.app)
    assert (result.sent, result.held) == (True, 1)
    later = text_of(env.outbox(DIGEST)[-1])
    assert "Вигідна пропозиція 2" in later
    assert "Вигідна пропозиція 1" not in later and "stranger@" not in later  # listed before
    # An hour later with nothing new: no digest.
    env.clock.advance(minutes=61)
    assert send_digest(env.app).sent is False
    assert len(env.outbox(DIGEST)) == 2

    # A message requeued and held again is news again.
    with env.app.sessions.begin() as s:
        row = s.get(InboundMessage, second.id)
        assert row is not None
        requeue_inbound(row)
    env.app.worker().run_once(50)
    assert send_digest(env.app).held == 1
    assert "Вигідна пропозиція 1" in text_of(env.outbox(DIGEST)[-1])


def test_a_letter_that_failed_for_good_is_in_the_digest(make_app: Any, capture_relay: Any) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    capture_relay.refuse[CITIZEN] = "550 5.1.1 <oksana.bondar@example.org>: no such user"
    app = make_app(
        clock=clock,
        transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False),
    )
    env = Env(app, clock)
    ack, _ = env.appeal_letter()
    app.sender().run_once(50)
    result = send_digest(app)
    assert (result.sent, result.failed) == (True, 1)
    body = text_of(env.outbox(DIGEST)[-1])
    reg_no = ack["Subject"].split("]")[0].lstrip("[")
    assert "citizen/ack" in body and CITIZEN in body and "550" in body
    assert f"appeals appeal show {reg_no}" in body
    # The immediate alert about the dead address is itself no item (admin audience).
    assert "admin/citizen_undeliverable" not in body


class CrashingModel:
    """A topic model that fails the way a bug would, quoting the letter in its message.
    It reads context facts, so the pipeline asks it inside the message's transaction,
    deep in the stack (a text-only model is asked by the worker first: the test below)."""

    context_fields = ("district",)

    def predict(self, texts: list[str], **_: Any) -> Any:
        raise ValueError(f"cannot classify {texts[0]!r}")


class CrashingTextModel(CrashingModel):
    context_fields = ()


class CrashingLoader:
    def __init__(self, model: type[CrashingModel] = CrashingModel) -> None:
        self.model = model

    def current(self) -> CrashingModel:
        return self.model()


def _crash_three_times(
    make_app: Any, caplog: pytest.LogCaptureFixture, model: type[CrashingModel]
) -> tuple[Env, Any, list[str]]:
    """An appeal delivered to a gateway whose model crashes: the held row and the three
    failures logged (one per attempt)."""
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    env = Env(make_app(clock=clock, classifier=CrashingLoader(model)), clock)
    m = EmailMessage()
    m["From"] = f"{NAME} <{CITIZEN}>"
    m["To"] = "appeals@council.example"
    m["Subject"] = "Протікає дах над квартирою"
    m.set_content(f"{PROBLEM}\n\nЗ повагою,\n{NAME}\nтел. 050 123 45 67\n")
    with caplog.at_level(logging.INFO):
        env.deliver(m, CITIZEN, "appeals@council.example", runs=4)
    (row,) = env.held()
    failures = [r.getMessage() for r in caplog.records if "failed: ValueError" in r.getMessage()]
    assert len(failures) == 3  # one per attempt
    return env, row, failures


def test_a_text_only_model_that_crashes_before_the_transaction_is_a_crash_too(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, row, failures = _crash_three_times(make_app, caplog, CrashingTextModel)
    assert row.reason == "crash"
    assert "gateway/worker.py" in failures[-1] and "test_alerts.py" in failures[-1]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert CITIZEN not in logged and "Протікає" not in logged


def test_a_crash_is_held_logged_whole_without_personal_data_and_in_the_digest(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    env, row, failures = _crash_three_times(make_app, caplog, CrashingModel)
    assert row.reason == "crash" and row.processed_at is not None
    tb = failures[-1]
    frames = tb.count('  File "')
    assert frames >= 5, tb  # worker -> pipeline -> registration -> ... -> the model
    assert "routing/pipeline.py" in tb and "routing/registration.py" in tb
    assert "builtins.ValueError" in tb
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for personal in (CITIZEN, "Бондар", "протікає", "Протікає", "050 123 45 67", "квартир"):
        assert personal not in logged
    assert send_digest(env.app).held == 1
    body = text_of(env.outbox(DIGEST)[-1])
    assert f"appeals requeue {row.id}" in body and "crash" in body
    assert "ValueError at" in body  # the row's detail: class and innermost frame


def test_a_staff_member_is_told_why_their_answer_was_held(env: Env) -> None:
    ack, fwd = env.appeal_letter()
    reg_no = ack["Subject"].split("]")[0].lstrip("[")
    # From a personal address in the council's domain: held, and told.
    env.answer(fwd, "ivan.maistrenko@council.example")
    (told,) = env.outbox(HELD_NOTICE)
    assert told["To"] == "ivan.maistrenko@council.example"
    assert reg_no in told["Subject"]
    body = text_of(told)
    assert "zhkg-staff@council.example" in body and "staff_addresses" in body
    held = env.held()[-1]
    assert held.reason == "unknown-sender" and f"№ {held.id}" in body
    assert PROBLEM not in body  # the appeal's text is not repeated to an unknown writer
    # Again within the hour: held, not told twice.
    env.answer(fwd, "ivan.maistrenko@council.example", "Ще раз: дах відремонтовано.")
    assert len(env.outbox(HELD_NOTICE)) == 1
    with env.app.sessions() as s:
        assert s.scalars(
            select(AppealEvent).where(AppealEvent.type == "staff-alert-suppressed")
        ).all()
    env.clock.advance(minutes=61)
    env.answer(fwd, "ivan.maistrenko@council.example", "Утретє.")
    assert len(env.outbox(HELD_NOTICE)) == 2

    # An outside address: held, and nothing goes back to it (no backscatter).
    before = len(env.outbox())
    env.answer(fwd, "ivan.maistrenko@gmail.com")
    assert env.held()[-1].reason == "unknown-sender"
    assert len(env.outbox()) == before

    # The department's own mailbox, answering the citizen's acknowledgement instead of the
    # forward: held, and told to answer the forward.
    env.answer(ack, "zhkg-staff@council.example")
    assert env.held()[-1].reason == "department-via-citizen-token"
    last = env.outbox(HELD_NOTICE)[-1]
    assert last["To"] == "zhkg-staff@council.example"
    assert "адресу з листа заявника" in text_of(last)


def test_staff_of_another_department_are_told_how_to_take_it_over(env: Env) -> None:
    _, fwd = env.appeal_letter()
    env.answer(fwd, "transport-staff@council.example")
    body = text_of(env.outbox(HELD_NOTICE)[-1])
    assert "#redirect transport" in body
    assert "Департамент житлово-комунального господарства" in body


def test_own_domains_from_the_settings_replace_the_derived_ones(make_app: Any) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    env = Env(make_app({"alerts": {"own_domains": ["lutskrada.gov.ua"]}}, clock=clock), clock)
    _, fwd = env.appeal_letter()
    env.answer(fwd, "ivan.maistrenko@council.example")  # no longer one of ours
    assert env.outbox(HELD_NOTICE) == []
    env.answer(fwd, "ivan.maistrenko@osvita.lutskrada.gov.ua")  # a subdomain of ours
    assert [m["To"] for m in env.outbox(HELD_NOTICE)] == ["ivan.maistrenko@osvita.lutskrada.gov.ua"]
