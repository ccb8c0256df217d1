"""The address resolver: the district of the street a letter names, with the spellings
people use, split streets by house ranges, and no guess from a street named like a
district."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.streets import (
    AddressResolver,
    Observation,
    RegisterError,
    StreetRegister,
    load_register,
    named_district,
)

DISTRICTS = ("Галицький", "Залізничний", "Личаківський", "Франківський", "Шевченківський")
REGISTER_CSV = """street,kind,aliases,district,from_house,to_house,parity
Городоцька,вулиця,Городокская,Галицький,1,79,
Городоцька,вулиця,Городокская,Залізничний,80,,
Шевченка,проспект,Тараса Шевченка,Галицький,,,
Шевченка,вулиця,Шевченко,Шевченківський,1,,odd
Шевченка,вулиця,Шевченко,Залізничний,2,,even
Івана Франка,вулиця,Франка;Франко,Галицький,,,
Генерала Чупринки,вулиця,Чупринки;Пушкіна,Франківський,,,
Наукова,вулиця,Научная,Франківський,,,
Замарстинівська,вулиця,,Шевченківський,,,
Хмельницького,вулиця,Богдана Хмельницького,Шевченківський,,,
Личаківська,вулиця,,Личаківський,,,
"""


@pytest.fixture
def resolver(tmp_path: Path) -> AddressResolver:
    path = tmp_path / "streets.csv"
    path.write_text(REGISTER_CSV, encoding="utf-8")
    return AddressResolver(load_register(path, DISTRICTS), DISTRICTS)


@pytest.mark.parametrize(
    ("text", "district"),
    [
        pytest.param("вул. Наукова, 7", "Франківський", id="abbreviation"),
        pytest.param("вул.Наукова,7а", "Франківський", id="no-spaces"),
        pytest.param("м. Львів, вулиця Наукова, буд. 7, кв. 3", "Франківський", id="full"),
        pytest.param("Наукова вул., буд. 35", "Франківський", id="kind-after-name"),
        pytest.param("Біля будинку на вулиці Науковій, 35 сміття", "Франківський", id="locative"),
        pytest.param("г. Львов, ул. Научная, д. 7", "Франківський", id="russian-alias"),
        pytest.param("ул. Замарстыновская 134", "Шевченківський", id="russian-letters"),
        pytest.param("вул. Пушкіна 40", "Франківський", id="renamed-old-name"),
        pytest.param("вул. Ген. Чупринки 71/3", "Франківський", id="abbreviated-title"),
        pytest.param("вул. Замарстинівсьа 55", "Шевченківський", id="typo-dropped-letter"),
        pytest.param("вул. Личаквська 8", "Личаківський", id="typo-missing-vowel"),
        pytest.param("вул. Городоцька, 12", "Галицький", id="split-low-range"),
        pytest.param("вул. Городоцька, 174, кв 8", "Залізничний", id="split-high-range"),
        pytest.param("ул. Городокская, д. 80", "Залізничний", id="split-range-edge-russian"),
        pytest.param("вул. Шевченка 15", "Шевченківський", id="split-odd-side"),
        pytest.param("вул. Шевченка 16", "Залізничний", id="split-even-side"),
        pytest.param("просп. Шевченка, 7", "Галицький", id="street-named-like-a-district"),
        pytest.param("вул. Франка 12", "Галицький", id="franka-is-not-frankivskyi"),
        pytest.param("Городоцька 79", "Галицький", id="no-kind-word"),
        pytest.param("Не світить ліхтар. Наукова 48.", "Франківський", id="no-kind-after-a-stop"),
        pytest.param("Б.Хмельницького 176", "Шевченківський", id="initial-and-no-kind"),
        pytest.param(
            "З повагою,\nПетро Іваненко\nвул. Наукова 7/2, кв. 15\nтел. 067 000 00 00",
            "Франківський",
            id="signature",
        ),
    ],
)
def test_resolves_the_district(resolver: AddressResolver, text: str, district: str) -> None:
    found = resolver.resolve(text)
    assert found.district == district, found
    assert 0.5 <= found.confidence <= 1


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("вул. Хрещатик, 22", id="unknown-street"),
        pytest.param("Франківська вул., 10", id="unknown-street-named-like-a-district"),
        pytest.param("Шевченківський пров., 3", id="lane-named-like-a-district"),
        pytest.param("вул. Городоцька", id="split-street-without-a-house"),
        pytest.param("Прошу відремонтувати дорогу біля школи", id="no-address"),
    ],
)
def test_no_district_rather_than_a_guess(resolver: AddressResolver, text: str) -> None:
    assert resolver.resolve(text).district is None


def test_split_street_without_a_house_says_it_is_ambiguous(resolver: AddressResolver) -> None:
    found = resolver.resolve("вул. Городоцька")
    assert (found.how, found.confidence, found.street) == ("ambiguous", 0.0, "Городоцька")


def test_a_typo_is_less_sure_than_the_exact_name(resolver: AddressResolver) -> None:
    exact, typo = resolver.resolve("вул. Личаківська 8"), resolver.resolve("вул. Личаквська 8")
    assert exact.district == typo.district == "Личаківський"
    assert (exact.how, typo.how) == ("street", "fuzzy")
    assert typo.confidence < exact.confidence


def test_the_citizens_address_comes_before_streets_in_the_text(
    resolver: AddressResolver,
) -> None:
    found = resolver.resolve("Яма на вул. Личаківська біля 8", address="вул. Наукова 7")
    assert found.district == "Франківський"


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("Проживаю у Франківському районі", "Франківський"),
        ("Шевченківський р-н, біля ринку", "Шевченківський"),
        ("Московский проспект, д. 5", None),
        ("вулиця Шевченківська, 3", None),
    ],
)
def test_a_district_is_named_only_beside_the_word_district(text: str, district: str | None) -> None:
    assert named_district(text, (*DISTRICTS, "Московский")) == district


def test_learned_streets_fill_what_the_register_lacks(resolver: AddressResolver) -> None:
    history = [
        Observation("street", "Пекарська", 10, "Личаківський"),
        Observation("street", "Пекарська", 12, "Личаківський"),
        Observation("street", "Пекарська", 120, "Галицький"),
        Observation("street", "Пекарська", 122, "Галицький"),
    ]
    asked: list[list[str]] = []

    def learned(keys: object) -> list[Observation]:
        asked.append(list(keys))  # type: ignore[call-overload]
        return history

    near_low = resolver.resolve("вул. Пекарська 14", learned=learned)
    near_high = resolver.resolve("вул. Пекарська, 118", learned=learned)
    assert (near_low.district, near_low.how) == ("Личаківський", "learned")
    assert near_high.district == "Галицький"
    assert asked and all("пекарск" in keys for keys in asked)
    # The council's register still decides the streets it has.
    assert resolver.resolve("вул. Наукова 1", learned=learned).how == "street"


def test_learned_street_of_one_district_is_sure_of_it() -> None:
    register = StreetRegister()
    for house in (3, 5, 9, 40):
        register.observe("avenue", "Московский", house, "Московский")
    found = AddressResolver(register).resolve("Московский пр., д. 200")
    assert found.district == "Московский" and found.confidence >= 0.85


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("Наукова,вулиця,,Сихівський,,,", "unknown district"),
        ("Наукова,алея-х,,Франківський,,,", "unknown street kind"),
        ("Наукова,вулиця,,Франківський,1а,,", "is not a number"),
        ("Наукова,вулиця,,Франківський,,,both", "parity"),
    ],
)
def test_a_malformed_register_names_the_row(tmp_path: Path, row: str, problem: str) -> None:
    path = tmp_path / "streets.csv"
    path.write_text(REGISTER_CSV.splitlines()[0] + "\n" + row + "\n", encoding="utf-8")
    with pytest.raises(RegisterError, match=problem) as err:
        load_register(path, DISTRICTS)
    assert "streets.csv:2" in str(err.value)
