"""No comment or docstring points to a document that is not in the repository: a reader
must be able to follow every reference ("GUIDE §4.5" or "issue 5" cannot be followed)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"GUIDE\s*§|\bissue\s+\d+|\bissue\s+#\d+", re.IGNORECASE)


def test_the_pattern_catches_what_it_should() -> None:
    assert OUTSIDE.search("durable (GUIDE §4.5)") and OUTSIDE.search("see issue 12")
    assert not OUTSIDE.search("issues a warning") and not OUTSIDE.search("RFC 5321 §4.5.3")


def test_code_and_settings_cite_only_what_is_here() -> None:
    found = []
    for package in ("gateway", "routing", "classifier", "models", "tests", "bench", "scripts"):
        for path in sorted((REPO / package).rglob("*")):
            if path.suffix not in (".py", ".toml", "") or not path.is_file():
                continue
            if path.name == Path(__file__).name:
                continue
            for n, line in enumerate(
                path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
            ):
                if OUTSIDE.search(line):
                    found.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    for name in ("settings.toml", "pyproject.toml"):
        text = (REPO / name).read_text(encoding="utf-8")
        found += [f"{name}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert found == []
