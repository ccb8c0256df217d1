"""The salutation that opens a letter to a citizen, in Ukrainian and in English.

Ukrainian addresses a person in the vocative case, and an official letter uses the given
name with the patronymic: "Шановна Маріє Іванівно!", "Шановний Олександре Петровичу!".
With a given name but no patronymic the etiquette form is "пане"/"пані" with the given
name in the vocative ("Шановна пані Маріє!"). Names are declined and their grammatical
gender detected by the `shevchenko` package (rules of Ukrainian declension for given
names, patronymics and surnames).

A wrong vocative is worse than none, so whenever the name is not clearly a Ukrainian
person's name in a form the rules decline, the greeting is the neutral "Добрий день!":
only a surname or initials, Latin letters, Russian forms ("Мария Ивановна", "Сергей"),
an organisation, a collective appeal, or a given name whose gender disagrees with the
patronymic's. English letters say "Dear Ms/Mr <Surname>," when the gender and surname are
known, "Dear <Name>," for another person's name, and "Dear Sir or Madam," otherwise.

`opens_with_greeting` tells whether a text (a department's answer) already starts with a
salutation of its own, so a relayed answer does not greet the citizen twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal

import saferegex as re

Gender = Literal["masculine", "feminine"]

NEUTRAL_UK = "Добрий день!"
NEUTRAL_EN = "Dear Sir or Madam,"

# Letters of the Ukrainian alphabet: ы, э, ё, ъ are not among them, so a word with one of
# them is Russian and is never declined by Ukrainian rules.
_UK_UP = "АБВГҐДЕЄЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЬЮЯ"
_UK_LO = _UK_UP.lower()
_APOS = "'’ʼ"
# One capitalised word, or two joined by a hyphen ("Анна-Марія", "Квітка-Основ'яненко").
_PART = rf"[{_UK_UP}][{_UK_LO}{_APOS}]+"
_WORD = re.compile(rf"^{_PART}(?:-{_PART})?$")
# Surnames are often written in capitals in Ukrainian documents ("КОВАЛЕНКО Марія").
_CAPS_WORD = re.compile(rf"^[{_UK_UP}][{_UK_UP}{_APOS}]{{2,}}(?:-[{_UK_UP}{_APOS}]{{2,}})?$")
_LATIN_NAME = re.compile(r"^[A-Z][A-Za-z'’.-]*$")
_INITIAL = re.compile(rf"^(?:[{_UK_UP}A-Z]\.){{1,2}}$")

# Ukrainian patronymics: -ович/-йович (Петрович, Андрійович), -ич for a few names (Ілліч,
# Кузьмич, Лукич, Савич, Хомич); feminine -івна/-ївна (Іванівна, Миколаївна). Russian
# ones end in -евич/-еевич/-ьевич and -овна/-евна/-ична and are not Ukrainian forms.
_PATRONYMIC_M = re.compile(r"(?:ович|ич|іч)$")
_PATRONYMIC_F = re.compile(r"(?:івна|ївна)$")
_RUSSIAN_PATRONYMIC = re.compile(r"(?:евич|овна|евна|ична)$")
_RUSSIAN_FEMININE_PATRONYMIC = re.compile(r"(?:овна|евна|ична)$")
# Russian forms of given names: "Мария", "Наталья", "Сергей", "Юрий", "Иван", "Игорь".
# Ukrainian writes -ія (Марія), an apostrophe rather than ь before я (Дар'я), -ій
# (Сергій, Юрій), and its names do not begin with И (Іван, Ігор, Ірина).
_RUSSIAN_GIVEN = re.compile(r"(?:^И|ия$|ь[яюеи]|ей$|ий$)")

# Common Ukrainian given names: with no patronymic beside it, a word is taken for a given
# name only if it is one of these (a surname alone says nothing sure about its bearer's
# gender, and "Коваленко" would otherwise be declined as a man's given name).
_GIVEN_NAMES_TEXT = """
    Адам Анатолій Андрій Антон Аркадій Арсен Артем Артур Богдан Борис Вадим Валентин
    Валерій Василь Веніамін Віктор Віталій Владислав Володимир Всеволод В'ячеслав Гліб
    Григорій Давид Данило Денис Дмитро Євген Єгор Зіновій Іван Ігор Ілля Йосип Кирило
    Костянтин Леонід Лев Максим Марко Матвій Микита Микола Мирон Михайло Назар Олег
    Олександр Олексій Остап Павло Петро Роман Ростислав Руслан Святослав Семен Сергій
    Станіслав Степан Тарас Тимофій Тимур Федір Юліан Юрій Яків Ярослав
    Аліна Алла Анастасія Ангеліна Анна Антоніна Валентина Валерія Вероніка Віра
    Вікторія Галина Ганна Дар'я Діана Євгенія Єлизавета Жанна Зоряна Зоя Інна Ірина
    Катерина Лариса Леся Лідія Любов Людмила Марина Марія Мар'яна Мирослава Надія
    Наталія Наталя Ніна Оксана Олена Олеся Ольга Поліна Раїса Світлана Софія Соломія
    Таїсія Тамара Тетяна Уляна Христина Юлія Ярослава
