"""The internet reception's form through Starlette's TestClient on a real SQLite gateway:
a submission is registered by the worker like an e-mail, with form of receipt "web_form",
the contacts from the form and the acknowledgement queued; errors sit next to their
fields; the honeypot, the form token, the rate limit and the size limit refuse."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from typing import Any

import pytest
from receptiontest import TEXT, fields, submit, token_of
from sqlalchemy import select
from starlette.testclient import TestClient

from gateway.app import App
from gateway.clock import ManualClock
from gateway.web.console import build
from models import Appeal, InboundMessage, OutboundMessage
from routing.mail import Envelope

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(make_app: Any, clock: ManualClock) -> App:
    a: App = make_app({"reception": {"per_client_per_minute": 3}}, clock=clock)
    return a


@pytest.fixture
def client(app: App) -> TestClient:
    return TestClient(build(app), base_url="http://127.0.0.1")


def test_a_submission_is_registered_like_mail_with_form_web(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    photo = b"\xff\xd8\xff\xe0" + b"JFIF-photo-bytes" * 100
    sent = submit(client, clock, files=[("files", ("C:\\Users\\m\\яма.jpg", photo, "image/jpeg"))])
    assert sent.status_code == 303, sent.text
    receipt_url = sent.headers["location"]
    assert receipt_url.startswith("/reception/receipt/")
    waiting = client.get(receipt_url)
    assert waiting.status_code == 200
    assert 'http-equiv="refresh"' in waiting.text
    assert app.worker().run_once()
    done = client.get(receipt_url)
    assert 'http-equiv="refresh"' not in done.text
    with app.sessions() as s:
        appeal = s.scalars(select(Appeal)).one()
        inbound = s.get(InboundMessage, appeal.inbound_id)
        assert inbound is not None and inbound.source == "web"
        acks = [
            o
            for o in s.scalars(select(OutboundMessage))
            if o.kind == "citizen/ack" and "maria@example.org" in (o.recipients or [])
        ]
    assert appeal.reg_no in done.text
    assert appeal.receipt_form == "web_form"
    assert appeal.kind == "appeal"
    assert appeal.citizen_name == "Коваленко Марія Іванівна"
    assert appeal.citizen_email == "maria@example.org"
    assert "Волі" in (appeal.citizen_address or "")
    assert "67" in (appeal.citizen_phone or "")
    assert len(acks) == 1
    raw = app.ingest().raw(appeal.inbound_id)
    msg = message_from_bytes(raw)
    names = [p.get_filename() for p in msg.walk() if p.get_filename()]
    assert names == ["яма.jpg"]


def test_an_info_request_in_english(app: App, client: TestClient, clock: ManualClock) -> None:
    sent = submit(
        client,
        clock,
        lang="en",
        kind="info_request",
        name="Maria Kovalenko",
        text="Please send me the council's budget for road repairs in 2026, as a spreadsheet.",
    )
    assert sent.status_code == 303
    app.worker().run_once()
    with app.sessions() as s:
        appeal = s.scalars(select(Appeal)).one()
    assert appeal.kind == "info_request"
    assert appeal.receipt_form == "web_form"
    page = client.get(sent.headers["location"])
    assert "Your appeal is registered under number" in page.text
    assert appeal.reg_no.startswith("I-")


def test_t23_a_copied_header_does_not_make_an_email_a_web_submission(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    sent = submit(client, clock)
    assert sent.status_code == 303
    with app.sessions() as s:
        inbound = s.scalars(select(InboundMessage)).one()
    ours = message_from_bytes(app.ingest().raw(inbound.id))
    forged = EmailMessage()
    forged["From"] = "Петренко Іван <ivan@example.org>"
    forged["To"] = "appeals@council.example"
    forged["Subject"] = "Звернення"
    forged["Message-ID"] = "<forged-1@example.org>"
    forged["X-Appeal-Gateway-Reception"] = " ".join(str(ours["X-Appeal-Gateway-Reception"]).split())
    forged.set_content(TEXT + "\n\nЗ повагою,\nПетренко Іван\nАдреса: м. Луцьк, вул. Волі, 5")
    app.ingest().accept(forged.as_bytes(), Envelope("smtp", "ivan@example.org", ()))
    app.worker().run_once()
    with app.sessions() as s:
        forms = {a.citizen_email: a.receipt_form for a in s.scalars(select(Appeal))}
    assert forms == {"maria@example.org": "web_form", "ivan@example.org": "email"}


def test_errors_are_shown_next_to_their_fields(client: TestClient, clock: ManualClock) -> None:
    sent = submit(client, clock, name="Марія", email="not-an-address", text="", consent="")
    assert sent.status_code == 400
    html = sent.text
    for name in ("name", "email", "text", "consent"):
        assert f'id="{name}-error"' in html
        field = re.search(rf'<(?:input|textarea)[^>]*id="{name}"[^>]*>', html)
        assert field is not None
        assert 'aria-invalid="true"' in field.group(0)
        assert f"{name}-error" in field.group(0)
        assert f'href="#{name}"' in html  # the summary links to the field
    assert 'id="address-error"' not in html
    # What the citizen typed is kept.
    assert 'value="м. Луцьк, вул. Волі, 3, кв. 5"' in html


def test_t23_the_honeypot_and_a_missing_token_refuse(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    assert submit(client, clock, website="http://spam.example").status_code == 400
    no_token = client.post("/reception", data=fields(), follow_redirects=False)
    assert no_token.status_code == 400
    # A token from another browser (its cookie missing) is refused too.
    page = client.get("/reception")
    other = TestClient(build(app), base_url="http://127.0.0.1")
    clock.advance(timedelta(seconds=10))
    stolen = other.post(
        "/reception", data={**fields(), "form_token": token_of(page.text)}, follow_redirects=False
    )
    assert stolen.status_code == 400
    with app.sessions() as s:
        assert s.scalars(select(InboundMessage)).all() == []


def test_a_form_sent_back_at_once_is_refused(client: TestClient) -> None:
    page = client.get("/reception")
    sent = client.post(
        "/reception", data={**fields(), "form_token": token_of(page.text)}, follow_redirects=False
    )
    assert sent.status_code == 400
    assert "надто швидко" in sent.text


def test_the_rate_limit_per_client(app: App, client: TestClient, clock: ManualClock) -> None:
    codes = [submit(client, clock, text=f"{TEXT} Повідомлення {i}.").status_code for i in range(4)]
    # 10 s apart: the fourth within one minute is refused.
    assert codes == [303, 303, 303, 429]
    clock.advance(timedelta(minutes=2))
    assert submit(client, clock, text=f"{TEXT} Ще одне.").status_code == 303


def test_too_large_a_body_is_refused_before_parsing(app: App, client: TestClient) -> None:
    big = b"x" * (app.settings.attachments.max_total_bytes + 200_000)
    sent = client.post(
        "/reception", data=fields(), files=[("files", ("big.bin", big, "application/pdf"))]
    )
    assert sent.status_code == 413


def test_an_unsigned_receipt_shows_nothing(client: TestClient) -> None:
    assert client.get("/reception/receipt/1-000000000000000000000000").status_code == 404
    assert client.get("/reception/receipt/nonsense").status_code == 404
