"""Quote stripping for the clients people use (uk/ru fixtures with golden files) and
staff commands on the first lines of a reply."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.intake.parsing import parse
from routing.quotes import extract_commands, split_reply

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "replies"


@pytest.mark.parametrize("eml", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.stem)
def test_reply_text_matches_golden_file(eml: Path) -> None:
    p = parse(eml.read_bytes())
    parts = split_reply(p.text, p.html)
    assert (
        parts.reply_text.split() == eml.with_suffix(".expected").read_text(encoding="utf-8").split()
    )
    assert parts.quoted  # the history was found, not just dropped


def test_signature_is_separated() -> None:
    parts = split_reply("Відповідь по суті.\n\nЗ повагою,\nІван Майстренко\nтел. 0332 123456")
    assert parts.new_text == "Відповідь по суті."
    assert parts.signature.startswith("З повагою,")


def test_bottom_posting() -> None:
    parts = split_reply("On 04/02/2026 06:26 PM, Megan wrote:\n> Hi\nHello there")
    assert parts.new_text == "Hello there"


def test_html_reply_cut_at_gmail_quote() -> None:
    html = (
        '<div>Готово.</div><div class="gmail_quote"><div>пн, 23 лист. о 10:15 X пише:</div>'
        "<blockquote>Текст</blockquote></div>"
    )
    parts = split_reply("", html)
    assert parts.new_text == "Готово." and "Текст" in parts.quoted


@pytest.mark.parametrize(
    ("text", "commands", "rest"),
    [
        pytest.param(
            "#interim\nПроміжна відповідь", [("interim", [])], "Проміжна відповідь", id="interim"
        ),
        pytest.param(
            "\n\n#EXTEND 10 потрібна експертиза\nТекст",
            [("extend", ["10", "потрібна", "експертиза"])],
            "Текст",
            id="extend-case-insensitive",
        ),
        pytest.param("#redirect social\n", [("redirect", ["social"])], "", id="redirect"),
        pytest.param(
            "#external rda@example.gov.ua не наша компетенція",
            [("external", ["rda@example.gov.ua", "не", "наша", "компетенція"])],
            "",
            id="external",
        ),
        pytest.param("Текст\n#interim", [], "Текст\n#interim", id="only-at-the-start"),
        pytest.param("#щосьнове", [("щосьнове", [])], "", id="unknown-kept-by-name"),
    ],
)
def test_extract_commands(text: str, commands: list, rest: str) -> None:
    got, remaining = extract_commands(text)
    assert [(c.name, c.args) for c in got] == commands
    assert remaining == rest
