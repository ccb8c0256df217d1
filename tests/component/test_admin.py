"""Admin commands: appeal show / reroute / set-topic (training labels), calendar overrides."""

from __future__ import annotations

import json
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import gwtest
import pytest
from sqlalchemy import select

from gateway.cli import main
from models import Appeal, TrainingLabel


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APPEALS_TOKEN_KEY", "k")
    return gwtest.write_settings(tmp_path, 0, gwtest.free_port())


def _registered(settings_file: Path) -> Any:
    from gateway.app import build_app, prepare
    from gateway.settings import load_settings
    from routing.mail import Envelope

    app = build_app(load_settings(settings_file))
    prepare(app)
    m = EmailMessage()
    m["From"] = "Юлія Романюк <yulia@example.org>"
    m["To"] = "appeals@council.example"
    m["Subject"] = "Питання"
    m.set_content(
        "Прошу розглянути моє питання щодо тротуару біля будинку.\nАдреса: м. Луцьк, вул. Волі, 3"
    )
    app.ingest().accept(m.as_bytes(), Envelope("smtp", "yulia@example.org", ()))
    app.worker().run_once()
    return app


def test_reroute_and_set_topic_are_recorded_as_labels(settings_file: Path, capsys: Any) -> None:
    app = _registered(settings_file)
    with app.sessions() as s:
        reg_no = s.scalars(select(Appeal.reg_no)).one()
    assert (
        main(
            [
                "--settings",
                str(settings_file),
                "appeal",
                "reroute",
                reg_no,
                "transport",
                "тротуари",
                "--actor",
                "clerk1",
            ]
        )
        == 0
    )
    assert (
        main(["--settings", str(settings_file), "appeal", "set-topic", reg_no, "roads_transport"])
        == 0
    )
    assert main(["--settings", str(settings_file), "appeal", "set-topic", reg_no, "nonsense"]) == 1
    with app.sessions() as s:
        labels = [
            (lb.topic, lb.department_code, lb.actor) for lb in s.scalars(select(TrainingLabel))
        ]
        appeal = s.scalars(select(Appeal)).one()
        assert (appeal.department.code, appeal.topic) == ("transport", "roads_transport")
    assert (None, "transport", "clerk1") in labels
    assert ("roads_transport", None, "admin") in labels
    capsys.readouterr()
    assert main(["--settings", str(settings_file), "appeal", "show", reg_no]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["type"] for e in shown["events"]][-2:] == ["redirected", "topic-set"]


def test_calendar_overrides_change_working_days(settings_file: Path, capsys: Any) -> None:
    _registered(settings_file)
    assert (
        main(
            [
                "--settings",
                str(settings_file),
                "calendar",
                "day-off",
                "2026-12-28",
                "перенесений",
                "день",
            ]
        )
        == 0
    )
    assert main(["--settings", str(settings_file), "calendar", "working-day", "2026-12-26"]) == 0
    from gateway.app import build_app
    from gateway.settings import load_settings

    app = build_app(load_settings(settings_file))
    cal = app.calendar()
    assert not cal.is_working_day(date(2026, 12, 28))  # a Monday made a day off
    assert cal.is_working_day(date(2026, 12, 26))  # a Saturday made a working day
    capsys.readouterr()
    main(["--settings", str(settings_file), "calendar", "list"])
    assert "перенесений день" in capsys.readouterr().out
    assert main(["--settings", str(settings_file), "calendar", "remove", "2026-12-28"]) == 0
    assert build_app(load_settings(settings_file)).calendar().is_working_day(date(2026, 12, 28))


def test_appeal_set_corrects_a_characteristic_with_source_staff(
    settings_file: Path, capsys: Any
) -> None:
    app = _registered(settings_file)
    with app.sessions() as s:
        reg_no = s.scalars(select(Appeal.reg_no)).one()
    base = ["--settings", str(settings_file), "appeal", "set", reg_no]
    assert main([*base, "type", "пропозиція", "--actor", "clerk2"]) == 0
    assert main([*base, "category", "особа", "з", "інвалідністю"]) == 0
    assert main([*base, "topic-code", "002"]) == 0
    assert main([*base, "type", "прохання"]) == 1  # not a type of the Classifier
    with app.sessions() as s:
        a = s.scalars(select(Appeal)).one()
        assert (a.appeal_type, a.privileged_category, a.topic_code) == (
            "proposal",
            "disability",
            "002",
        )
        assert a.priority == 1  # Art. 20: first-priority handling follows the category
        sources = a.characteristic_sources or {}
        assert [sources[k] for k in ("type", "privileged_category", "topic_code")] == ["staff"] * 3
        assert sources["sign"] == "rule"  # untouched
    capsys.readouterr()
    assert main(["--settings", str(settings_file), "appeal", "show", reg_no]) == 0
    shown = json.loads(capsys.readouterr().out)
    sets = [e for e in shown["events"] if e["type"] == "characteristic-set"]
    assert [(e["data"]["field"], e["data"]["to"]) for e in sets] == [
        ("type", "proposal"),
        ("category", "disability"),
        ("topic-code", "002"),
    ]
    assert sets[0]["actor"] == "clerk2" and sets[0]["data"]["via"] == "console"
