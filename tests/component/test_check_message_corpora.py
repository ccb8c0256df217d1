"""Every message of the third-party parser corpus goes through `appeals check-message`
without a crash. Read in place; skipped when the corpora are absent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gwtest
import pytest

from gateway.cli import main


def _corpus_files() -> list[Path]:
    import os

    root = Path(os.environ.get("APPEALS_CORPORA", gwtest.REPO.parent / "shared" / "corpora"))
    parser_dir = root / "mail" / "parser"
    if not parser_dir.is_dir():
        return []
    return sorted(p for p in parser_dir.rglob("*") if p.is_file())


def test_every_parser_corpus_message_survives_check_message(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _corpus_files()
    if not files:
        pytest.skip("../shared/corpora/mail/parser not found (set APPEALS_CORPORA)")
    monkeypatch.setenv("APPEALS_TOKEN_KEY", "k")
    settings = gwtest.write_settings(tmp_path, 0, gwtest.free_port())
    rc = main(["--settings", str(settings), "check-message", "--json", *map(str, files)])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")]
    assert rc == 0
    assert len(lines) == len(files)
    failures = []
    for line in lines:
        report = json.loads(line)
        if "error" in report["parse"]:
            failures.append((report["file"], report["parse"]["error"]))
        else:
            assert report["screening"]["action"] in {
                "accept",
                "discard",
                "hold",
                "bounce",
                "autoreply",
            }
            assert isinstance(report["parse"]["text"], str)
    assert failures == []
