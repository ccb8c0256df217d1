"""The status page behind the signed link: the acknowledgement of a form submission
carries it when [reception] public_url is set (and not otherwise); it shows the state,
the department, the due date and the letters, and after the department answers by
e-mail the answer; no personal data on it, and nothing without a valid link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from receptiontest import fields, submit
from sqlalchemy import select
from starlette.testclient import TestClient

from gateway.app import App
from gateway.clock import ManualClock
from gateway.web.console import build
from models import Appeal, OutboundMessage
from routing import reception
from routing.mail import Envelope

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
PUBLIC = "https://council.example/"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def client_for(app: App) -> TestClient:
    return TestClient(build(app), base_url="http://127.0.0.1")


def letters(app: App, audience: str) -> list[EmailMessage]:
    with app.sessions() as s:
        rows = s.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.audience == audience)
            .order_by(OutboundMessage.id)
        ).all()
        return [message_from_bytes(r.raw, policy=policy.default) for r in rows]  # type: ignore[misc]


def body(m: EmailMessage) -> str:
    part = m.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def test_the_acknowledgement_links_the_status_page(make_app: Any, clock: ManualClock) -> None:
    app: App = make_app({"reception": {"public_url": PUBLIC}}, clock=clock)
    client = client_for(app)
    sent = submit(client, clock)
    assert sent.status_code == 303
    app.worker().run_once()
    with app.sessions() as s:
        appeal = s.scalars(select(Appeal)).one()
    ack = letters(app, "citizen")[0]
    text = body(ack)
    found = re.search(r"https://council\.example/status/(\S+)", text)
    assert found, text
    assert found.group(1) == reception.status_token(app.codec.key, appeal.id)
    page = client.get(f"/status/{found.group(1)}")
    assert page.status_code == 200
    html = page.text
    assert appeal.reg_no in html
    assert "зареєстровано" in html or "на розгляді" in html
    assert appeal.due_date.strftime("%d.%m.%Y") in html
    assert "підтвердження реєстрації" in html
    assert page.headers["referrer-policy"] == "no-referrer"
    # Nothing personal: not the name, the address, the e-mail, the phone or the text.
    for value in fields().values():
        if len(value) > 4:
            assert value not in html
    assert "Коваленко" not in html and "maria@" not in html
    # The receipt page links it too.
    assert found.group(1) in client.get(sent.headers["location"]).text

    # The department answers by e-mail; the page shows the answer and the end.
    fwd = letters(app, "department")[0]
    staff = str(fwd["To"]).strip()
    reply = EmailMessage()
    reply["From"] = staff
    reply["To"] = fwd["Reply-To"]
    reply["Subject"] = "Re: " + str(fwd["Subject"])
    reply["In-Reply-To"] = fwd["Message-ID"]
    reply["Message-ID"] = "<answer-1@council.example>"
    reply.set_content("Освітлення на вулиці Волі відремонтовано 12 березня.\n\nЗ повагою,\nСлужба")
    clock.advance(timedelta(days=2))
    app.ingest().accept(reply.as_bytes(), Envelope("smtp", staff, (str(fwd["Reply-To"]),)))
    app.worker().run_once()
    with app.sessions() as s:
        assert s.get(Appeal, appeal.id).state == "closed"  # type: ignore[union-attr]
    after = client.get(f"/status/{found.group(1)}").text
    assert "розгляд завершено" in after
    assert "відповідь" in after
    assert "Освітлення на вулиці Волі" not in after
    english = client.get(f"/status/{found.group(1)}?lang=en").text
    assert "consideration finished" in english


def test_no_link_without_a_public_url(make_app: Any, clock: ManualClock) -> None:
    app: App = make_app(clock=clock)
    client = client_for(app)
    assert submit(client, clock).status_code == 303
    app.worker().run_once()
    ack = letters(app, "citizen")[0]
    assert "/status/" not in body(ack)


def test_t23_nothing_is_shown_without_a_valid_link(make_app: Any, clock: ManualClock) -> None:
    app: App = make_app({"reception": {"public_url": PUBLIC}}, clock=clock)
    client = client_for(app)
    submit(client, clock)
    app.worker().run_once()
    with app.sessions() as s:
        appeal = s.scalars(select(Appeal)).one()
    good = reception.status_token(app.codec.key, appeal.id)
    assert client.get(f"/status/{good}").status_code == 200
    id_part, mac = good.split("-")
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    other_id = reception.status_token(b"another key", appeal.id)
    for bad in (f"{id_part}-{flipped}", other_id, id_part, f"{id_part}-", "x" * 40):
        page = client.get(f"/status/{bad}")
        assert page.status_code == 404, bad
        assert appeal.reg_no not in page.text
    # The receipt token of the same number does not open the status page.
    receipt = reception.receipt_token(app.codec.key, appeal.id)
    assert client.get(f"/status/{receipt}").status_code == 404


def test_the_english_form_gets_english_letters_with_the_status_link(
    make_app: Any, clock: ManualClock
) -> None:
    app: App = make_app({"reception": {"public_url": PUBLIC}}, clock=clock)
    client = client_for(app)
    sent = submit(
        client,
        clock,
        lang="en",
        name="Maria Kovalenko",
        text="The street lights on Voli street have been out for three weeks, please fix them.",
    )
    assert sent.status_code == 303
    app.worker().run_once()
    text = body(letters(app, "citizen")[0])
    assert "Where your appeal stands" in text
    link = re.search(r"https://council\.example/status/(\S+)", text)
    assert link, text
    page = client.get(f"/status/{link.group(1)}?lang=en")
    assert page.status_code == 200 and "Registration number" in page.text
