"""Phone numbers found with phonenumbers (Ukraine by default) and shown the Ukrainian way."""

from __future__ import annotations

import pytest

from routing.phones import find_phones, normalise


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("+380 67 765 43 21", "+380 67 765 43 21"),
        ("+38 (067) 765-43-21", "+380 67 765 43 21"),
        ("067 765 43 21", "+380 67 765 43 21"),
        ("0677654321", "+380 67 765 43 21"),
        ("(0332) 72-45-67", "+380 332 72 45 67"),
        ("(044) 234-56-78", "+380 44 234 56 78"),
    ],
)
def test_shapes(written: str, shown: str) -> None:
    found = find_phones(f"Мій телефон {written}, дзвоніть.")
    assert [p.display for p in found] == [shown]
    assert found[0].raw == written.strip()


def test_several_and_no_false_numbers() -> None:
    text = (
        "43025, м. Луцьк, вул. Шевченка, 12, кв. 45, 12.03.2026, тел. 050 123 45 67, 067-765-43-21"
    )
    assert [p.e164 for p in find_phones(text)] == ["+380501234567", "+380677654321"]


def test_normalise() -> None:
    assert normalise("050 123 45 67") == "+380501234567"
    assert normalise("12345") is None