"""
GIVEN_NAMES = frozenset(_GIVEN_NAMES_TEXT.split())

# Abbreviations and words that mark an organisation or a group, not one person.
_ORGANISATION = re.compile(
    r"(?:^|\s)(?:ОСББ|ТОВ|ПП|ГО|КП|ПАТ|ПрАТ|АТ|ОСН|БО|ЖБК|ФОП|ЛТД|LLC|Ltd|Inc|GmbH)(?:\s|$|[.,])"
    r"|[«»\"“”„0-9]"
    r"|мешканц|жител|громад|ініціативн|управлінн|компані|товариств|об'єднанн|об’єднанн",
    re.IGNORECASE,
)

# A department's answer that begins with its own salutation ("Доброго дня, Маріє
# Іванівно!", "Шановний пане Олеже!", "Dear Ms Kovalenko,") needs none from us.
_OPENING = re.compile(
    r"^(?:вельми)?шановн|^доброго\s+(?:дня|ранку|вечора)|^добр(?:ий|ого)\s+(?:день|ранок|вечір)"
    r"|^добридень|^вітаю|^вітаємо|^здрастуйте|^здоровенькі|^добрый\s+день|^здравствуйте"
    r"|^уважаем|^(?:dear|hello|hi|good\s+(?:morning|afternoon|evening)|greetings)(?:\W|$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NameParts:
    """A citizen's name split into its parts as written (nominative)."""

    given: str | None
    patronymic: str | None
    family: str | None
    gender: Gender | None


def _apostrophes(s: str) -> str:
    return s.replace("’", "'").replace("ʼ", "'")


def _tokens(name: str) -> list[str]:
    words = name.strip().strip("\"'«»“” ").rstrip(",;!").split()
    # A final full stop ends the sentence unless it ends an initial ("Коваленко М. І.").
    if words and words[-1].endswith(".") and not _INITIAL.match(words[-1]):
        words[-1] = words[-1].rstrip(".")
    return [w for w in words if w]


def _ukrainian_word(w: str) -> bool:
    return bool(_WORD.match(w)) and not _RUSSIAN_GIVEN.search(w)


def _given_gender(word: str) -> Gender | None:
    from shevchenko import detect_gender  # imported on use: ~70 ms to load its rules

    found = detect_gender({"givenName": word})["gender"]
    return None if found is None else found.value


def _patronymic_gender(word: str) -> Gender | None:
    if _RUSSIAN_PATRONYMIC.search(word) or not _WORD.match(word):
        return None
    if _PATRONYMIC_F.search(word):
        return "feminine"
    if _PATRONYMIC_M.search(word) and not word.startswith("И"):
        return "masculine"
    return None


def _with_patronymic(given: str, patronymic: str, family: str | None) -> NameParts | None:
    gender = _patronymic_gender(patronymic)
    if gender is None or not _ukrainian_word(given):
        return None
    if family is not None and not (_WORD.match(family) or _CAPS_WORD.match(family)):
        return None
    # A given name whose own gender contradicts the patronymic is not a given name here
    # (the order of the words was misread), or is one the rules get wrong: no vocative.
    own = _given_gender(given)
    if own is not None and own != gender:
        return None
    return NameParts(given, patronymic, family, gender)


def split_name(name: str | None) -> NameParts | None:
    """The parts of a Ukrainian person's name in any usual order ("Марія Іванівна
    Коваленко", "Коваленко Марія Іванівна", "Марія Коваленко", "Марія Іванівна"), or None
    when it is not one we can be sure of."""
    if not name or _ORGANISATION.search(name):
        return None
    words = _tokens(name)
    if not 1 <= len(words) <= 3:
        return None
    if all(w.isupper() for w in words):
        # A name typed in capitals ("МАРІЯ ІВАНІВНА КОВАЛЕНКО") is greeted as it is
        # written in a sentence.
        words = [_as_written(w) for w in words]
    if len(words) == 3:
        # Given-patronymic-surname first, then surname-given-patronymic (the order of
        # Ukrainian forms and signatures).
        return _with_patronymic(words[0], words[1], words[2]) or _with_patronymic(
            words[1], words[2], words[0]
        )
    if len(words) == 2:
        if _patronymic_gender(words[1]) is not None:
            return _with_patronymic(words[0], words[1], None)
        known = [w for w in words if _apostrophes(w) in GIVEN_NAMES]
        if len(known) != 1:
            return None
        given = known[0]
        family = words[1] if words[0] == given else words[0]
        # "Ольга Ивановна": the other word is a Russian patronymic, not a surname.
        if _RUSSIAN_FEMININE_PATRONYMIC.search(family):
            return None
        if not (_WORD.match(family) or _CAPS_WORD.match(family)):
            return None
        return _given_only(given, family)
    return _given_only(words[0], None) if _apostrophes(words[0]) in GIVEN_NAMES else None


