"""Routing that learns: history -> `routing suggest` -> admin review ->
`routing apply` -> the worker routes by (label, district), without a restart.

The history is made the way it happens in production: appeals arrive, the model routes
them by topic, and staff reroute the ones from one district to that district's own office
(`appeals appeal reroute`, which also records a training label)."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import gwtest
import pytest
from sqlalchemy import select

from gateway.cli import main
from models import Appeal, AppealEvent
from routing.mail import Envelope

NORTH_OFFICE = {
    "code": "housing_north",
    "name": "Житлово-комунальна служба Північного району",
    "email": "zhks-pivnich@council.example",
}

TEXTS = [
    "Прорвало стояк опалення в підвалі нашого будинку, холодні батареї у квартирах.",
    "У під'їзді не працює ліфт вже тиждень, прошу відремонтувати ліфт у нашому будинку.",
    "Протікає дах будинку, після дощу мокрі стелі у квартирах верхнього поверху.",
    "Немає гарячої води в будинку третій день, прошу відновити гаряче водопостачання.",
]


def _eml(i: int, district: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"Мешканець {i} <m{i}@example.org>"
    m["To"] = "appeals@council.example"
    m["Subject"] = "Звернення щодо будинку"
    m.set_content(
        f"{TEXTS[i % len(TEXTS)]} Будинок {i} у {district} районі.\n\n"
        f"Мешканець {i}\nвул. Соборна, {i}, кв. {i + 1}"
    )
    return m.as_bytes()


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APPEALS_TOKEN_KEY", "k")
    return gwtest.write_settings(
        tmp_path,
        0,
        gwtest.free_port(),
        extra_departments=(NORTH_OFFICE,),
        classifier={"train_on_first_run": True},
    )


def _cli(settings: Path, *args: str) -> int:
    return main(["--settings", str(settings), *args])


def test_suggest_apply_and_route_by_district(
    settings_file: Path, tmp_path: Path, capsys: Any
) -> None:
    from gateway.app import build_app, prepare
    from gateway.settings import load_settings

    app = build_app(load_settings(settings_file))
    prepare(app)
    worker = app.worker()
    districts = ["Північному", "Центральному"]
    for i in range(24):
        app.ingest().accept(
            _eml(i, districts[i % 2]),
            Envelope("smtp", f"m{i}@example.org", ("appeals@council.example",)),
        )
    while worker.run_once():
        pass
    with app.sessions() as s:
        appeals = s.scalars(select(Appeal).order_by(Appeal.id)).all()
        assert len(appeals) == 24
        assert {(a.topic, a.department.code) for a in appeals} == {("housing", "housing")}
        north = [a.reg_no for a in appeals if a.district == "Північний"]
        assert len(north) == 12
    # Staff move the northern ones to their district office.
    for reg_no in north:
        assert _cli(settings_file, "appeal", "reroute", reg_no, "housing_north", "район") == 0
    capsys.readouterr()

    proposal = tmp_path / "proposal.json"
    assert _cli(settings_file, "routing", "suggest", "--out", str(proposal)) == 0
    assert "held-out accuracy 1.0" in capsys.readouterr().out
    table = json.loads(proposal.read_text(encoding="utf-8"))
    rules = {(r["topic"], r["district"]): r["department"] for r in table["table"]}
    assert rules[("housing", "Північний")] == "housing_north"
    assert rules[("housing", "Центральний")] == "housing"

    # A table naming a department that does not exist is refused and changes nothing.
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"table": [{"topic": "housing", "district": None, "department": "nope"}]}),
        encoding="utf-8",
    )
    assert _cli(settings_file, "routing", "apply", str(bad)) == 1
    assert "unknown department" in capsys.readouterr().err

    assert _cli(settings_file, "routing", "apply", str(proposal)) == 0
    assert _cli(settings_file, "routing", "rules") == 0
    assert "housing\tПівнічний\thousing_north" in capsys.readouterr().out

    # The worker built before the apply routes new northern appeals to the office.
    app.ingest().accept(
        _eml(100, "Північному"), Envelope("smtp", "m100@example.org", ("appeals@council.example",))
    )
    app.ingest().accept(
        _eml(101, "Центральному"),
        Envelope("smtp", "m101@example.org", ("appeals@council.example",)),
    )
    while worker.run_once():
        pass
    with app.sessions() as s:
        new = s.scalars(select(Appeal).where(Appeal.id > appeals[-1].id).order_by(Appeal.id)).all()
        assert [(a.district, a.department.code) for a in new] == [
            ("Північний", "housing_north"),
            ("Центральний", "housing"),
        ]
        routed = s.scalars(
            select(AppealEvent).where(
                AppealEvent.appeal_id == new[0].id, AppealEvent.type == "routed"
            )
        ).one()
        assert routed.data["rule"] == "learned"
        assert "Північний" in routed.data["reason"]
