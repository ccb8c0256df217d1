"""The Ukrainian postal address parser: parts, where a run ends, and what is not one."""

from __future__ import annotations

import pytest

from routing.addresses import find_addresses, normalise, parse_address, with_leading_place


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


@pytest.mark.parametrize(
    ("text", "address", "parts"),
    [
        pytest.param(
            "вул. франка, 3",
            "вул. франка, 3",
            {"street": "франка", "building": "3"},
            id="lower-case-name",
        ),
        pytest.param(
            "вул. Б.Хмельницького, 14, кв. 3",
            "вул. Б.Хмельницького, 14, кв. 3",
            {"street": "Б.Хмельницького", "building": "14", "apartment": "3"},
            id="initial-without-blank",
        ),
        pytest.param(
            "вул. 30-річчя Перемоги, 9",
            "вул. 30-річчя Перемоги, 9",
            {"street": "30-річчя Перемоги", "building": "9"},
            id="ordinal-with-ending",
        ),
        pytest.param(
            "с. Нові Липини Луцького району Волинської області",
            "с. Нові Липини Луцького району Волинської області",
            {
                "settlement": "Нові Липини",
                "raion": "Луцького району",
                "oblast": "Волинської області",
            },
            id="two-word-village-before-raion-adjective",
        ),
        pytest.param(
            "Івано-Франківськ, вул. Незалежності, 7",
            "Івано-Франківськ, вул. Незалежності, 7",
            {"settlement": "Івано-Франківськ", "street": "Незалежності", "building": "7"},
            id="hyphenated-known-city",
        ),
        pytest.param(
            "м. Київ, площадь Победы, 2",
            "м. Київ, площадь Победы, 2",
            {"settlement": "Київ", "street": "Победы", "building": "2"},
            id="longer-kind-sharing-a-start",
        ),
        pytest.param(
            "Луцька міська територіальна громада, с. Тарасове",
            "Луцька міська територіальна громада, с. Тарасове",
            {"hromada": "Луцька міська територіальна громада", "settlement": "Тарасове"},
            id="hromada",
        ),
        pytest.param(
            "смт.Ківерці, вул. Лесі Українки 12а, корп. 2, кв. 7",
            "смт.Ківерці, вул. Лесі Українки 12а, корп. 2, кв. 7",
            {
                "settlement": "Ківерці",
                "street": "Лесі Українки",
                "building": "12а",
                "block": "2",
                "apartment": "7",
            },
            id="no-blank-after-kind-bare-number",
        ),
        pytest.param(
            "Аб-Вг-Де-Єж Аб-Вг-Де-Єж Аб-Вг-Де-Єж Аб-Вг-Де-Єж узвіз, 5",
            "Аб-Вг-Де-Єж Аб-Вг-Де-Єж Аб-Вг-Де-Єж Аб-Вг-Де-Єж узвіз, 5",
            {"street": "Аб-Вг-Де-Єж Аб-Вг-Де-Єж Аб-Вг-Де-Єж Аб-Вг-Де-Єж узвіз", "building": "5"},
            id="kind-after-a-name-of-hyphenated-words",
        ),
        pytest.param(
            "с. Тарасове, Луцький р.,",
            "с. Тарасове, Луцький р.",
            {"settlement": "Тарасове", "raion": "Луцький р."},
            id="raion-abbreviated-before-comma",
        ),
    ],
)
def test_names_read_as_the_backtracking_patterns_read_them(
    text: str, address: str, parts: dict[str, str]
) -> None:
    # The cases where the old look-arounds decided the name (a word must end a word, a
    # raion's adjective is not part of the village, a kind may be the start of a longer
    # one): the scan in code that replaced them must take the same name.
    found = parse_address(text)
    assert found is not None
    assert (found.text, found.parts) == (address, parts)


def test_with_leading_place_takes_the_name_that_opens_the_line() -> None:
    line = "Нові Млини, вул. Миру, 3"
    addr = find_addresses(line)[0]
    assert addr.parts == {"street": "Миру", "building": "3"}
    widened = with_leading_place(line, addr)
    assert (widened.start, widened.text) == (0, line)
    assert widened.parts["settlement"] == "Нові Млини"
    # Not a name alone before the address: the address is left as it was.
    line = "Прошу перевірити вул. Миру, 3"
    addr = find_addresses(line)[0]
    assert with_leading_place(line, addr) == addr


# A hostile (or broken) letter: one word of 40,000 letters, 10,000 capitalised words or
# hyphen-joined parts, each a place where a name may start. The results are what an
# address parser should make of them; the time is bench/addresses_hostile.py's.
LONG_WORD = "А" + "а" * 39_999
CAPITALISED = " ".join(["Абвгд"] * 10_000)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(LONG_WORD, id="long-word"),
        pytest.param(CAPITALISED, id="capitalised-words"),
        pytest.param("Аб-" * 13_000, id="hyphen-joined"),
        pytest.param(" ".join(["Луцьк"] * 10_000), id="known-city-run"),
        pytest.param("м. " + LONG_WORD, id="settlement-kind-then-long-word"),
        pytest.param("вул. " + LONG_WORD, id="street-kind-then-long-word"),
    ],
)
def test_hostile_text_without_an_address_gives_none(text: str) -> None:
    # A word longer than any name ("м. Аааа...") is not a settlement; four names of a
    # known city in a row are one four-word name, not a city.
    assert find_addresses(text) == []


def test_hostile_text_after_an_address_does_not_change_it() -> None:
    found = find_addresses("Луцький р-н " + LONG_WORD)
    assert [(a.text, a.parts) for a in found] == [("Луцький р-н", {"raion": "Луцький р-н"})]
    for tail in (LONG_WORD, CAPITALISED, "Аб-" * 13_000):
        found = find_addresses("м. Луцьк, вул. Шевченка, 12 " + tail)
        assert [(a.text, a.parts) for a in found] == [
            (
                "м. Луцьк, вул. Шевченка, 12",
                {"settlement": "Луцьк", "street": "Шевченка", "building": "12"},
            )
        ]


def test_hostile_run_of_kinds_gives_one_address_per_kind() -> None:
    found = find_addresses("вул. Абв " * 5_000)
    assert len(found) == 5_000
    assert {a.text for a in found} == {"вул. Абв"}
    assert found[-1].start == 9 * 4_999
    found = find_addresses("с. Абв, " * 5_000)
    assert len(found) == 5_000
    assert all(a.parts == {"settlement": "Абв"} for a in found)
    # A raion may repeat (Kyiv districts), so a run of them is one long address.
    found = find_addresses("Абв р-н " * 5_000)
    assert len(found) == 1
    assert found[0].parts["raion"].count("Абв р-н") == 5_000
