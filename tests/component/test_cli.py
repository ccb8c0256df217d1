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
    assert report["citizen"]["address"] == "м. Луцьк, вул. Ковельська, 20, кв. 4"
    assert report["citizen"]["evidence"]["address"] == {"how": "labelled", "sure": "certain"}
    assert report["citizen"]["evidence"]["name"] == {"how": "header", "sure": "unsure"}
    # Nothing was written.
    from gateway.app import build_app
    from gateway.settings import load_settings

    app = build_app(load_settings(settings_file), require_secrets=False)
    with app.sessions() as s:
        assert s.scalar(select(func.count(InboundMessage.id))) == 0


def test_check_message_shows_the_delivery_path_oldest_hop_first(
    settings_file: Path, tmp_path: Path, capsys: Any
) -> None:
    # As the council's Postfix delivers a letter from ukr.net: its own hop on top.
    received = (
        b"Received: from mx.ukr.net (mx.ukr.net [212.42.75.1]) by mail.council.example"
        b" (Postfix) with ESMTPS id 4A1B2 for <social@council.example>;"
        b" Tue, 1 Dec 2026 09:31:12 +0200\r\n"
        b"Received: from [10.0.0.5] (unknown [91.200.1.2]) by mx.ukr.net with ESMTPSA"
        b" id abc; Tue, 1 Dec 2026 09:30:05 +0200\r\n"
    )
    eml = tmp_path / "a.eml"
    eml.write_bytes(received + _appeal())
    assert main(["--settings", str(settings_file), "check-message", str(eml), "--json"]) == 0
    hops = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["delivery"]
    assert [h["by"] for h in hops] == ["mx.ukr.net", "mail.council.example (Postfix)"]
    assert hops[1]["date_utc"] == "2026-12-01T07:31:12+00:00"
    assert hops[1]["delay"] == 67.0


# A Ukrainian appeal as an old client wrote it in UTF-7 (RFC 2152), with a broken surrogate
# pair: "+2D0-" is the high half of an emoji without its low half, in the subject and text.
UTF7_APPEAL = (
    b"From: =?utf-7?Q?+BB4EOgRBBDAEPQQw-?= <oksana@example.org>\r\n"
    b"To: social@council.example\r\n"
    b"Subject: =?utf-7?Q?+BBcEMARPBDIEMA-+2D0-?=\r\n"
    b"Message-ID: <u7-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=UTF-7\r\n\r\n"
    b"+BB8EQAQ+BEgEQw- +BEAEPwQ3BE8EQQQ9BDgEQgQ4- +BD8EPgRABE8ENDQ+BDo- +2D0-\r\n"
)


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_check_message_survives_lone_surrogates(
    tmp_path: Path, settings_file: Path, as_json: bool
) -> None:
    # The real command in its own process: stdout is a strict UTF-8 stream, as an admin's
    # terminal or a pipe to jq is.
    import subprocess

    bad, good = tmp_path / "utf7.eml", tmp_path / "good.eml"
    bad.write_bytes(UTF7_APPEAL)
    good.write_bytes(_appeal())
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "--settings",
            str(settings_file),
            "check-message",
            str(bad),
            str(good),
            *(["--json"] if as_json else []),
        ],
        capture_output=True,
        env={
            "APPEALS_TOKEN_KEY": "cli-test-key",
            "PYTHONPATH": str(gwtest.REPO),
            "PATH": "/usr/bin",
            "PYTHONIOENCODING": "utf-8:strict",
        },
        cwd=gwtest.REPO,
        timeout=120,
    )
    out = done.stdout.decode("utf-8")  # strict: no lone surrogate, no mojibake
    assert done.returncode == 0, out + done.stderr.decode("utf-8", "replace")
    if as_json:
        first, second = (json.loads(line) for line in out.strip().splitlines()[-2:])
        assert first["parse"]["subject"] == "Заява\ufffd"
        assert "\ufffd" in first["parse"]["text"]
        assert first["screening"]["action"] == "accept"
        assert second["parse"]["subject"] == "Субсидія"
    else:
        assert f"== {bad}" in out and f"== {good}" in out
        assert "Заява\ufffd" in out


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
