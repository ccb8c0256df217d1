"""Changes made in the web console go through the same functions as the e-mail commands
and the command line: extend (the citizen's letter queued), note, reroute, result, triage
assignment (a training label and the forward), the holding pen's assign, release and
discard. Each is an event with the web user as its actor; a viewer changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import webtest
from sqlalchemy import select
from starlette.testclient import TestClient

from gateway.app import App
from gateway.clock import ManualClock
from gateway.web.console import build
from models import Appeal, AppealEvent, InboundMessage, OutboundMessage, TrainingLabel

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(make_app: Any) -> App:
    a: App = make_app(clock=ManualClock(START))
    return a


def _client(app: App, name: str, role: str, departments: tuple[str, ...] = ()) -> TestClient:
    webtest.user(app, name, role, departments)
    client = TestClient(build(app), base_url="http://127.0.0.1")
    assert webtest.log_in(client, name).status_code == 303
    return client


def _csrf(client: TestClient, path: str = "/") -> str:
    return webtest.csrf_of(client.get(path).text)


def _appeal(app: App, reg_no: str) -> Appeal:
    with app.sessions() as s:
        return s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()


def _events(app: App, type_: str) -> list[AppealEvent]:
    with app.sessions() as s:
        return list(s.scalars(select(AppealEvent).where(AppealEvent.type == type_)))


def _letters(app: App, kind: str) -> list[OutboundMessage]:
    with app.sessions() as s:
        return list(s.scalars(select(OutboundMessage).where(OutboundMessage.kind == kind)))


def test_extend_moves_the_due_date_and_writes_to_the_citizen(app: App) -> None:
    reg_no = webtest.register_at(
        app, "housing", "olena@example.org", "Олена Коваль", "Протікає дах", "Протікає дах."
    )
    before = _appeal(app, reg_no).due_date
    client = _client(app, "clerk", "clerk", ("housing",))
    done = client.post(
        f"/appeals/{reg_no}/extend",
        data={"csrf": _csrf(client), "days": "10", "reason": "потрібна експертиза"},
    )
    assert done.status_code == 200 and 'id="notice"' in done.text
    after = _appeal(app, reg_no)
    assert after.due_date > before and after.extended_days == 10
    (event,) = _events(app, "extended")
    assert event.actor == "web:clerk" and event.data["reason"] == "потрібна експертиза"
    (letter,) = _letters(app, "citizen/extended")
    assert letter.recipients == ["olena@example.org"]
    # Past the 45 days of Art. 20: refused, nothing changes, the reason is shown.
    refused = client.post(
        f"/appeals/{reg_no}/extend",
        data={"csrf": _csrf(client), "days": "20", "reason": "ще раз"},
    )
    assert 'id="problem"' in refused.text
    assert _appeal(app, reg_no).due_date == after.due_date
    assert len(_letters(app, "citizen/extended")) == 1


def test_note_reroute_and_result(app: App) -> None:
    reg_no = webtest.register_at(
        app, "housing", "olena@example.org", "Олена Коваль", "Протікає дах", "Протікає дах."
    )
    client = _client(app, "boss", "admin")
    csrf = _csrf(client)
    client.post(f"/appeals/{reg_no}/note", data={"csrf": csrf, "text": "дзвонила, чекає"})
    (note,) = _events(app, "note")
    assert note.actor == "web:boss" and note.data["text"] == "дзвонила, чекає"
    client.post(
        f"/appeals/{reg_no}/reroute",
        data={"csrf": csrf, "department": "social", "reason": "пільговик"},
    )
    assert _appeal(app, reg_no).department is not None
    assert _appeal(app, reg_no).department.code == "social"  # type: ignore[union-attr]
    assert [e.actor for e in _events(app, "redirected")][-1] == "web:boss"
    assert len(_letters(app, "department/reassigned")) == 2  # housing's set-up, then social
    # No final answer yet: no result.
    early = client.post(f"/appeals/{reg_no}/result", data={"csrf": csrf, "result": "вирішено"})
    assert "no final answer" in early.text
    with app.sessions.begin() as s:
        from routing.lifecycle import record_answer

        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()
        record_answer(a, START, final=True)
    client.post(f"/appeals/{reg_no}/result", data={"csrf": csrf, "result": "вирішено"})
    closed = _appeal(app, reg_no)
    assert closed.result == "resolved"
    assert (closed.characteristic_sources or {})["result"] == "staff"
    (event,) = _events(app, "result-set")
    assert event.actor == "web:boss" and event.data["from"] == "explained"


def test_t22_a_viewer_changes_nothing(app: App) -> None:
    reg_no = webtest.register_at(
        app, "housing", "olena@example.org", "Олена Коваль", "Протікає дах", "Протікає дах."
    )
    before = _appeal(app, reg_no).due_date
    client = _client(app, "viewer", "viewer")
    page = client.get(f"/appeals/{reg_no}").text
    assert 'id="extend"' not in page  # no forms shown
    csrf = webtest.csrf_of(page)
    for action, data in (
        ("extend", {"days": "5", "reason": "x"}),
        ("note", {"text": "x"}),
        ("reroute", {"department": "social"}),
    ):
        r = client.post(f"/appeals/{reg_no}/{action}", data={"csrf": csrf, **data})
        assert r.status_code == 403
    assert (
        client.post(f"/triage/{reg_no}", data={"csrf": csrf, "topic": "housing"}).status_code == 403
    )
    assert (
        client.post("/held", data={"csrf": csrf, "action": "release", "ids": "1"}).status_code
        == 403
    )
    assert _appeal(app, reg_no).due_date == before
    assert _events(app, "note") == [] and _events(app, "extended") == []


def test_a_clerk_cannot_act_on_another_departments_appeal(app: App) -> None:
    reg_no = webtest.register_at(
        app, "transport", "petro@example.org", "Петро Мельник", "Яма", "Велика яма на дорозі."
    )
    client = _client(app, "clerk", "clerk", ("housing",))
    r = client.post(
        f"/appeals/{reg_no}/extend",
        data={"csrf": _csrf(client), "days": "5", "reason": "x"},
    )
    assert r.status_code == 404
    assert _events(app, "extended") == []


def test_a_form_without_csrf_changes_nothing(app: App) -> None:
    reg_no = webtest.register_at(
        app, "housing", "olena@example.org", "Олена Коваль", "Протікає дах", "Протікає дах."
    )
    client = _client(app, "boss", "admin")
    r = client.post(f"/appeals/{reg_no}/note", data={"text": "без токена"})
    assert r.status_code == 403
    assert _events(app, "note") == []


def test_triage_assignment_is_a_label_and_sends_the_forward(app: App) -> None:
    # No model in this gateway: the appeal waits at triage.
    reg_no = webtest.register(
        app, "ira@example.org", "Ірина Данилюк", "Ліхтарі", "Не світять ліхтарі у дворі."
    )
    assert _appeal(app, reg_no).department.code == "triage"  # type: ignore[union-attr]
    client = _client(app, "clerk", "clerk", ("housing",))
    page = client.get("/triage").text
    assert reg_no in page
    done = client.post(
        f"/triage/{reg_no}",
        data={"csrf": webtest.csrf_of(page), "topic": "landscaping", "department": "landscaping"},
    )
    assert 'id="notice"' in done.text and reg_no not in done.text.split('id="triage"')[1]
    a = _appeal(app, reg_no)
    assert (a.topic, a.department.code) == ("landscaping", "landscaping")  # type: ignore[union-attr]
    with app.sessions() as s:
        label = s.scalars(select(TrainingLabel)).one()
    assert (label.topic, label.department_code, label.source, label.actor) == (
        "landscaping",
        "landscaping",
        "triage",
        "web:clerk",
    )
    (fwd,) = _letters(app, "department/reassigned")
    assert fwd.recipients == ["blagoustrii@council.example"]


def test_holding_pen_assign_release_and_bulk_discard(app: App) -> None:
    reg_no = webtest.register_at(
        app, "housing", "olena@example.org", "Олена Коваль", "Протікає дах", "Протікає дах."
    )
    first = webtest.hold_unmatched(app, "olena@example.org", "Re: Протікає дах")
    others = [webtest.hold_unmatched(app, f"x{i}@example.org", f"Лист {i}") for i in range(2)]
    client = _client(app, "clerk", "clerk", ("housing",))
    page = client.get("/held").text
    assert "Re: Протікає дах" in page and "olena@example.org" in page
    csrf = webtest.csrf_of(page)
    client.post(
        "/held", data={"csrf": csrf, "action": "assign", "ids": str(first), "reg_no": reg_no}
    )
    refused = client.post(
        "/held", data={"csrf": csrf, "action": "discard", "ids": [str(i) for i in others]}
    )
    assert "a reason is required" in refused.text
    client.post(
        "/held",
        data={"csrf": csrf, "action": "discard", "ids": [str(i) for i in others], "reason": "спам"},
    )
    app.worker().run_once()
    with app.sessions() as s:
        states = {m.id: (m.state, m.appeal_id) for m in s.scalars(select(InboundMessage))}
    assert states[first][0] == "processed"
    assert states[first][1] == _appeal(app, reg_no).id
    assert all(states[i][0] == "discarded" for i in others)
    # Released: handled again as if just received (still unmatched here, so held again).
    again = webtest.hold_unmatched(app, "z@example.org", "Лист без адресата")
    client.post("/held", data={"csrf": csrf, "action": "release", "ids": str(again)})
    (release,) = _events(app, "holding-pen-release")
    assert (release.inbound_id, release.actor) == (again, "web:clerk")
    with app.sessions() as s:
        assert s.get(InboundMessage, again).state == "received"  # type: ignore[union-attr]
    actors = {e.actor for e in _events(app, "holding-pen-discard")}
    assert actors == {"web:clerk"}
    assert [e.actor for e in _events(app, "holding-pen-assign")] == ["web:clerk"]


def test_the_command_line_extends_and_notes_through_the_same_functions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import gwtest

    from gateway.cli import main

    monkeypatch.setenv("APPEALS_TOKEN_KEY", "k")
    settings = gwtest.write_settings(tmp_path, 0, gwtest.free_port())
    from gateway.app import build_app, prepare
    from gateway.settings import load_settings

    cli_app = build_app(load_settings(settings))
    prepare(cli_app)
    reg_no = webtest.register_at(
        cli_app, "housing", "olena@example.org", "Олена Коваль", "Протікає дах", "Протікає дах."
    )
    base = ["--settings", str(settings), "appeal"]
    assert main([*base, "extend", reg_no, "7", "потрібна", "експертиза"]) == 0
    assert main([*base, "extend", reg_no, "30", "забагато"]) == 1  # past 45 days
    assert main([*base, "note", reg_no, "дзвонила"]) == 0
    assert main([*base, "set", reg_no, "result", "вирішено"]) == 1  # no final answer yet
    with cli_app.sessions() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()
        types = [
            e.type for e in s.scalars(select(AppealEvent).where(AppealEvent.appeal_id == a.id))
        ]
    assert a.extended_days == 7
    assert types.count("extended") == 1 and "extension-refused" in types and "note" in types
