"""Retraining from labelled .eml folders end to end: build the
folders from generated messages, train and promote through the CLI, and see the running
gateway's worker route a new message with the new model, no restart."""

from __future__ import annotations

import json
import random
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import gwtest
import pytest
from sqlalchemy import select

from gateway.cli import main
from models import Appeal
from routing.mail import Envelope

# Vocabulary the starter corpus has never seen, one cluster per label.
TOPICS = {
    "ecology": ["бобри", "гребля", "ставок", "рибу", "замор", "очерет", "дамба"],
    "education": ["ліцей", "кабінет", "хімії", "парти", "мультимедійний", "підручники"],
    "housing": ["бойлерна", "стояк", "каналізація", "теплопункт", "засувка", "підвал"],
}


def _eml(text: str, i: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Автор {i} <a{i}@example.org>"
    m["To"] = "appeals@council.example"
    m["Subject"] = "Звернення"
    m.set_content(text)
    return m.as_bytes()


def _folders(root: Path, rng: random.Random) -> None:
    for label, words in TOPICS.items():
        d = root / label
        d.mkdir(parents=True)
        for i in range(30):
            picked = " ".join(rng.sample(words, 4))
            (d / f"{i}.eml").write_bytes(_eml(f"Прошу розглянути: {picked}. Дякую {i}.", i))


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APPEALS_TOKEN_KEY", "k")
    return gwtest.write_settings(
        tmp_path, 0, gwtest.free_port(), classifier={"train_on_first_run": True}
    )


def test_train_promote_and_route_with_the_new_model(
    settings_file: Path, tmp_path: Path, capsys: Any
) -> None:
    from gateway.app import build_app, prepare
    from gateway.settings import load_settings

    app = build_app(load_settings(settings_file))
    prepare(app)  # trains and activates the starter model on first run
    assert main(["--settings", str(settings_file), "classifier", "list"]) == 0
    starter = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("*")]
    assert len(starter) == 1
    data = tmp_path / "labelled"
    _folders(data, random.Random(3))
    assert (
        main(
            [
                "--settings",
                str(settings_file),
                "classifier",
                "train",
                "--data",
                str(data),
                "--promote",
                "--force",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    new_version = out.split("saved ")[1].split()[0]
    assert "'ecology': 30" in out
    # Evaluate the active (new) model on the same folders, as JSON, with a PNG.
    png = tmp_path / "cm.png"
    assert (
        main(
            [
                "--settings",
                str(settings_file),
                "classifier",
                "evaluate",
                "--data",
                str(data),
                "--json",
                "--png",
                str(png),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["macro_f1"] > 0.9 and png.stat().st_size > 1000
    # The worker built before the promotion picks the new model up by itself.
    worker = app.worker()
    app.classifier.loader().recheck_seconds = 0
    app.ingest().accept(
        _eml("У нас бобри збудували греблю, ставок заріс очеретом, замор риби.", 99),
        Envelope("smtp", "a99@example.org", ("appeals@council.example",)),
    )
    worker.run_once()
    with app.sessions() as s:
        a = s.scalars(select(Appeal)).one()
        assert (a.topic, a.model_version) == ("ecology", new_version)
        assert a.department.code == "ecology"
    # Roll back: the starter model is active again.
    assert main(["--settings", str(settings_file), "classifier", "rollback"]) == 0
    assert new_version not in capsys.readouterr().out.split("active: ")[1]
