"""Normalisation: apostrophes, case, Latin look-alikes, masks, digits."""

from __future__ import annotations

import pytest

from classifier.normalise import normalise_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("м’ясо", "м'ясо", id="right-single-quote"),
        pytest.param("мʼясо", "м'ясо", id="modifier-apostrophe"),
        pytest.param("м`ясо", "м'ясо", id="backtick"),
        pytest.param("ПІДʼЇЗД", "під'їзд", id="caps-and-apostrophe"),
        pytest.param("вуличнe", "вуличне", id="latin-e-in-cyrillic-word"),
        pytest.param("ЖKГ", "жкг", id="latin-K-in-cyrillic-word"),
        pytest.param("Viber", "viber", id="all-latin-word-kept"),
        pytest.param("будинок 14,  кв.   7", "будинок 0, кв. 0", id="digits-and-spaces"),
        pytest.param("Иванов XXXX XXXXXX пишет", "иванов xxx xxx пишет", id="portal-mask"),
        pytest.param("Ёлка", "елка", id="yo"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


def test_spelling_variants_become_equal() -> None:
    variants = ["Під’їзд", "підʼїзд", "ПІД'ЇЗД", "пiд'їзд"]  # the last has a Latin i
    assert len({normalise_text(v) for v in variants}) == 1
