"""The Ukrainian postal address parser: parts, where a run ends, and what is not one."""

from __future__ import annotations

import pytest

from routing.addresses import find_addresses, normalise, parse_address


@pytest.mark.parametrize(
    ("text", "address", "parts"),
    [
        pytest.param(
            "м. Луцьк, вул. Шевченка, 12, кв. 45",
            "м. Луцьк, вул. Шевченка, 12, кв. 45",
            {"settlement": "Луцьк", "street": "Шевченка", "building": "12", "apartment": "45"},
            id="city-street-building-apartment",
        ),
        pytest.param(
            "м Луцьк вул Шевченка 12 кв 45 тел 0501234567",
            "м Луцьк вул Шевченка 12 кв 45",
            {"settlement": "Луцьк", "street": "Шевченка", "building": "12", "apartment": "45"},
            id="no-commas-no-dots-phone-after",
        ),
        pytest.param(
            "43025, Волинська обл., Луцький р-н, с. Тарасове, вул. Центральна, 5",
            "43025, Волинська обл., Луцький р-н, с. Тарасове, вул. Центральна, 5",
            {
                "postcode": "43025",
                "oblast": "Волинська обл.",
                "raion": "Луцький р-н",
                "settlement": "Тарасове",
                "street": "Центральна",
                "building": "5",
            },
            id="postcode-first-village",
        ),
        pytest.param(
            "с. Липини Луцького району",
            "с. Липини Луцького району",
            {"settlement": "Липини", "raion": "Луцького району"},
            id="village-raion-genitive",
        ),
        pytest.param(
            "г. Луцк, ул. Ленина, д. 12, кв. 45",
            "г. Луцк, ул. Ленина, д. 12, кв. 45",
            {"settlement": "Луцк", "street": "Ленина", "building": "12", "apartment": "45"},
            id="russian",
        ),
        pytest.param(
            "м. Київ, Оболонський р-н, просп. Героїв Сталінграда, 10, корп. 2, кв. 115",
            "м. Київ, Оболонський р-н, просп. Героїв Сталінграда, 10, корп. 2, кв. 115",
            {
                "settlement": "Київ",
                "raion": "Оболонський р-н",
                "street": "Героїв Сталінграда",
                "building": "10",
                "block": "2",
                "apartment": "115",
            },
            id="kyiv-district-block",
        ),
        pytest.param(
            "вул. 8 Березня, 14-А, м. Рівне, 33000",
            "вул. 8 Березня, 14-А, м. Рівне, 33000",
            {"street": "8 Березня", "building": "14-А", "settlement": "Рівне", "postcode": "33000"},
            id="ordinal-street-postcode-last",
        ),
        pytest.param(
            "м. Київ, Андріївський узвіз, 11, кв. 5",
            "м. Київ, Андріївський узвіз, 11, кв. 5",
            {
                "settlement": "Київ",
                "street": "Андріївський узвіз",
                "building": "11",
                "apartment": "5",
            },
            id="kind-after-name",
        ),
        pytest.param(
            "Луцьк, Ковельська 20, кв. 4",
            "Луцьк, Ковельська 20, кв. 4",
            {"settlement": "Луцьк", "street": "Ковельська", "building": "20", "apartment": "4"},
            id="known-city-unmarked-street",
        ),
        pytest.param(
            "вул. Шевченка, 12, кв. 45\nм. Луцьк\n43000",
            "вул. Шевченка, 12, кв. 45, м. Луцьк, 43000",
            {
                "street": "Шевченка",
                "building": "12",
                "apartment": "45",
                "settlement": "Луцьк",
                "postcode": "43000",
            },
            id="over-three-lines",
        ),
        pytest.param(
            "м. Рівне, вул. Кн. Ольги, 5, кв. 11",
            "м. Рівне, вул. Кн. Ольги, 5, кв. 11",
            {"settlement": "Рівне", "street": "Кн. Ольги", "building": "5", "apartment": "11"},
            id="abbreviated-word-in-street-name",
        ),
    ],
)
def test_parts(text: str, address: str, parts: dict[str, str]) -> None:
    found = parse_address(text)
    assert found is not None
    assert (found.text, found.parts) == (address, parts)


def test_a_sentence_ends_the_address() -> None:
    # The README sample's complaint: the house number, then the words of the sentence.
    found = find_addresses("У нашому будинку по вул. Шевченка, 12 вже третій тиждень немає води.")
    assert [a.text for a in found] == ["вул. Шевченка, 12"]
    assert [a.text for a in find_addresses("Будинок вул. Стрийська, 45 у аварійному стані")] == [
        "вул. Стрийська, 45"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "На дитячому майданчику зламана гойдалка",  # "майдан" inside a word
        "Прошу замінити лавки на бульварі.",
        "Індекс 43025",  # a lone postcode
        "Україна",
    ],
)
def test_not_addresses(text: str) -> None:
    assert find_addresses(text) == []


def test_postal_needs_a_house_or_a_village_with_its_area() -> None:
    assert parse_address("вул. Франка, 3").postal  # type: ignore[union-attr]
    assert not parse_address("вул. Франка біля школи").postal  # type: ignore[union-attr]
    assert parse_address("с. Тарасове, Луцький р-н").postal  # type: ignore[union-attr]


def test_normalise_treats_long_and_short_kinds_alike() -> None:
    assert normalise("місто Луцьк, вулиця Шопена, будинок 10, квартира 7") == normalise(
        "м. Луцьк, вул. Шопена, буд. 10, кв. 7"
    )
