"""Helpers for the web console's tests: appeals registered through the real pipeline, a
signed-in TestClient, and reading a page's CSRF token."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from gateway.app import App
from gateway.commands.appeals import reroute_appeal
from gateway.web.accounts import add_user
from models import Appeal
from routing.mail import Envelope

PASSWORD = "correct horse battery"


def register(app: App, sender: str, name: str, subject: str, text: str) -> str:
    """One citizen's letter through intake and the worker; its registration number."""
    m = EmailMessage()
    m["From"] = f"{name} <{sender}>"
    m["To"] = "appeals@council.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<{abs(hash((sender, subject, text)))}@example.org>"
    # Long enough to have an essence (Art. 5): a short line alone is returned as incomplete.
    body = f"{text} Прошу розглянути моє звернення та вжити необхідних заходів."
    m.set_content(f"{body}\n\nЗ повагою,\n{name}\nАдреса: м. Луцьк, вул. Волі, 3")
    app.ingest().accept(m.as_bytes(), Envelope("smtp", sender, ()))
    app.worker().run_once()
    with app.sessions() as s:
        row = s.scalars(
            select(Appeal).where(Appeal.citizen_email == sender).order_by(Appeal.id.desc())
        ).first()
        assert row is not None, "the letter was not registered"
        return row.reg_no


def register_at(app: App, department: str, sender: str, name: str, subject: str, text: str) -> str:
    reg_no = register(app, sender, name, subject, text)
    if department != app.settings.routing.triage_department:
        assert reroute_appeal(app, reg_no, department, "test", "set up") is None
    return reg_no


def user(app: App, name: str, role: str, departments: tuple[str, ...] = ()) -> None:
    add_user(app.sessions, name, PASSWORD, role, departments, now=app.clock.now())


def login_token(client: Any) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return str(client.cookies.get("appeals_login"))


def log_in(client: Any, name: str, password: str = PASSWORD) -> Any:
    token = login_token(client)
    return client.post(
        "/login",
        data={"csrf": token, "username": name, "password": password},
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def hold_unmatched(app: App, sender: str, subject: str) -> int:
    """A reply to an address whose token is not ours: held for a person."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "reply+zzzzzzzzzzzzzzzz@reply.council.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<held-{abs(hash((sender, subject)))}@example.org>"
    m.set_content("Доповнюю своє звернення: фото додам пізніше.")
    result = app.ingest().accept(
        m.as_bytes(),
        Envelope("smtp", sender, ("reply+zzzzzzzzzzzzzzzz@reply.council.example",)),
    )
    app.worker().run_once()
    return int(result.inbound_id)
