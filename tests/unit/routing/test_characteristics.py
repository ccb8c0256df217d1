"""The Classifier's characteristics read from the facts of registration."""

from __future__ import annotations

import pytest

from routing.characteristics import (
    RegistryConfig,
    appeal_type,
    characterise,
    form_of,
    parse_result,
    sign_of,
    subject_of,
    topic_code,
)

CFG = RegistryConfig(
    topic_codes={"housing": "010", "ecology": "005"},
    default_topic_code="000",
    other_body_domains=("kmu.gov.ua", "oda.gov.ua"),
)


@pytest.mark.parametrize(
    ("text", "subject", "expected"),
    [
        ("Прошу відремонтувати дах будинку.", "Ремонт даху", "application"),
        ("Пропоную встановити лавки у сквері.", "", "proposal"),
        ("Маю зауваження до проєкту благоустрою.", "", "proposal"),
        ("Подаю скаргу на бездіяльність ЖЕКу.", "", "complaint"),
        ("Прошу розглянути.", "Скарга на дії інспектора", "complaint"),
        ("Оскаржую рішення комісії та пропоную інше.", "", "complaint"),
        ("Порушено мої права на отримання субсидії.", "", "complaint"),
        ("Предлагаю открыть новый маршрут.", "", "proposal"),
        ("Добрий день", "", "application"),
        # Complaints that never say "скарга" (Art. 3: rights violated by an official).
        ("Скаржуся на начальника ЖЕДу, який кричав на мене.", "", "complaint"),
        ("Жалуюсь на работников ЖЭКа.", "", "complaint"),
        ("Мені незаконно відмовили у реєстрації місця проживання дитини.", "", "complaint"),
        ("Вже 40 днів немає відповіді на моє звернення. Прошу покарати винних.", "", "complaint"),
        ("Не згодна з відповіддю від 02.12.", "", "complaint"),
        ("Управитель ігнорує мої листи про ремонт.", "", "complaint"),
        # Proposals in other words.
        ("Хочу запропонувати ідею: майданчик для собак.", "", "proposal"),
        ("Було б добре встановити лавки у сквері.", "", "proposal"),
        ("Рекомендую розмістити розклад на зупинках.", "", "proposal"),
        ("Вважаю за доцільне продовжити маршрут № 22.", "", "proposal"),
        # A report of a breach of the law is an application (Art. 3), not a complaint.
        ("Повідомляю про незаконну торгівлю алкоголем біля школи.", "", "application"),
        ("Прошу розглянути можливість виділення земельної ділянки.", "", "application"),
        ("Там стоит машина уже год, прошу убрать.", "", "application"),
    ],
)
def test_type(text: str, subject: str, expected: str) -> None:
    assert appeal_type(text, subject) == expected


@pytest.mark.parametrize(
    ("status", "earlier", "expected"),
    [
        ("primary", 0, "primary"),
        ("primary", 2, "multiple"),
        ("duplicate", 0, "duplicate"),
        ("repeated", 3, "repeated"),
        ("mass", 0, "mass"),
    ],
)
def test_sign(status: str, earlier: int, expected: str) -> None:
    assert sign_of(status, earlier) == expected


@pytest.mark.parametrize(
    ("signatories", "anonymous", "expected"),
    [
        (1, False, "individual"),
        (3, False, "collective"),
        (1, True, "anonymous"),
        (4, True, "anonymous"),
    ],
)
def test_subject(signatories: int, anonymous: bool, expected: str) -> None:
    assert subject_of(signatories, anonymous) == expected


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("ivan@ukr.net", "email"),
        ("zvernennia@kmu.gov.ua", "other_body"),
        ("office@lviv.oda.gov.ua", "other_body"),
        ("x@notkmu.gov.ua", "email"),
        (None, "email"),
    ],
)
def test_form(sender: str | None, expected: str) -> None:
    assert form_of(sender, CFG) == expected


@pytest.mark.parametrize(
    ("label", "expected"), [("housing", "010"), ("ecology", "005"), ("nope", "000"), (None, "000")]
)
def test_topic_code(label: str | None, expected: str) -> None:
    assert topic_code(label, CFG) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("вирішено", "resolved"),
        ("Роз'яснено", "explained"),
        ("роз’яснено", "explained"),
        ("відмовлено", "refused"),
        ("так", None),
    ],
)
def test_parse_result(word: str, expected: str | None) -> None:
    assert parse_result(word) == expected


def test_characterise_records_the_source_of_each_value() -> None:
    c = characterise(
        text="Пропонуємо облаштувати зупинку. Підписи: ...",
        subject="",
        sender="rada@oda.gov.ua",
        repeat_status="primary",
        signatories=5,
        anonymous=False,
        privileged_category="veteran",
        topic_label="housing",
        cfg=CFG,
    )
    assert (c.form, c.sign, c.type, c.subject, c.privileged_category, c.topic_code) == (
        "other_body",
        "primary",
        "proposal",
        "collective",
        "veteran",
        "010",
    )
    assert c.sources["topic_code"] == "model"
    assert c.sources["type"] == "rule"
    no_model = characterise(
        text="x",
        subject="",
        sender=None,
        repeat_status="primary",
        signatories=1,
        anonymous=False,
        privileged_category=None,
        topic_label=None,
        cfg=CFG,
    )
    assert no_model.sources["topic_code"] == "rule"
