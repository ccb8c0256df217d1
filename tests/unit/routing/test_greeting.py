"""The salutation of letters to citizens: vocative names, the neutral fallback, English,
and recognising a department answer's own salutation."""

from __future__ import annotations

import pytest

from routing.greeting import (
    NEUTRAL_EN,
    NEUTRAL_UK,
    greeting_en,
    greeting_uk,
    greetings,
    opens_with_greeting,
    split_name,
)

# (name as routing gives it, Ukrainian greeting, English greeting)
TABLE = [
    # given name + patronymic (+ surname), any usual order
    ("Марія Іванівна Коваленко", "Шановна Маріє Іванівно!", "Dear Ms Коваленко,"),
    ("Коваленко Марія Іванівна", "Шановна Маріє Іванівно!", "Dear Ms Коваленко,"),
    ("КОВАЛЕНКО Марія Іванівна", "Шановна Маріє Іванівно!", "Dear Ms Коваленко,"),
    ("МАРІЯ ІВАНІВНА КОВАЛЕНКО", "Шановна Маріє Іванівно!", "Dear Ms Коваленко,"),
    ("Олександр Петрович Шевченко", "Шановний Олександре Петровичу!", "Dear Mr Шевченко,"),
    ("Шевченко Олександр Петрович", "Шановний Олександре Петровичу!", "Dear Mr Шевченко,"),
    ("Ольга Миколаївна Бондар", "Шановна Ольго Миколаївно!", "Dear Ms Бондар,"),
    ("Микола Іванович Ткаченко", "Шановний Миколо Івановичу!", "Dear Mr Ткаченко,"),
    ("Ілля Андрійович Ткачук", "Шановний Ілле Андрійовичу!", "Dear Mr Ткачук,"),
    ("Любов Петрівна", "Шановна Любове Петрівно!", "Dear Любов Петрівна,"),
    ("Ігор Олегович Мельник", "Шановний Ігорю Олеговичу!", "Dear Mr Мельник,"),
    ("Наталія Сергіївна Лисенко", "Шановна Наталіє Сергіївно!", "Dear Ms Лисенко,"),
    ("Євген Вікторович", "Шановний Євгене Вікторовичу!", "Dear Євген Вікторович,"),
    ("Юрій Ілліч Гнатюк", "Шановний Юрію Іллічу!", "Dear Mr Гнатюк,"),
    ("Ганна Кузьмівна", "Шановна Ганно Кузьмівно!", "Dear Ганна Кузьмівна,"),
    ("Василь Васильович Стус", "Шановний Василю Васильовичу!", "Dear Mr Стус,"),
    ("Дмитро Олександрович", "Шановний Дмитре Олександровичу!", "Dear Дмитро Олександрович,"),
    ("Тетяна Миколаївна Кравець", "Шановна Тетяно Миколаївно!", "Dear Ms Кравець,"),
    ("Андрій Ігорович", "Шановний Андрію Ігоровичу!", "Dear Андрій Ігорович,"),
    ("Федір Іванович Сидоренко", "Шановний Федоре Івановичу!", "Dear Mr Сидоренко,"),
    ("Павло Миколайович", "Шановний Павле Миколайовичу!", "Dear Павло Миколайович,"),
    # a surname ending like a patronymic, in either order
    ("Петро Іванович Мацкевич", "Шановний Петре Івановичу!", "Dear Mr Мацкевич,"),
    ("Мацкевич Петро Іванович", "Шановний Петре Івановичу!", "Dear Mr Мацкевич,"),
    # apostrophes (typewriter, typographic) and hyphens
    ("Мар'яна Степанівна Гуменюк", "Шановна Мар'яно Степанівно!", "Dear Ms Гуменюк,"),
    ("Мар’яна Степанівна", "Шановна Мар’яно Степанівно!", "Dear Мар’яна Степанівна,"),
    ("В'ячеслав Юрійович", "Шановний В'ячеславе Юрійовичу!", "Dear В'ячеслав Юрійович,"),
    ("Дар’я Олегівна", "Шановна Дар’є Олегівно!", "Dear Дар’я Олегівна,"),
    (
        "Анна-Марія Іванівна Квітка-Основ'яненко",
        "Шановна Анно-Маріє Іванівно!",
        "Dear Ms Квітка-Основ'яненко,",
    ),
    # a given name without a patronymic: пане/пані
    ("Ольга Коваленко", "Шановна пані Ольго!", "Dear Ms Коваленко,"),
    ("Коваленко Ольга", "Шановна пані Ольго!", "Dear Ms Коваленко,"),
    ("Олег Петренко", "Шановний пане Олегу!", "Dear Mr Петренко,"),
    ("В’ячеслав Шевчук", "Шановний пане В’ячеславе!", "Dear Mr Шевчук,"),
    ("Марія", "Шановна пані Маріє!", "Dear Марія,"),
    # unsure: neutral in Ukrainian
    ("Коваленко", NEUTRAL_UK, "Dear Коваленко,"),
    ("Коваленко М. І.", NEUTRAL_UK, "Dear Коваленко М. І.,"),
    ("Maria Kovalenko", NEUTRAL_UK, "Dear Maria Kovalenko,"),
    ("John Smith", NEUTRAL_UK, "Dear John Smith,"),
    ("Мария Ивановна", NEUTRAL_UK, "Dear Мария Ивановна,"),
    ("Иван Петрович Сидоров", NEUTRAL_UK, "Dear Иван Петрович Сидоров,"),
    ("Наталья Петровна", NEUTRAL_UK, "Dear Наталья Петровна,"),
    ("Сергей Иванов", NEUTRAL_UK, "Dear Сергей Иванов,"),
    ("Ольга Ивановна", NEUTRAL_UK, "Dear Ольга Ивановна,"),
    ("Петренко Іванівна", NEUTRAL_UK, "Dear Петренко Іванівна,"),  # order misread
    ("Сава Петрович", NEUTRAL_UK, "Dear Сава Петрович,"),  # the rules take Сава for feminine
    ("ОСББ «Світанок»", NEUTRAL_UK, NEUTRAL_EN),
    ("ТОВ Ромашка", NEUTRAL_UK, NEUTRAL_EN),
    ("Мешканці будинку 12 по вул. Шевченка", NEUTRAL_UK, NEUTRAL_EN),
    ("Ініціативна група", NEUTRAL_UK, NEUTRAL_EN),
    ("", NEUTRAL_UK, NEUTRAL_EN),
    (None, NEUTRAL_UK, NEUTRAL_EN),
]


