"""Personal data past retention, and on a citizen's request: letters with files come in
over SMTP, a staff answer closes one appeal; after the retention periods `purge` erases
the closed appeal's personal fields, text, files, raw mail and letters, keeps the open
one's fields, and `appeals report quarterly` gives the same numbers before and after.
`erase --citizen` erases a person's finished appeals at once and records it without the
address."""

from __future__ import annotations

import argparse
import email
import smtplib
import time
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from gwtest import wait_for
from sqlalchemy import inspect, select, text

from gateway.clock import ManualClock
from gateway.commands import holding_pen, privacy
from gateway.commands.reports import build
from gateway.outbound.transport import SmtpTransport
from models import (
    Appeal,
    AppealEvent,
    Attachment,
    InboundMessage,
    OutboundMessage,
    StreetObservation,
)

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday, 10:00 in Kyiv
SCAN = b"%PDF-1.4\n" + bytes(range(256)) * 8
PROBLEMS = {
    1: "Протікає дах над квартирою 1 після кожного дощу.",
    2: "У під'їзді не працює освітлення вже третій тиждень, ввечері небезпечно.",
    3: "Біля школи №5 розбита дорога, діти ходять проїжджою частиною.",
}


@pytest.fixture
def gw(make_app: Any, run_gateway: Any, capture_relay: Any) -> Any:
    app = make_app(
        transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False),
        clock=ManualClock(START),
    )
    return run_gateway(app)


def letter(name: str, addr: str, subject: str, problem: str, with_file: bool) -> bytes:
    m = EmailMessage()
    m["From"] = f"{name} <{addr}>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<{time.monotonic_ns()}@mail.example>"
    m.set_content(
        f"{problem}\n\n{name}\nм. Луцьк, вул. Глушець, 3, кв. 9\nтел. 050 765 43 2{len(name)}\n"
    )
    if with_file:
        data = SCAN + subject.encode()  # each appeal its own file
        m.add_attachment(data, maintype="application", subtype="pdf", filename="akt-oglyadu.pdf")
    return m.as_bytes(policy=policy.SMTP)


def forwards(relay: Any, n: int) -> list[EmailMessage]:
    def found() -> list[EmailMessage]:
        out = [
            email.message_from_bytes(m.data, policy=policy.default)
            for m in relay.snapshot()
            if "zhkg-staff@council.example" in m.rcpt_tos
        ]
        return out if len(out) >= n else []

    return wait_for(found)  # type: ignore[no-any-return]


def appeal_in(gw: Any, relay: Any, name: str, addr: str, n: int, with_file: bool = True) -> str:
    raw = letter(name, addr, f"Звернення {n}", PROBLEMS[n], with_file)
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.sendmail(addr, ["zhkg@council.example"], raw)
    fwd = forwards(relay, n)[-1]
    return str(fwd["Subject"]).split("]")[0].lstrip("[")


def close_by_staff(gw: Any, relay: Any, n: int) -> None:
    fwd = forwards(relay, n)[n - 1]
    r = EmailMessage()
    r["From"] = "Іван Майстренко <zhkg-staff@council.example>"
    r["To"] = fwd["Reply-To"]
    r["Subject"] = "Re: " + fwd["Subject"]
    r["In-Reply-To"] = fwd["Message-ID"]
    r.set_content("Дах відремонтовано 20.11.2026.\n\nЗ повагою,\nІван Майстренко\n")
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.sendmail(
            "zhkg-staff@council.example", [fwd["Reply-To"]], r.as_bytes(policy=policy.SMTP)
        )


def all_sent(app: Any) -> bool:
    with app.sessions() as s:
        return all(o.state == "sent" for o in s.scalars(select(OutboundMessage)))


def appeal(app: Any, reg_no: str) -> Appeal:
    with app.sessions() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()
        s.expunge(a)
        return a


def quarterly(app: Any) -> list[Any]:
    args = argparse.Namespace(report_command="quarterly", year=2026, quarter=4)
    return [(t.title, t.rows) for t in build(app, args)]