def _given_only(given: str, family: str | None) -> NameParts | None:
    gender = _given_gender(given)
    return NameParts(given, None, family, gender) if gender is not None else None


def _vocative(parts: NameParts) -> str:
    from shevchenko import in_vocative  # imported on use, as in _given_gender

    assert parts.gender is not None
    data = {"gender": parts.gender, "givenName": parts.given}
    if parts.patronymic:
        data["patronymicName"] = parts.patronymic
    out = in_vocative(data)
    return " ".join(x for x in (out.get("givenName"), out.get("patronymicName")) if x)


def greeting_uk(name: str | None, *, collective: bool = False) -> str:
    parts = None if collective else split_name(name)
    if parts is None or parts.gender is None:
        return NEUTRAL_UK
    adjective = "Шановна" if parts.gender == "feminine" else "Шановний"
    if parts.patronymic:
        return f"{adjective} {_vocative(parts)}!"
    title = "пані" if parts.gender == "feminine" else "пане"
    return f"{adjective} {title} {_vocative(parts)}!"


def _person_like(words: list[str]) -> bool:
    latin = all(_LATIN_NAME.match(w) for w in words)
    cyrillic = all(
        _WORD.match(w) or _CAPS_WORD.match(w) or _INITIAL.match(w) or _RUSSIAN_WORD.match(w)
        for w in words
    )
    return 1 <= len(words) <= 4 and (latin or cyrillic)


_RUSSIAN_WORD = re.compile(r"^[А-ЯЁІЇЄҐ][а-яёіїєґ'’ʼ]+(?:-[А-ЯЁІЇЄҐ][а-яёіїєґ'’ʼ]+)?$")


def _as_written(family: str) -> str:
    """A surname written in capitals ("КОВАЛЕНКО") as a name is written in a sentence."""
    if not family.isupper():
        return family
    return "-".join(part.capitalize() for part in family.split("-"))


def greeting_en(name: str | None, *, collective: bool = False) -> str:
    if collective or not name or _ORGANISATION.search(name):
        return NEUTRAL_EN
    parts = split_name(name)
    if parts is not None and parts.gender is not None:
        if parts.family:
            title = "Ms" if parts.gender == "feminine" else "Mr"
            return f"Dear {title} {_as_written(parts.family)},"
        return f"Dear {' '.join(w for w in (parts.given, parts.patronymic) if w)},"
    words = _tokens(name)
    return f"Dear {' '.join(words)}," if _person_like(words) else NEUTRAL_EN


def greetings(name: str | None, *, collective: bool = False) -> dict[str, str]:
    """The salutation line of a letter to this citizen, by the letter's language."""
    return dict(Greetings(name, collective=collective))


class Greetings(Mapping[str, str]):
    """`greetings` worked out when a template first reads one: the same view of an appeal
    renders the department's letters too (reminders by the thousand), which never greet
    the citizen, and declining a name costs about 0.08 ms."""

    _BY_LANGUAGE: ClassVar[Mapping[str, Callable[..., str]]] = MappingProxyType(
        {"uk": greeting_uk, "en": greeting_en}
    )

    def __init__(self, name: str | None, *, collective: bool = False) -> None:
        self._name = name
        self._collective = collective
        self._done: dict[str, str] = {}

    def __getitem__(self, language: str) -> str:
        if language not in self._done:
            make = self._BY_LANGUAGE[language]  # KeyError for a language we do not write
            self._done[language] = make(self._name, collective=self._collective)
        return self._done[language]

    def __iter__(self) -> Iterator[str]:
        return iter(self._BY_LANGUAGE)

    def __len__(self) -> int:
        return len(self._BY_LANGUAGE)


def opens_with_greeting(text: str) -> bool:
    """Whether the first line of `text` is a salutation of its own."""
    for line in text.splitlines():
        if line.strip():
            return bool(_OPENING.match(line.strip()))
    return False
