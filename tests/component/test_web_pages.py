"""The console's pages about the gateway: departments and routing, the classifier's
versions (promote and roll back, admins only, each an event) and the reports and exports
as downloads (the same files as `appeals report` / `appeals export`)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import webtest
from openpyxl import load_workbook
from sqlalchemy import select
from starlette.testclient import TestClient

from gateway.app import App
from gateway.clock import ManualClock
from gateway.web.console import build
from models import AppealEvent

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(make_app: Any) -> App:
    a: App = make_app(clock=ManualClock(START))
    return a


def _client(app: App, name: str, role: str) -> TestClient:
    webtest.user(app, name, role, ("housing",) if role == "clerk" else ())
    client = TestClient(build(app), base_url="http://127.0.0.1")
    assert webtest.log_in(client, name).status_code == 303
    return client


def test_departments_and_routing(app: App) -> None:
    page = _client(app, "viewer", "viewer").get("/departments").text
    for d in app.settings.departments:
        assert d.email in page
    topics = page.split('id="topics"')[1].split("</table>")[0]
    assert "<td>roads_transport</td><td>transport</td>" in topics


def test_promote_and_roll_back_are_for_admins_and_recorded(app: App) -> None:
    from classifier.pipeline import ClassifierParams
    from classifier.registry import ModelRegistry
    from classifier.starter import starter_examples
    from classifier.training import train

    registry = ModelRegistry(app.settings.model_dir)
    result = train(starter_examples(), ClassifierParams(max_features=200, holdout_fraction=0))
    first, second = registry.save(result), registry.save(result)
    registry.promote(first)
    viewer = _client(app, "viewer", "viewer")
    page = viewer.get("/classifier").text
    assert first in page and second in page and "Зробити активною" not in page
    refused = viewer.post(
        "/classifier",
        data={"csrf": webtest.csrf_of(page), "action": "promote", "version": second},
    )
    assert refused.status_code == 403 and registry.active_version() == first
    admin = _client(app, "boss", "admin")
    csrf = webtest.csrf_of(admin.get("/classifier").text)
    admin.post("/classifier", data={"csrf": csrf, "action": "promote", "version": second})
    assert registry.active_version() == second
    back = admin.post("/classifier", data={"csrf": csrf, "action": "rollback"})
    assert registry.active_version() == first and first in back.text
    with app.sessions() as s:
        events = [
            (e.type, e.actor, e.data["version"])
            for e in s.scalars(select(AppealEvent).where(AppealEvent.type.like("classifier-%")))
        ]
    assert events == [
        ("classifier-promoted", "web:boss", second),
        ("classifier-rolled-back", "web:boss", first),
    ]


def test_reports_and_exports_download(app: App) -> None:
    reg_no = webtest.register_at(
        app, "housing", "olena@example.org", "Олена Коваль", "Протікає дах", "Протікає дах."
    )
    viewer = _client(app, "viewer", "viewer")
    period = {"from": "2026-03-01", "to": "2026-03-31"}
    registry = viewer.get(
        "/reports/download", params={"kind": "registry", "format": "csv", **period}
    )
    rows = list(csv.reader(io.StringIO(registry.content.decode("utf-8-sig"))))
    assert any(reg_no in r for r in rows[1:]) and "Олена Коваль" not in registry.text
    quarterly = viewer.get(
        "/reports/download",
        params={"kind": "quarterly", "format": "xlsx", "year": "2026", "quarter": "1"},
    )
    assert quarterly.headers["content-type"].startswith("application/vnd.openxml")
    book = load_workbook(io.BytesIO(quarterly.content))
    assert book.sheetnames
    # Names and addresses: admins only, and the download is recorded.
    personal = {"kind": "registry-personal", "format": "csv", **period}
    assert viewer.get("/reports/download", params=personal).status_code == 403
    admin = _client(app, "boss", "admin")
    got = admin.get("/reports/download", params=personal)
    assert "Олена Коваль" in got.content.decode("utf-8-sig")
    with app.sessions() as s:
        (event,) = s.scalars(select(AppealEvent).where(AppealEvent.type == "export-personal"))
    assert event.actor == "web:boss"
    bad = admin.get(
        "/reports/download", params={"kind": "timeliness", "format": "csv", "from": "x"}
    )
    assert 'id="problem"' in bad.text


def test_the_english_console(make_app: Any) -> None:
    import re

    app = make_app({"web": {"language": "en"}}, clock=ManualClock(START))
    reg_no = webtest.register_at(
        app, "housing", "olena@example.org", "Олена Коваль", "Протікає дах", "Протікає дах."
    )
    client = _client(app, "boss", "admin")
    pages = {
        p: client.get(p).text
        for p in (
            "/",
            "/appeals",
            f"/appeals/{reg_no}",
            "/triage",
            "/held",
            "/departments",
            "/classifier",
            "/reports",
        )
    }
    assert "Registry of appeals" in pages["/appeals"] and "Timeline" in pages[f"/appeals/{reg_no}"]
    for path, html in pages.items():
        # Only the data are Ukrainian (names, texts, department names, the council's name).
        chrome = re.sub(
            r"<(td|pre|p class=\"muted\"|strong|option|title)[^>]*>.*?</\1>", "", html, flags=re.S
        )
        chrome = chrome.replace(app.settings.instance.name, "")
        assert not re.search(r"[А-Яа-яІіЇїЄєҐґ]{3,}", chrome), (
            path,
            re.findall(r"[А-Яа-яІіЇїЄєҐґ ]{3,}", chrome)[:5],
        )
