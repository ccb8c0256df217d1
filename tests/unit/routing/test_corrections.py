"""Reading the values of staff corrections (`#type`, `#category`, ... and `appeals appeal
set`): Ukrainian, English and Russian words, apostrophes as keyboards type them."""

from __future__ import annotations

import pytest

from routing.corrections import Correction, CorrectionError, parse


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("type", "скарга", "complaint"),
        ("type", "Пропозиція.", "proposal"),
        ("type", "заявление", "application"),
        ("type", "complaint", "complaint"),
        ("sign", "повторне", "repeated"),
        ("sign", "MASS", "mass"),
        ("subject", "колективне", "collective"),
        ("form", "через інший орган", "other_body"),
        ("form", "other-body", "other_body"),
        ("category", "учасник бойових дій", "combat_veteran"),
        ("category", "Особа з інвалідністю", "disability"),
        ("category", "багатодітна сім’я", "large_family"),
        ("category", "УБД", "combat_veteran"),
        ("category", "немає", None),
        ("topic-code", "016.2", "016.2"),
        ("topic_code", "010", "010"),
    ],
)
def test_values_are_read(field: str, value: str, expected: str | None) -> None:
    assert parse(field, value).value == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "прохання"),
        ("sign", ""),
        ("category", "пенсіонер"),
        ("topic-code", "ЖКГ"),
        ("colour", "red"),
    ],
)
def test_unknown_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(CorrectionError):
        parse(field, value)


def test_field_names_are_normalised() -> None:
    assert parse("Topic_Code", "002") == Correction("topic-code", "002")
