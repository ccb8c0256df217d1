"""Reply matching as a table: token, thread, subject, bad token, unmatched; and who may
answer. Against a real (SQLite) database with one appeal and one forward we sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gateway.intake.parsing import parse
from models import Appeal, Base, Department, OutboundMessage
from models.db import make_engine, make_session_factory
from routing.numbering import RegistrationConfig, reg_number_pattern
from routing.replies import match_reply, sender_role
from routing.tokens import ReplyAddressCodec

CODEC = ReplyAddressCodec(b"unit-key", "reply", "+", "reply.council.example")
PATTERN = reg_number_pattern(RegistrationConfig("{series}-{year}-{seq:06d}", "A", "I", frozenset()))
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
FORWARD_ID = "<fwd-1@council.example>"


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as s:
        dept = Department(
            code="housing",
            name="ЖКГ",
            email="zhkg-staff@council.example",
            staff_addresses=["koval@council.example"],
            staff_domains=["zhkg.council.example"],
        )
        s.add(dept)
        s.flush()
        appeal = Appeal(
            reg_no="A-2026-000042",
            reg_year=2026,
            reg_seq=42,
            kind="appeal",
            received_at=NOW,
            receipt_date=date(2026, 12, 3),
            due_date=date(2027, 1, 2),
            department_id=dept.id,
            citizen_email="halyna@example.org",
        )
        s.add(appeal)
        s.flush()
        s.add(
            OutboundMessage(
                kind="department/assigned",
                appeal_id=appeal.id,
                message_id=FORWARD_ID,
                envelope_from="bounces+x@reply.council.example",
                recipients=["zhkg-staff@council.example"],
                first_recipient="zhkg-staff@council.example",
                audience="department",
                subject="[A-2026-000042] Вода",
                raw=b"",
                created_at=NOW,
                next_attempt_at=NOW,
            )
        )
        s.commit()
        yield s
    engine.dispose()


def reply(subject: str, *, in_reply_to: str = "") -> bytes:
    head = f"From: someone@example.net\nTo: x@example.net\nSubject: {subject}\n"
    if in_reply_to:
        head += f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n"
    return (head + "Content-Type: text/plain; charset=utf-8\n\nВідповідь.\n").encode()


def good_token(session: Session) -> str:
    return CODEC.address_for(session.query(Appeal).one().id)


CASES = [
    # (name, recipients, subject, in_reply_to, sender) -> (method, reason, matched)
    ("token", "TOKEN", "Re: вода", "", "koval@council.example", ("token", True)),
    ("token wins over a wrong thread", "TOKEN", "Re: x", "<other@x>", None, ("token", True)),
    ("thread", "", "Re: вода", FORWARD_ID, None, ("thread", True)),
    ("thread among several references", "", "Re:", f"<a@b> {FORWARD_ID}", None, ("thread", True)),
    (
        "subject from the department",
        "",
        "Re: [A-2026-000042] Вода",
        "",
        "zhkg-staff@council.example",
        ("subject", True),
    ),
    (
        "subject from the citizen",
        "",
        "Re: A-2026-000042",
        "",
        "halyna@example.org",
        ("subject", True),
    ),
    (
        "subject from a stranger is a guess only",
        "",
        "Re: A-2026-000042",
        "",
        "x@evil.example",
        ("none", False),
    ),
    ("bad token", "FORGED", "Re: вода", FORWARD_ID, None, ("none", False)),
    ("unmatched", "", "Питання", "<unknown@x>", None, ("none", False)),
]


@pytest.mark.parametrize(
    ("rcpt", "subject", "irt", "sender", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_matching(
    session: Session,
    rcpt: str,
    subject: str,
    irt: str,
    sender: str | None,
    expected: tuple[str, bool],
) -> None:
    token = good_token(session)
    forged = token.replace(token.split("-")[-1].split("@")[0], "aaaaaaaa")
    recipients = {"TOKEN": [token], "FORGED": [forged], "": ["zhkg@council.example"]}[rcpt]
    m = match_reply(
        session, parse(reply(subject, in_reply_to=irt)), recipients, CODEC, PATTERN, sender
    )
    method, matched = expected
    assert m.method == method
    assert (m.appeal_id is not None) is matched
    assert m.bad_token is (rcpt == "FORGED")
    if rcpt == "" and not matched and "A-2026-000042" in subject:
        assert m.guesses == ("A-2026-000042",)  # the admin sees the guess


@pytest.mark.parametrize(
    ("sender", "role"),
    [
        ("zhkg-staff@council.example", "department"),
        ("ZHKG-STAFF@council.example", "department"),
        ("koval@council.example", "department"),  # a listed staff address
        ("petrenko@zhkg.council.example", "department"),  # the department's domain
        ("halyna@example.org", "citizen"),
        ("someone@council.example", "other"),  # the council, but not this department
        ("zhkg-staff@council.example.evil.example", "other"),
    ],
)
def test_who_may_answer(session: Session, sender: str, role: str) -> None:
    assert sender_role(session.query(Appeal).one(), sender) == role
