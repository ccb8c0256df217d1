"""Ukrainian postal addresses in free text: where one is written and what it consists of.

An address is read as a run of parts separated by commas or spaces, in any order people
write them: postcode (5 digits, first or last), country, oblast ("Волинська обл."),
raion ("Луцький р-н", a Kyiv district "Оболонський район"), territorial community, the
settlement with its kind ("м.", "місто", "смт", "с.", "село"; Russian "г.", "пгт"), the
street with its kind ("вул.", "просп.", "пр-т", "пров.", "бульв.", "б-р", "пл.", "узвіз",
"шосе", "наб."; Russian "ул.", "пер."), the building ("12", "12-А", "12/3", "буд. 12",
"д. 12"), the block ("корп. 2") and the apartment ("кв. 45", "квартира 45"). The run
ends at the first thing that is none of these: a phone ("тел. ..."), an e-mail, or the
words of a sentence ("вул. Шевченка, 12 вже третій тиждень ...").

The kinds are the abbreviations people write in letters (the labelled letters in
bench/data/contacts_labelled.jsonl show them); a settlement written without its kind is
taken only when it is one of the cities in `_KNOWN_CITIES`, or stands first on its line
before a street (`with_leading_place`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_UP = "А-ЯІЇЄҐЁA-Z"
_LO = "а-яіїєґёa-z'’ʼ`"
_CAP = rf"[{_UP}][{_LO}{_UP}]*(?:-[{_UP}{_LO}][{_LO}{_UP}]*)*"
_ANY = rf"[{_UP}{_LO}][{_LO}{_UP}]*(?:-[{_UP}{_LO}][{_LO}{_UP}]*)*"
# "Т. Шевченка", "Б.Хмельницького", "Кн. Ольги", "Св. Миколая": an abbreviated word.
_INITIAL = rf"[{_UP}][{_LO}]{{0,2}}\.[ \t]?"
# "8 Березня", "30-річчя Перемоги", "1-го Травня": a number that starts a street's name.
_ORD = rf"\d{{1,3}}(?:-?[{_LO}]+)?[ \t]+"
# A word of a name ends a word, and is not the adjective of a raion or oblast that follows
# ("с. Липини Луцького району": the village is "Липини").
_UNIT_AFTER = r"(?![ \t]+(?:р-н|р-ну|район|обл\.|обл\b|област|ТГ\b|громад|міськ|сільськ|селищн))"
_WORD = rf"{_CAP}(?![{_LO}{_UP}-]){_UNIT_AFTER}"
_NAME = rf"(?:{_ORD})?(?:{_INITIAL}){{0,2}}{_WORD}(?:[ \t]+(?:{_INITIAL}){{0,2}}{_WORD}){{0,3}}"
# After an explicit street kind people also write the name in lower case ("вул. франка").
_STREET_NAME = (
    rf"(?:{_ORD})?(?:{_INITIAL}){{0,2}}{_ANY}(?![{_LO}{_UP}-])"
    rf"(?:[ \t]+(?:{_INITIAL}){{0,2}}{_WORD}){{0,3}}"
)
_B = rf"(?<![{_UP}{_LO}\d])"  # a kind starts a word
_E = rf"(?![{_UP}{_LO}])"  # a kind without a dot ends a word
# "12", "12а", "12-А", "12 А", "120/3"; a lower-case letter after a space is a word ("12 у").
_NUM = (
    r"\d{1,4}(?:[ \t]?[/-][ \t]?\d{1,4})?"
    r"(?:-?[А-ЯІЇЄа-яіїєA-Za-z](?![\w])|[ \t][А-ЯІЇЄA-Z](?![\w]))?(?!\d)"
)

_SETTLEMENT_KIND = (
    r"(?:м\.|місто|г\.|город|смт\.?|пгт\.?|с\.|село|сел\.|селище|с-ще\.?|пос\.|посёлок|"
    rf"хут\.|хутір|(?:м|г|с)(?=[ \t]+[{_UP}]))"
)
# Case-insensitive (people write "Вул.", "ВУЛ."), while the names after them are not.
# Abbreviations, with or without their dot; after them a name may be in lower case
# ("вул. франка"), which people type in a hurry.
_STREET_ABBR = (
    r"(?i:(?:вул|ул|просп|пров|пер|бульв|наб)(?:\.|(?=[ \t]))|пр-т\.?|пр-кт\.?|пр\.|б-р\.?|пл\.)"
)
# Whole words: they must end there ("майдан" is not "майданчику").
_STREET_WORD = (
    r"(?i:вулиця|вулиці|улица|проспект|провулок|переулок|бульвар|площа|площадь|узвіз|"
    rf"спуск|шосе|шоссе|набережна|набережная|майдан|алея|проїзд|проезд|тупик){_E}"
)
# "Андріївський узвіз", "Ківерцівське шосе": the kind after an adjective name.
_STREET_AFTER = (
    r"(?:узвіз|шосе|шоссе|провулок|бульвар|проспект|площа|набережна|вулиця|тупик|проїзд|"
    rf"спуск|алея){_E}"
)
_QUARTER_KIND = r"(?i:мкр\.|мкрн\.|мікрорайон|микрорайон|ж/м|житловий[ \t]+масив|ж\.м\.)"

# Oblast centres and other large cities, in Ukrainian and Russian, as they stand in the
# nominative (what a signature line has when the "м." is left out).
_KNOWN_CITIES = frozenset(
    (
        *[
            "Київ",
            "Киев",
            "Львів",
            "Львов",
            "Харків",
            "Харьков",
            "Одеса",
            "Одесса",
            "Дніпро",
            "Днепр",
            "Запоріжжя",
            "Запорожье",
            "Луцьк",
            "Луцк",
            "Рівне",
            "Ровно",
            "Житомир",
            "Вінниця",
            "Винница",
            "Тернопіль",
            "Тернополь",
            "Хмельницький",
            "Хмельницкий",
            "Чернівці",
            "Черновцы",
            "Ужгород",
            "Івано-Франківськ",
            "Ивано-Франковск",
            "Полтава",
            "Суми",
            "Сумы",
            "Чернігів",
            "Чернигов",
            "Черкаси",
            "Черкассы",
            "Кропивницький",
            "Кропивницкий",
            "Миколаїв",
            "Николаев",
            "Херсон",
            "Маріуполь",
            "Мариуполь",
            "Ковель",
            "Нововолинськ",
            "Бровари",
            "Ірпінь",
            "Буча",
            "Кременчук",
            "Кам'янець-Подільський",
            "Мукачево",
            "Дрогобич",
            "Умань",
            "Бердичів",
            "Ніжин",
            "Слов'янськ",
            "Краматорськ",
            "Павлоград",
            "Кам'янське",
            "Олександрія",
            "Конотоп",
            "Шостка",
            "Ізмаїл",
            "Бориспіль",
            "Фастів",
        ],
        "Кривий Ріг",
        "Біла Церква",
        "Кривой Рог",
        "Белая Церковь",
        "Володимир-Волинський",
    )
)

_PARTS: list[tuple[str, re.Pattern[str]]] = [
    ("postcode", re.compile(r"(?:(?i:індекс|индекс|index)[:\s]*)?(?<!\d)(?P<v>\d{5})(?!\d)")),
    ("country", re.compile(rf"{_B}(?P<v>(?i:україна|украина|ukraine)){_E}")),
    (
        "oblast",
        re.compile(
            rf"{_B}(?P<v>{_CAP}[ \t]+(?:обл\.|область{_E}|області{_E}|обл{_E})|"
            rf"(?:обл\.|область)[ \t]+{_CAP}|"
            rf"(?:АР|Автономна[ \t]+Республіка)[ \t]+Крим)"
        ),
    ),
    (
        "hromada",
        re.compile(
            rf"{_B}(?P<v>{_CAP}[ \t]+(?:(?:міська|сільська|селищна)[ \t]+)?"
            rf"(?:територіальна[ \t]+громада|громада|ОТГ|ТГ){_E})"
        ),
    ),
    (
        "raion",
        re.compile(
            rf"{_B}(?P<v>{_CAP}[ \t]+(?:р-н\.?|р-ну|р-он|район{_E}|району{_E}|р\.(?=\s*,))|"
            rf"(?:р-н\.?|район)[ \t]+{_CAP})"
        ),
    ),
    ("settlement", re.compile(rf"{_B}(?P<k>{_SETTLEMENT_KIND})[ \t]*(?P<v>{_NAME})")),
    ("quarter", re.compile(rf"{_B}{_QUARTER_KIND}[ \t]*(?P<v>{_NAME})")),
    ("street", re.compile(rf"{_B}{_STREET_ABBR}[ \t]*(?P<v>{_STREET_NAME})")),
    ("street", re.compile(rf"{_B}{_STREET_WORD}[ \t]*(?P<v>{_NAME})")),
    ("street", re.compile(rf"{_B}(?P<v>{_NAME}[ \t]+{_STREET_AFTER})")),
    ("pobox", re.compile(rf"{_B}(?i:а/с|а/я|абонентська[ \t]+скринька)[ \t]*(?P<v>\d{{1,5}})")),
    (
        "building",
        re.compile(rf"{_B}(?i:буд\.|будинок|буд(?=\s)|б\.|д\.|дом|№)[ \t]*№?[ \t]*(?P<v>{_NUM})"),
    ),
    (
        "block",
        re.compile(rf"{_B}(?i:корп\.|корпус|корп(?=\s)|к\.)[ \t]*(?P<v>\w{{1,3}}){_E}"),
    ),
    (
        "apartment",
        re.compile(
            rf"{_B}(?i:кв\.|квартира|кв(?=[ \t]|\d)|к-ра|кімн\.|кімната|комн\.|оф\.|офіс)"
            rf"[ \t]*(?P<v>\d{{1,4}}(?:-?[а-яa-z](?![\w]))?)(?!\d)"
        ),
    ),
]
_BARE_NUMBER = re.compile(rf"(?P<v>{_NUM})")
_BARE_PLACE = re.compile(rf"{_B}(?P<v>{_NAME})")
_UNMARKED_STREET = re.compile(rf"{_B}(?P<v>{_NAME})(?=[ \t]*,?[ \t]*\d{{1,4}}(?!\d))")
_SEP = re.compile(r"[\s,;]*")
# The parts that may open an address; a building or apartment alone is not one.
_STARTERS = (
    "postcode",
    "country",
    "oblast",
    "raion",
    "hromada",
    "settlement",
    "quarter",
    "street",
)


@dataclass
class Address:
    """One address found in a text: its span there and its parts (the values as written)."""

    start: int
    end: int
    text: str
    parts: dict[str, str] = field(default_factory=dict)

    @property
    def postal(self) -> bool:
        """Enough for a letter to reach a person: a house on a street, or a village with
        its raion, oblast or postcode (villages often have no street names in use)."""
        p = self.parts
        if "street" in p and "building" in p:
            return True
        if "pobox" in p and ("postcode" in p or "settlement" in p):
            return True
        return "settlement" in p and bool({"raion", "oblast", "postcode", "hromada"} & set(p))

    @property
    def size(self) -> int:
        return len(self.parts)


def _is_known_city(name: str) -> bool:
    return name in _KNOWN_CITIES


def _part_at(text: str, pos: int, parts: dict[str, str]) -> tuple[str, re.Match[str]] | None:
    for kind, rx in _PARTS:
        if kind in parts and kind not in ("raion",):
            continue
        m = rx.match(text, pos)
        if m:
            return kind, m
    # A bare number right after the street is its building ("вул. Шевченка 12").
    if "street" in parts and "building" not in parts and parts.get("_last") == "street":
        m = _BARE_NUMBER.match(text, pos)
        if m:
            return "building", m
    # After the settlement, a name with a number is the street without its kind:
    # "Луцьк, Ковельська 20, кв. 4".
    if "settlement" in parts and "street" not in parts and parts.get("_last") == "settlement":
        m = _UNMARKED_STREET.match(text, pos)
        if m:
            return "street", m
    # A bare city name: "..., кв. 45, Луцьк" or "Луцьк 43025".
    if "settlement" not in parts:
        m = _BARE_PLACE.match(text, pos)
        if m and _is_known_city(m.group("v")):
            return "settlement", m
    return None


def _run(text: str, pos: int) -> Address | None:
    """The longest run of address parts from `pos` (which must hold a starter)."""
    parts: dict[str, str] = {}
    start, end = pos, pos
    cur = pos
    while True:
        found = _part_at(text, cur, parts)
        if found is None:
            break
        kind, m = found
        if not parts and kind not in _STARTERS:
            return None
        value = m.group("v").strip()
        if kind == "raion" and "raion" in parts:
            parts["raion"] += ", " + value
        else:
            parts[kind] = value
        parts["_last"] = kind
        end = m.end()
        sep = _SEP.match(text, end)
        cur = sep.end() if sep else end
        # An address does not run into the next paragraph.
        if text[end:cur].count("\n") >= 2:
            break
    parts.pop("_last", None)
    if not parts:
        return None
    # A lone postcode or a lone "Україна" is not an address.
    if set(parts) <= {"postcode", "country"}:
        return None
    return Address(start, end, _one_line(text[start:end]), parts)


def _one_line(s: str) -> str:
    """An address written over several lines, as one line."""
    lines = [ln.strip(" \t,;") for ln in s.splitlines()]
    return ", ".join(ln for ln in lines if ln)


def _starts(text: str) -> list[int]:
    found = set()
    for kind, rx in _PARTS:
        if kind not in _STARTERS:
            continue
        for m in rx.finditer(text):
            found.add(m.start())
    for m in re.finditer(rf"(?<![{_UP}{_LO}])(?:{_NAME})", text):
        if _is_known_city(m.group(0)):
            found.add(m.start())
    return sorted(found)


def find_addresses(text: str) -> list[Address]:
    """Every address-like run in `text`, longest first where runs overlap, in text order."""
    out: list[Address] = []
    taken_until = -1
    for pos in _starts(text):
        if pos < taken_until:
            continue
        addr = _run(text, pos)
        if addr is None:
            continue
        out.append(addr)
        taken_until = addr.end
    return out


def parse_address(text: str) -> Address | None:
    """The largest address in `text` (a line or a short block), or None."""
    found = find_addresses(text)
    if not found:
        return None
    return max(found, key=lambda a: (a.postal, a.size, a.end - a.start))


def with_leading_place(line: str, addr: Address) -> Address:
    """`addr` widened to a place name that opens its line before it, unmarked: "Луцьк,
    вул. Шевченка, 12" or "Нові Млини, вул. Миру, 3" (the first thing on an address line is
    the settlement when it is not anything else)."""
    if "settlement" in addr.parts:
        return addr
    head = line[: addr.start]
    m = re.fullmatch(rf"\s*(?P<v>{_NAME})\s*,?\s*", head)
    if not m:
        return addr
    parts = {"settlement": m.group("v"), **addr.parts}
    return Address(m.start("v"), addr.end, _one_line(line[m.start("v") : addr.end]), parts)


def normalise(text: str) -> str:
    """An address reduced for comparison: lower case, letters and digits only, and the
    kinds' long forms as their abbreviations."""
    s = text.lower().replace("’", "'").replace("ʼ", "'")
    for long, short in (
        ("вулиця", "вул"),
        ("будинок", "буд"),
        ("квартира", "кв"),
        ("проспект", "просп"),
        ("провулок", "пров"),
        ("область", "обл"),
        ("район", "р-н"),
        ("місто", "м"),
        ("село", "с"),
    ):
        s = re.sub(rf"(?<!\w){long}(?!\w)", short, s)
    return re.sub(r"[^\w']+", " ", s).strip()
