"""docs/security.md, rule by rule, through the real pipeline: an app on SQLite serving SMTP
on a free port, a capturing relay as its smarthost. Each test writes the way a hostile
citizen (or a careless mail system) would, and checks where the message ends, what the
event log says, and that nothing reached the citizen or an outside address."""

from __future__ import annotations

import email
import smtplib
import time
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from gwtest import wait_for
from sqlalchemy import select

from gateway.outbound.transport import SmtpTransport
from models import Appeal, AppealEvent, InboundMessage
from routing.tokens import ReplyAddressCodec

CITIZEN = "oksana.bondar@ukr.net"
STAFF = "zhkg-staff@council.example"
EVIL = "someone@evil.example"


@pytest.fixture
def start(make_app: Any, run_gateway: Any, capture_relay: Any) -> Any:
    def go(patch: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Any:
        transport = SmtpTransport(capture_relay.host, capture_relay.port, starttls=False)
        return run_gateway(make_app(patch, env, transport=transport))

    return go


def submit(gw: Any, raw: bytes, rcpt: str, mail_from: str) -> None:
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.sendmail(mail_from, [rcpt], raw)


def letters_to(relay: Any, rcpt: str) -> list[EmailMessage]:
    return [
        email.message_from_bytes(m.data, policy=policy.default)  # type: ignore[misc]
        for m in relay.snapshot()
        if rcpt in m.rcpt_tos
    ]


STREETS = iter(["Кравчука, 11", "Соборності, 4", "Рівненська, 90", "Винниченка, 27"] * 50)


def registered(gw: Any, relay: Any) -> tuple[EmailMessage, EmailMessage, str]:
    """A citizen's appeal to the housing department: (acknowledgement, forward, number).
    Each about another house: the same text twice would be one appeal (a duplicate)."""
    sent, acks = len(letters_to(relay, STAFF)), len(letters_to(relay, CITIZEN))
    m = EmailMessage()
    m["From"] = f"Оксана Бондар <{CITIZEN}>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = "Немає опалення"
    m["Message-ID"] = f"<{time.monotonic_ns()}@ukr.net>"
    m.set_content(f"У будинку на вул. {next(STREETS)} третій день немає опалення. Оксана Бондар")
    submit(gw, m.as_bytes(policy=policy.SMTP), "zhkg@council.example", CITIZEN)
    fwd = wait_for(lambda: letters_to(relay, STAFF)[sent:] and letters_to(relay, STAFF)[-1])
    ack = wait_for(lambda: letters_to(relay, CITIZEN)[acks:] and letters_to(relay, CITIZEN)[-1])
    return ack, fwd, fwd["Subject"].split("]")[0].lstrip("[")


def answer(
    to: str,
    body: str,
    *,
    from_: str = STAFF,
    refs: str = "",
    subject: str = "Re: звернення",
    headers: dict[str, str] | None = None,
) -> bytes:
    """A staff answer as Thunderbird writes it (answer on top, quote below)."""
    r = EmailMessage()
    for name, value in (headers or {}).items():
        r[name] = value
    r["From"] = f"Іван Майстренко <{from_}>"
    r["To"] = to
    r["Subject"] = subject
    if refs:
        r["In-Reply-To"] = refs
        r["References"] = refs
    r["Message-ID"] = f"<{time.monotonic_ns()}@council.example>"
    r.set_content(f"{body}\n\nЗ повагою,\nІван Майстренко\n\n> Немає опалення\n")
    return r.as_bytes(policy=policy.SMTP)


def held(gw: Any, reason: str) -> InboundMessage | None:
    with gw.app.sessions() as s:
        return s.scalars(
            select(InboundMessage).where(
                InboundMessage.state == "held", InboundMessage.reason == reason
            )
        ).first()


def appeal_of(gw: Any, reg_no: str) -> Appeal:
    with gw.app.sessions() as s:
        return s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()


def events(gw: Any, appeal_id: int) -> list[AppealEvent]:
    with gw.app.sessions() as s:
        return list(s.scalars(select(AppealEvent).where(AppealEvent.appeal_id == appeal_id)))


def nothing_went_out(relay: Any, reg_no: str, citizen_letters: int = 1) -> None:
    time.sleep(0.5)  # the sender runs every few tenths of a second: give it the chance
    assert len(letters_to(relay, CITIZEN)) == citizen_letters, "something reached the citizen"
    assert not letters_to(relay, EVIL), "something reached an outside address"


def test_t1_reply_to_naming_the_department_grants_nothing(start: Any, capture_relay: Any) -> None:
    gw = start()
    ack, _, reg_no = registered(gw, capture_relay)
    raw = answer(
        ack["Reply-To"],
        f"#external {EVIL} не наша справа",
        from_=CITIZEN,
        headers={"Reply-To": STAFF},
    )
    submit(gw, raw, ack["Reply-To"], CITIZEN)
    wait_for(lambda: len(letters_to(capture_relay, STAFF)) >= 2)  # passed on as a follow-up
    assert appeal_of(gw, reg_no).state == "routed"
    nothing_went_out(capture_relay, reg_no)


def test_t2_t8_envelope_mismatch_is_held_and_the_department_told(
    start: Any, capture_relay: Any
) -> None:
    gw = start()
    _, fwd, reg_no = registered(gw, capture_relay)
    # The department's own token (say it leaked), From forged, written in Gmail: the
    # envelope is the writer's.
    raw = answer(fwd["Reply-To"], f"#external {EVIL} передаємо", refs=fwd["Message-ID"])
    submit(gw, raw, fwd["Reply-To"], "mallory@gmail.com")
    row = wait_for(lambda: held(gw, "unverified-sender:envelope-mismatch"))
    assert row.appeal_id == appeal_of(gw, reg_no).id
    told = wait_for(
        lambda: [m for m in letters_to(capture_relay, STAFF) if "затримано" in m["Subject"]]
    )
    assert reg_no in told[0]["Subject"]
    assert not letters_to(capture_relay, "mallory@gmail.com"), "the sender is never told"
    assert appeal_of(gw, reg_no).state == "routed"
    nothing_went_out(capture_relay, reg_no)


def test_t4_untrusted_authres_is_ignored_and_t6_require_verified_holds(
    start: Any, capture_relay: Any
) -> None:
    gw = start(
        {
            "trust": {
                "department_mail": "require-verified",
                "trusted_authserv_ids": ["mx.council.example"],
            }
        }
    )
    _, fwd, reg_no = registered(gw, capture_relay)
    forged = (
        "evil.example; dkim=pass header.d=council.example; dmarc=pass header.from=council.example"
    )
    raw = answer(
        fwd["Reply-To"],
        "Питання вирішено.",
        refs=fwd["Message-ID"],
        headers={"Authentication-Results": forged},
    )
    submit(gw, raw, fwd["Reply-To"], STAFF)
    row = wait_for(lambda: held(gw, "unverified-sender:unauthenticated"))
    with gw.app.sessions() as s:
        ev = s.scalars(
            select(AppealEvent).where(
                AppealEvent.inbound_id == row.id, AppealEvent.type == "reply-held"
            )
        ).one()
    assert ev.data["ignored_authres"] == ["evil.example"]
    nothing_went_out(capture_relay, reg_no)


def test_t5_dmarc_failure_in_trusted_authres_is_held(start: Any, capture_relay: Any) -> None:
    gw = start({"trust": {"trusted_authserv_ids": ["mx.council.example"]}})
    _, fwd, reg_no = registered(gw, capture_relay)
    ar = "mx.council.example; spf=none smtp.mailfrom=council.example; dmarc=fail (p=none) header.from=council.example"
    raw = answer(
        fwd["Reply-To"],
        "Питання вирішено.",
        refs=fwd["Message-ID"],
        headers={"Authentication-Results": ar},
    )
    submit(gw, raw, fwd["Reply-To"], STAFF)  # the envelope agrees: DMARC still wins
    wait_for(lambda: held(gw, "unverified-sender:dmarc-fail"))
    assert appeal_of(gw, reg_no).state == "routed"
    nothing_went_out(capture_relay, reg_no)


def test_t7_department_from_threaded_under_the_citizens_letter_is_held(
    start: Any, capture_relay: Any
) -> None:
    gw = start()
    ack, _, reg_no = registered(gw, capture_relay)
    # Sent to a general address, threaded under the acknowledgement the citizen holds.
    raw = answer("appeals@council.example", "Питання вирішено.", refs=ack["Message-ID"])
    submit(gw, raw, "appeals@council.example", STAFF)
    wait_for(lambda: held(gw, "department-via-citizen-token"))
    nothing_went_out(capture_relay, reg_no)


def test_t7_a_number_in_the_subject_is_no_authority(start: Any, capture_relay: Any) -> None:
    gw = start()
    _, _, reg_no = registered(gw, capture_relay)
    raw = answer("appeals@council.example", "Питання вирішено.", subject=f"Щодо {reg_no}")
    submit(gw, raw, "appeals@council.example", STAFF)
    wait_for(lambda: held(gw, "department-without-token"))
    assert appeal_of(gw, reg_no).state == "routed"
    nothing_went_out(capture_relay, reg_no)


def test_t9_events_on_department_authority_name_the_actor_and_evidence(
    start: Any, capture_relay: Any
) -> None:
    gw = start()
    _, fwd, reg_no = registered(gw, capture_relay)
    raw = answer(fwd["Reply-To"], "#extend 10 потрібне обстеження", refs=fwd["Message-ID"])
    submit(gw, raw, fwd["Reply-To"], STAFF)
    appeal_id = appeal_of(gw, reg_no).id
    ext = wait_for(lambda: [e for e in events(gw, appeal_id) if e.type == "extended"])
    assert ext[0].actor == STAFF
    assert ext[0].data["evidence"] == ["envelope:council.example"]
    matched = [e for e in events(gw, appeal_id) if e.type == "reply-matched"][-1]
    assert matched.data["verified"] is True and matched.data["role"] == "department"


def test_t10_a_closed_appeals_token_and_another_appeals_subject_act_on_nothing(
    start: Any, capture_relay: Any
) -> None:
    gw = start()
    _, fwd1, reg1 = registered(gw, capture_relay)
    _, _, reg2 = registered(gw, capture_relay)
    submit(
        gw,
        answer(fwd1["Reply-To"], "Опалення відновлено.", refs=fwd1["Message-ID"]),
        fwd1["Reply-To"],
        STAFF,
    )
    wait_for(lambda: appeal_of(gw, reg1).state == "closed")
    # Replayed: the first appeal's token again, now naming the second appeal.
    again = answer(fwd1["Reply-To"], "#result rejected", subject=f"Re: [{reg2}] Немає опалення")
    submit(gw, again, fwd1["Reply-To"], STAFF)
    wait_for(lambda: held(gw, "appeal-closed"))
    assert appeal_of(gw, reg2).state == "routed"


def test_t10_tampered_and_expired_tokens_are_held_a_token_within_grace_acts(
    start: Any, capture_relay: Any
) -> None:
    future = datetime.now(UTC) + timedelta(days=5)
    past = datetime.now(UTC) - timedelta(days=1)
    gw = start(
        {
            "trust": {
                "previous_token_keys": [
                    {"secret_env": "KEY_SEPTEMBER", "expires": future},
                    {"secret_env": "KEY_JUNE", "expires": past},
                ]
            }
        },
        env={"KEY_SEPTEMBER": "september-key", "KEY_JUNE": "june-key"},
    )
    _, _, reg1 = registered(gw, capture_relay)
    _, _, reg2 = registered(gw, capture_relay)
    _, fwd3, reg3 = registered(gw, capture_relay)
    codec = gw.app.codec

    def old(key: str, reg_no: str) -> str:
        return ReplyAddressCodec(
            key.encode(), codec.local, codec.delimiter, codec.domain
        ).address_for(appeal_of(gw, reg_no).id, "department")

    expired = old("june-key", reg2)
    submit(gw, answer(expired, "Опалення відновлено."), expired, STAFF)
    wait_for(lambda: held(gw, "expired-token"))
    local, domain = fwd3["Reply-To"].split("@")
    tampered = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    submit(gw, answer(tampered, "Опалення відновлено."), tampered, STAFF)
    wait_for(lambda: held(gw, "bad-token"))
    grace = old("september-key", reg1)
    submit(gw, answer(grace, "Опалення відновлено."), grace, STAFF)
    wait_for(lambda: appeal_of(gw, reg1).state == "closed")
    assert appeal_of(gw, reg2).state == "routed" and appeal_of(gw, reg3).state == "routed"


def test_t13_a_citizen_cannot_use_a_department_command_with_their_own_token(
    start: Any, capture_relay: Any
) -> None:
    gw = start()
    ack, _, reg_no = registered(gw, capture_relay)
    raw = answer(
        ack["Reply-To"],
        f"#external {EVIL} інший орган\n#result satisfied",
        from_=CITIZEN,
        refs=ack["Message-ID"],
    )
    submit(gw, raw, ack["Reply-To"], CITIZEN)
    wait_for(lambda: len(letters_to(capture_relay, STAFF)) >= 2)  # a follow-up, nothing more
    row = appeal_of(gw, reg_no)
    assert row.state == "routed" and row.result is None
    assert not [e for e in events(gw, row.id) if e.type in ("forwarded-external", "closed")]
    nothing_went_out(capture_relay, reg_no)


def test_t11_new_mail_in_a_departments_name_is_never_registered(
    start: Any, capture_relay: Any
) -> None:
    gw = start()
    # An out-of-office at the department that answers with fresh messages, over and over.
    for n in range(3):
        m = EmailMessage()
        m["From"] = f"Відділ ЖКГ <{STAFF}>"
        m["To"] = "appeals@council.example"
        m["Subject"] = "Мене немає в офісі"
        m["Message-ID"] = f"<ooo-{n}-{time.monotonic_ns()}@council.example>"
        m.set_content("Я у відпустці до понеділка.")
        submit(gw, m.as_bytes(policy=policy.SMTP), "appeals@council.example", STAFF)

    def three_held() -> bool:
        with gw.app.sessions() as s:
            rows = s.scalars(
                select(InboundMessage).where(InboundMessage.reason == "from-department")
            )
            return len(list(rows)) == 3

    wait_for(three_held)
    with gw.app.sessions() as s:
        assert s.scalars(select(Appeal)).first() is None
    time.sleep(0.5)
    assert not capture_relay.snapshot(), "nothing is sent: no acknowledgement, no loop"


def test_t11_an_answering_machine_writing_fresh_mail_is_stopped_before_the_daily_cap(
    start: Any, capture_relay: Any
) -> None:
    gw = start({"trust": {"max_new_appeals_per_hour": 3}})
    robot = "auto.vidpovid@meta.ua"
    for n in range(5):  # fresh mail each time: no In-Reply-To, no number, no auto headers
        m = EmailMessage()
        m["From"] = f"Петро Кравець <{robot}>"
        m["To"] = "appeals@council.example"
        m["Subject"] = f"Лист {n}"
        m["Message-ID"] = f"<robot-{n}-{time.monotonic_ns()}@meta.ua>"
        m.set_content(f"Ваш лист отримано, відповім пізніше ({n}). Петро Кравець, вул. Шопена, 3")
        submit(gw, m.as_bytes(policy=policy.SMTP), "appeals@council.example", robot)

    def settled() -> list[InboundMessage] | None:
        with gw.app.sessions() as s:
            rows = list(s.scalars(select(InboundMessage)))
        return (
            rows
            if len(rows) == 5 and all(r.state in ("processed", "held", "discarded") for r in rows)
            else None
        )

    rows = wait_for(settled)
    assert sorted(r.reason or "" for r in rows if r.state == "held") == ["sender-burst"] * 2, [
        (r.state, r.reason) for r in rows
    ]
    time.sleep(0.5)
    assert len(letters_to(capture_relay, robot)) == 3  # 3 acknowledgements, far below the cap


def test_t9_a_redirect_on_department_authority_records_the_evidence(
    start: Any, capture_relay: Any
) -> None:
    gw = start()
    _, fwd, reg_no = registered(gw, capture_relay)
    raw = answer(fwd["Reply-To"], "#redirect transport не наше питання", refs=fwd["Message-ID"])
    submit(gw, raw, fwd["Reply-To"], STAFF)
    appeal_id = appeal_of(gw, reg_no).id
    moved = wait_for(lambda: [e for e in events(gw, appeal_id) if e.type == "redirected"])
    assert moved[0].actor == STAFF
    assert moved[0].data["evidence"] == ["envelope:council.example"]


def test_t8_an_admin_who_assigns_a_held_answer_vouches_for_it(
    start: Any, capture_relay: Any
) -> None:
    from gateway.commands.holding_pen import assign

    gw = start()
    _, fwd, reg_no = registered(gw, capture_relay)
    # A member of staff answering from home through another provider: held, not lost.
    raw = answer(fwd["Reply-To"], "Опалення відновлено.", refs=fwd["Message-ID"])
    submit(gw, raw, fwd["Reply-To"], "ivan.maistrenko@i.ua")
    row = wait_for(lambda: held(gw, "unverified-sender:envelope-mismatch"))
    assert assign(gw.app, row.id, reg_no, actor="admin-olha") is None
    wait_for(lambda: appeal_of(gw, reg_no).state == "closed")
    received = [e for e in events(gw, appeal_of(gw, reg_no).id) if e.type == "answer-received"]
    assert received[0].data["evidence"] == ["admin-assigned:admin-olha"]
    wait_for(lambda: len(letters_to(capture_relay, CITIZEN)) == 2)  # ack, then the answer