def everything_stored(app: Any) -> str:
    """Every row of every table as text, for looking for a person's data."""
    out = []
    with app.engine.connect() as conn:
        for table in inspect(app.engine).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                out.append(
                    " ".join(
                        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                        for v in row
                    )
                )
    return "\n".join(out)


def test_t21_purge_erases_closed_appeals_past_retention_and_keeps_the_statistics(
    gw: Any, capture_relay: Any
) -> None:
    app = gw.app
    closed = appeal_in(gw, capture_relay, "Оксана Бондар", "oksana.bondar@example.org", 1)
    still_open = appeal_in(gw, capture_relay, "Петро Гнатюк", "petro.gnatiuk@example.org", 2)
    close_by_staff(gw, capture_relay, 1)
    wait_for(lambda: appeal(app, closed).state == "closed" and all_sent(app))
    with app.sessions() as s:
        shas = {a.appeal_id: a.sha256 for a in s.scalars(select(Attachment))}
    closed_id, open_id = appeal(app, closed).id, appeal(app, still_open).id
    assert app.rawstore.exists(shas[closed_id])

    app.clock.advance(days=30)  # within every period: nothing goes
    assert not privacy.purge(app)
    assert "oksana.bondar@example.org" in everything_stored(app)

    app.clock.advance(days=1830)  # past personal_fields_days (1825) after closing
    before = quarterly(app)
    done = privacy.purge(app)
    assert done.appeals == 1 and done.attachments == 1 and done.outbound >= 2
    assert quarterly(app) == before

    gone = appeal(app, closed)
    assert gone.erased_at is not None and gone.state == "closed" and gone.result
    assert (gone.citizen_name, gone.citizen_email, gone.citizen_address, gone.citizen_phone) == (
        None,
        None,
        None,
        None,
    )
    assert gone.text == "" and gone.subject == ""
    assert not app.rawstore.exists(shas[closed_id])
    dump = everything_stored(app)
    for trace in (
        "oksana.bondar",
        "Оксана",
        "Бондар",
        "Протікає дах над квартирою 1",
        "765 43 213",
    ):
        assert trace not in dump, trace
    with app.sessions() as s:
        assert all(r.erased_at is not None for r in s.scalars(select(InboundMessage)))
        letters = s.scalars(select(OutboundMessage).where(OutboundMessage.appeal_id == closed_id))
        assert all(o.raw == b"" and o.recipients == [] for o in letters)
        assert (
            s.scalars(select(AppealEvent.type).where(AppealEvent.appeal_id == closed_id)).all()[-1]
            == "personal-data-erased"
        )
    # The open appeal keeps what its consideration needs (its raw mail is past raw_mail_days).
    kept = appeal(app, still_open)
    assert kept.erased_at is None and kept.citizen_email == "petro.gnatiuk@example.org"
    assert kept.text.startswith(PROBLEMS[2])
    assert app.rawstore.exists(shas[open_id])
    assert not privacy.purge(app)  # nothing left to do


