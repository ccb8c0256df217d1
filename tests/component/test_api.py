"""The REST API through Starlette's TestClient on a real SQLite gateway: every endpoint,
scopes (a token without one refused), bad input refused with a clear error, the OpenAPI
document; submissions registered like mail."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import webtest
from receptiontest import TEXT
from sqlalchemy import select
from starlette.testclient import TestClient

from gateway.app import App
from gateway.clock import ManualClock
from gateway.web.api_clients import add_client
from gateway.web.console import build
from models import ApiClient, Appeal

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(make_app: Any) -> App:
    a: App = make_app(
        {"reception": {"public_url": "https://council.example"}}, clock=ManualClock(START)
    )
    return a


@pytest.fixture
def client(app: App) -> TestClient:
    return TestClient(build(app), base_url="http://127.0.0.1")


def bearer(app: App, name: str, *scopes: str) -> dict[str, str]:
    token = add_client(app.sessions, name, scopes, now=app.clock.now())
    return {"Authorization": f"Bearer {token}"}


def body(**over: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "appeal",
        "name": "Савчук Андрій Миколайович",
        "address": "м. Луцьк, вул. Лесі Українки, 20",
        "email": "andrii@example.org",
        "text": TEXT,
        "consent": True,
        "attachments": [
            {
                "filename": "photo.jpg",
                "content_type": "image/jpeg",
                "content_base64": base64.b64encode(b"\xff\xd8\xffphoto").decode(),
            }
        ],
    }
    out.update(over)
    return out


def test_the_openapi_document_is_valid_json_with_the_paths(client: TestClient) -> None:
    page = client.get("/api/openapi.json")
    assert page.status_code == 200
    doc = json.loads(page.text)
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/api/v1/appeals",
        "/api/v1/submissions/{token}",
        "/api/v1/appeals/{reg_no}",
        "/api/v1/appeals/{reg_no}/events",
        "/api/v1/appeals/{reg_no}/result",
    }
    # Every operation names its scope, and every $ref resolves.
    for ops in doc["paths"].values():
        for op in ops.values():
            assert op["x-scope"] in ("submit", "read", "answer")
    refs = [r for r in json.dumps(doc).split('"$ref": "')[1:]]
    for ref in refs:
        name = ref.split('"')[0].rsplit("/", 1)[-1]
        assert name in doc["components"]["schemas"]


def test_submit_then_read_list_events_and_result(app: App, client: TestClient) -> None:
    submitter = bearer(app, "website", "submit")
    reader = bearer(app, "dms", "read", "answer")
    sent = client.post("/api/v1/appeals", json=body(), headers=submitter)
    assert sent.status_code == 202, sent.text
    follow = sent.json()["url"]
    assert client.get(follow, headers=submitter).json()["state"] == "received"
    app.worker().run_once()
    state = client.get(follow, headers=submitter).json()
    assert state["state"] == "registered"
    reg_no = state["reg_no"]
    assert state["status_page"].startswith("https://council.example/status/")
    with app.sessions() as s:
        appeal = s.scalars(select(Appeal)).one()
        assert appeal.receipt_form == "web_form"
        assert appeal.citizen_email == "andrii@example.org"

    one = client.get(f"/api/v1/appeals/{reg_no}", headers=reader).json()
    assert one["reg_no"] == reg_no and one["receipt_form"] == "web_form"
    assert "citizen" not in one and "text" not in one  # no personal scope
    listed = client.get("/api/v1/appeals", params={"state": "open"}, headers=reader).json()
    assert [i["reg_no"] for i in listed["items"]] == [reg_no] and listed["total"] == 1
    none = client.get("/api/v1/appeals", params={"kind": "info_request"}, headers=reader).json()
    assert none["items"] == [] and none["total"] == 0
    events = client.get(f"/api/v1/appeals/{reg_no}/events", headers=reader).json()["events"]
    assert "registered" in [e["type"] for e in events]
    assert all("data" not in e for e in events)

    # A result only for a finally answered appeal: a clear conflict before.
    early = client.post(
        f"/api/v1/appeals/{reg_no}/result", json={"result": "resolved"}, headers=reader
    )
    assert early.status_code == 409 and "no final answer" in early.json()["message"]
    with app.sessions.begin() as s:
        from routing.lifecycle import record_answer

        a = s.scalars(select(Appeal)).one()
        record_answer(a, app.clock.now(), final=True)
    done = client.post(
        f"/api/v1/appeals/{reg_no}/result", json={"result": "resolved"}, headers=reader
    )
    assert done.status_code == 200
    with app.sessions() as s:
        assert s.scalars(select(Appeal)).one().result == "resolved"
    assert client.get(f"/api/v1/appeals/{reg_no}", headers=reader).json()["result"] == "resolved"


def test_t24_the_personal_scope_shows_the_citizen(app: App, client: TestClient) -> None:
    reg_no = webtest.register(app, "olha@example.org", "Ольга Іванчук", "Сміття", TEXT)
    plain = client.get(f"/api/v1/appeals/{reg_no}", headers=bearer(app, "a", "read")).json()
    full = client.get(
        f"/api/v1/appeals/{reg_no}", headers=bearer(app, "b", "read", "personal")
    ).json()
    assert "citizen" not in plain
    assert full["citizen"]["email"] == "olha@example.org"
    assert TEXT in full["text"]


def test_t24_tokens_and_scopes(app: App, client: TestClient) -> None:
    reader = bearer(app, "reader", "read")
    assert client.get("/api/v1/appeals").status_code == 401
    bad = client.get("/api/v1/appeals", headers={"Authorization": "Bearer agw_nonsense"})
    assert bad.status_code == 401 and bad.json()["error"] == "unauthenticated"
    refused = client.post("/api/v1/appeals", json=body(), headers=reader)
    assert refused.status_code == 403 and "submit" in refused.json()["message"]
    refused = client.post(
        "/api/v1/appeals/A-2026-000001/result", json={"result": "resolved"}, headers=reader
    )
    assert refused.status_code == 403
    submitter = bearer(app, "submitter", "submit")
    assert client.get("/api/v1/appeals", headers=submitter).status_code == 403
    # Stored hashed: the token is nowhere in the table.
    token = submitter["Authorization"].split()[1]
    with app.sessions() as s:
        rows = s.scalars(select(ApiClient)).all()
    assert all(token not in (r.token_sha256 + r.name) for r in rows)
    from gateway.web.api_clients import revoke_client

    assert revoke_client(app.sessions, "reader")
    assert client.get("/api/v1/appeals", headers=reader).status_code == 401


def test_bad_input_is_refused_with_a_clear_error(app: App, client: TestClient) -> None:
    h = {**bearer(app, "all", "submit", "read", "answer")}
    not_json = client.post(
        "/api/v1/appeals", content=b"{not json", headers={**h, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid-json"
    form = client.post("/api/v1/appeals", data={"name": "x"}, headers=h)
    assert form.status_code == 415
    missing = client.post(
        "/api/v1/appeals", json=body(email="nope", consent=False, text=""), headers=h
    )
    assert missing.status_code == 422
    assert missing.json()["fields"] == {
        "email": "invalid",
        "text": "required",
        "consent": "required",
    }
    broken = client.post("/api/v1/appeals", json=body(attachments=[{"filename": "a"}]), headers=h)
    assert broken.status_code == 422 and broken.json()["fields"] == {"attachments": "invalid"}
    filters = client.get(
        "/api/v1/appeals", params={"state": "lost", "received_from": "yesterday"}, headers=h
    )
    assert filters.status_code == 422
    assert filters.json()["fields"] == {"state": "invalid", "received_from": "invalid"}
    assert client.get("/api/v1/appeals", params={"limit": "0"}, headers=h).status_code == 422
    assert client.get("/api/v1/appeals/A-1999-000001", headers=h).status_code == 404
    assert client.get("/api/v1/submissions/1-abc", headers=h).status_code == 404
    result = client.post(
        "/api/v1/appeals/A-1999-000001/result", json={"result": "maybe"}, headers=h
    )
    assert result.status_code == 422
