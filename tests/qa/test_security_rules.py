"""Every rule of docs/security.md (T1..Tn) has at least one test named after it
(`test_t<n>_...`, or `test_t<m>_t<n>_...` for a test of several), and every such test
name points at a rule that exists."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _rules() -> list[int]:
    text = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    return [int(n) for n in re.findall(r"^\*\*T(\d+)\. ", text, re.MULTILINE)]


def _tested() -> set[int]:
    found: set[int] = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        for name in re.findall(r"^def (test_(?:t\d+_)+)", path.read_text(encoding="utf-8"), re.M):
            found |= {int(n) for n in re.findall(r"t(\d+)_", name)}
    return found


def test_rules_are_numbered_one_after_another() -> None:
    rules = _rules()
    assert rules and rules == list(range(1, len(rules) + 1))


def test_every_rule_has_a_test_and_every_rule_test_a_rule() -> None:
    rules, tested = set(_rules()), _tested()
    assert rules - tested == set(), "rules without a test"
    assert tested - rules == set(), "tests named after rules that do not exist"