@pytest.mark.parametrize(("name", "uk", "en"), TABLE)
def test_greeting_table(name: str | None, uk: str, en: str) -> None:
    assert greeting_uk(name) == uk
    assert greeting_en(name) == en
    assert greetings(name) == {"uk": uk, "en": en}


def test_table_is_large_and_varied() -> None:
    assert len(TABLE) >= 30
    assert sum(1 for _, uk, _ in TABLE if uk.startswith("Шановна")) >= 10
    assert sum(1 for _, uk, _ in TABLE if uk.startswith("Шановний")) >= 10
    assert sum(1 for _, uk, _ in TABLE if uk == NEUTRAL_UK) >= 10


def test_collective_appeal_is_greeted_neutrally() -> None:
    assert greeting_uk("Марія Іванівна Коваленко", collective=True) == NEUTRAL_UK
    assert greeting_en("Марія Іванівна Коваленко", collective=True) == NEUTRAL_EN


def test_split_name_reads_parts_and_gender() -> None:
    parts = split_name("Коваленко Марія Іванівна")
    assert parts is not None
    assert (parts.given, parts.patronymic, parts.family, parts.gender) == (
        "Марія",
        "Іванівна",
        "Коваленко",
        "feminine",
    )
    assert split_name("Коваленко") is None


@pytest.mark.parametrize(
    ("text", "greeted"),
    [
        ("Доброго дня, Маріє Іванівно!\n\nВаш двір включено до плану.", True),
        ("\n\n  Добрий день!\nВідповідаємо", True),
        ("Шановна пані Маріє!\nПовідомляємо", True),
        ("Вельмишановний Олександре Петровичу!", True),
        ("Вітаю! Ремонт буде у травні.", True),
        ("Dear Ms Kovalenko,\nThe repair is planned.", True),
        ("Hello,\nthanks", True),
        ("Ремонт двору включено до плану на травень.", False),
        ("Повідомляємо, що добрий день настане.", False),
        ("", False),
    ],
)
def test_opens_with_greeting(text: str, greeted: bool) -> None:
    assert opens_with_greeting(text) is greeted


def test_the_views_greetings_are_worked_out_on_first_read() -> None:
    from routing.greeting import Greetings

    lazy = Greetings("Коваленко Марія Іванівна")
    assert lazy._done == {}  # a department's letter never reads it: no declension
    assert lazy["uk"] == "Шановна Маріє Іванівно!"
    assert set(lazy._done) == {"uk"}
    assert dict(lazy) == greetings("Коваленко Марія Іванівна")
    with pytest.raises(KeyError):
        lazy["de"]
