"""`appeals replay`: every message of a folder ends in a recorded state and none in
`crash`, on the project's own fixtures and on the third-party corpora (read in place,
skipped with a message when absent); and a broken gateway is reported as broken."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gwtest
import pytest
from conftest import corpora_dir

from gateway.cli import main
from gateway.commands.replay import replay

FIXTURES = gwtest.REPO / "tests" / "fixtures" / "mail"


def _settings(tmp_path: Path, **patch: Any) -> Path:
    return gwtest.write_settings(tmp_path, 0, gwtest.free_port(), **patch)


def test_the_projects_own_letters_all_end_in_a_recorded_state(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APPEALS_TOKEN_KEY", raising=False)  # replay makes its own key
    rc = main(
        [
            "--settings",
            str(_settings(tmp_path)),
            "replay",
            "--consider-all",
            "--json",
            str(FIXTURES),
        ]
    )
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and report["ok"] is True
    files = len([p for p in FIXTURES.rglob("*") if p.is_file()])
    assert report["files"] == files
    assert sum(report["inbound"].values()) == files - report["duplicates"]
    assert not [k for k in report["inbound"] if k.endswith("/crash")]
    assert report["inbound"].get("processed/registered", 0) > 0
    assert report["outbound"].get("sent", 0) > 0  # the letters were built and sent


@pytest.mark.parametrize("corpus", ["parser", "replies", "bounces"])
def test_every_corpus_message_ends_in_a_recorded_state(tmp_path: Path, corpus: str) -> None:
    folder = corpora_dir() / "mail" / corpus
    if not folder.is_dir():
        pytest.skip(f"{folder} not found (third-party corpora; set APPEALS_CORPORA)")
    report = replay(_settings(tmp_path), [str(folder)], consider_all=True)
    assert report.failed == [] and report.ok
    assert sum(report.inbound.values()) == report.files - report.duplicates


def test_a_gateway_that_cannot_write_letters_is_reported_not_ok(tmp_path: Path) -> None:
    # Templates that do not exist: every registration fails while queueing its letters.
    empty = tmp_path / "no-templates"
    empty.mkdir()
    settings = _settings(tmp_path, paths={"templates": str(empty)})
    report = replay(settings, [str(FIXTURES)], consider_all=True)
    assert not report.ok
    assert report.failed and {reason for _, reason, _ in report.failed} == {"crash"}
