"""The admin commands in-process: inject (exit 0 / 75), check-message (dry run), status,
requeue."""

from __future__ import annotations

import io
import json
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import gwtest
import pytest
from sqlalchemy import func, select

from gateway.cli import EX_TEMPFAIL, main
from models import Appeal, InboundMessage, OutboundMessage


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return gwtest.write_settings(tmp_path, 0, gwtest.free_port())


@pytest.fixture(autouse=True)
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPEALS_TOKEN_KEY", "cli-test-key")


def _appeal() -> bytes:
    m = EmailMessage()
    m["From"] = "Андрій Мельник <andrii@example.org>"
    m["To"] = "social@council.example"
    m["Subject"] = "Субсидія"
    m.set_content(
        "Прошу роз'яснити порядок призначення житлової субсидії.\n"
        "Проживаю: м. Луцьк, вул. Ковельська, 20, кв. 4"
    )
    return m.as_bytes()


def _run_with_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes, argv: list[str]) -> int:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return main(argv)


def test_inject_stores_and_exits_zero(
    monkeypatch: pytest.MonkeyPatch, settings_file: Path, capsys: Any
) -> None:
    rc = _run_with_stdin(
        monkeypatch,
        _appeal(),
        ["--settings", str(settings_file), "inject", "--recipient", "social@council.example"],
    )
    assert rc == 0
    assert "stored inbound 1" in capsys.readouterr().out
    # A second delivery of the same bytes (MTA retry) is the same message.
    rc = _run_with_stdin(monkeypatch, _appeal(), ["--settings", str(settings_file), "inject"])
    assert rc == 0
    assert "duplicate" in capsys.readouterr().out


def test_inject_exits_75_when_it_cannot_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings_file: Path
) -> None:
    assert main(["--settings", str(settings_file), "db", "upgrade"]) == 0
    # The raw store's temporary directory replaced by a file: nothing can be made durable
    # (works as root too, unlike a permission change).
    spool = tmp_path / "var" / "raw" / "tmp"
    spool.rmdir()
    spool.write_bytes(b"")
    rc = _run_with_stdin(monkeypatch, _appeal(), ["--settings", str(settings_file), "inject"])
    assert rc == EX_TEMPFAIL


def test_inject_exits_75_on_database_failure(
    monkeypatch: pytest.MonkeyPatch, settings_file: Path
) -> None:
    # A database URL that cannot be reached: exit 75 so the MTA keeps the message.
    text = settings_file.read_text().replace(
        'url = ""', 'url = "postgresql+psycopg://nobody@127.0.0.1:1/none"'
    )
    settings_file.write_text(text)
    rc = _run_with_stdin(monkeypatch, _appeal(), ["--settings", str(settings_file), "inject"])
    assert rc == EX_TEMPFAIL


def test_check_message_is_a_dry_run(settings_file: Path, tmp_path: Path, capsys: Any) -> None:
    eml = tmp_path / "a.eml"
    eml.write_bytes(_appeal())
    assert main(["--settings", str(settings_file), "check-message", str(eml), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["parse"]["subject"] == "Субсидія"
    assert report["screening"]["action"] == "accept"
    assert report["routing"]["department_code"] == "social"
    assert report["kind"]["kind"] == "appeal"
    # Nothing was written.
    from gateway.app import build_app
    from gateway.settings import load_settings

    app = build_app(load_settings(settings_file), require_secrets=False)
    with app.sessions() as s:
        assert s.scalar(select(func.count(InboundMessage.id))) == 0


def test_status_and_requeue(
    monkeypatch: pytest.MonkeyPatch, settings_file: Path, capsys: Any
) -> None:
    from gateway.app import build_app, prepare
    from gateway.settings import load_settings

    assert _run_with_stdin(monkeypatch, b"", ["--settings", str(settings_file), "inject"]) == 0
    app = build_app(load_settings(settings_file))
    prepare(app)
    app.worker().run_once()
    capsys.readouterr()
    assert main(["--settings", str(settings_file), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["inbound"] == {"held": 1}
    assert list(status["held_by_reason"].values()) == [1]
    assert set(status["held_by_reason"]) <= {"empty", "no-sender", "defective"}
    assert main(["--settings", str(settings_file), "requeue", "1"]) == 0
    with app.sessions() as s:
        assert s.get(InboundMessage, 1).state == "received"
    assert main(["--settings", str(settings_file), "requeue", "1"]) == 1
    app.worker().run_once()
    with app.sessions() as s:
        assert s.get(InboundMessage, 1).state == "held"
        assert s.scalar(select(func.count(Appeal.id))) == 0
        assert s.scalar(select(func.count(OutboundMessage.id))) == 0