def test_t21_erase_on_a_citizens_request(gw: Any, capture_relay: Any) -> None:
    app = gw.app
    address = "oksana.bondar@example.org"
    first = appeal_in(gw, capture_relay, "Оксана Бондар", address, 1)
    second = appeal_in(gw, capture_relay, "Оксана Бондар", address, 2, with_file=False)
    other = appeal_in(gw, capture_relay, "Петро Гнатюк", "petro.gnatiuk@example.org", 3)
    close_by_staff(gw, capture_relay, 1)
    close_by_staff(gw, capture_relay, 3)
    wait_for(lambda: appeal(app, first).state == appeal(app, other).state == "closed")
    wait_for(lambda: all_sent(app))

    with app.sessions() as s, s.begin():
        # What the street register learned from her closed appeal (routing.street_learning).
        s.add(
            StreetObservation(
                appeal_id=appeal(app, first).id,
                street_key="шевченка",
                kind="вул.",
                street="Шевченка",
                house=12,
                district="Галицький",
                source="confirmed",
                observed_at=datetime.now(UTC),
            )
        )
    done = privacy.erase(app, "Oksana.Bondar@Example.org", "admin")
    assert done.appeals == 1 and done.kept_open == [second]
    assert appeal(app, first).citizen_email is None and appeal(app, first).text == ""
    assert appeal(app, second).citizen_email == address  # open: still being considered
    assert appeal(app, other).citizen_email == "petro.gnatiuk@example.org"
    with app.sessions() as s:
        events = s.scalars(
            select(AppealEvent).where(
                AppealEvent.type.in_(("citizen-erasure", "personal-data-erased"))
            )
        ).all()
    assert {e.type for e in events} == {"citizen-erasure", "personal-data-erased"}
    for e in events:
        assert "oksana" not in f"{e.actor} {e.data}".lower()
    assert "Протікає дах над квартирою 1" not in everything_stored(app)
    with app.sessions() as s:
        kept = s.scalars(select(StreetObservation)).one()
    assert kept.appeal_id is None and kept.district == "Галицький"  # kept, but unlinked


def mail_from_her(addr: str, subject: str, body: str, **headers: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"Оксана Бондар <{addr}>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<{time.monotonic_ns()}@mail.example>"
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m.as_bytes(policy=policy.SMTP)


def test_t21_erase_also_destroys_held_and_discarded_mail_that_became_no_appeal(
    gw: Any,
) -> None:
    """A held message waits for a person and a discarded one for its raw-mail term; neither
    became an appeal, and both hold the person's name, address and words. Her request
    erases them at once: the rows stay with their state and reason (the holding pen's and
    the statistics' history), the bytes and parsed details go, and an event says so."""
    app = gw.app
    address = "oksana.bondar@example.org"
    # Nothing to answer: no text, no file (held "empty").
    empty = mail_from_her(address, "Звернення", "\n")
    # Her out-of-office answer to no letter of ours (an auto-reply matching no appeal).
    away = mail_from_her(
        address,
        "Автовідповідь: я у відпустці",
        "Я у відпустці до 20.11. Оксана Бондар, тел. 050 765 43 21",
        Auto_Submitted="auto-replied",
    )
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.sendmail(address, ["zhkg@council.example"], empty)
        smtp.sendmail(address, ["zhkg@council.example"], away)

    def finished() -> list[tuple[int, str, str | None, str]]:
        with app.sessions() as s:
            rows = s.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
            out = [(r.id, r.state, r.reason, r.raw_sha256) for r in rows]
        return (
            out if len(out) == 2 and all(st in ("held", "discarded") for _, st, _, _ in out) else []
        )

    rows = wait_for(finished)
    assert {st for _, st, _, _ in rows} == {"held", "discarded"}
    assert all(app.rawstore.exists(sha) for *_, sha in rows)
    held_id = next(i for i, st, _, _ in rows if st == "held")

    done = privacy.erase(app, address.upper(), "admin")
    assert done.inbound == 2 and done.appeals == 0 and done.kept_open == []
    with app.sessions() as s:
        after = {r.id: r for r in s.scalars(select(InboundMessage))}
        for i, state, reason, sha in rows:
            r = after[i]
            assert (r.state, r.reason) == (state, reason)  # its history stays
            assert r.erased_at is not None
            assert (r.mail_from, r.message_id, r.detail, r.info) == (None, None, None, {})
            assert not app.rawstore.exists(sha)
        erased = s.scalars(
            select(AppealEvent.inbound_id).where(AppealEvent.type == "personal-data-erased")
        ).all()
        assert sorted(erased) == sorted(i for i, *_ in rows)
    dump = everything_stored(app)
    for trace in ("oksana.bondar", "Оксана", "Бондар", "у відпустці", "765 43 21"):
        assert trace not in dump, trace
    # The holding pen cannot hand the worker a message whose bytes are gone.
    assert holding_pen.release(app, held_id) is not None
    with app.sessions() as s:
        assert s.get(InboundMessage, held_id).state == "held"  # type: ignore[union-attr]
