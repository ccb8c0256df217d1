"""The district of an appeal from the postal address in its text: a street register and a
resolver.

Letters name streets, not districts ("вул. Городоцька, 120", "ул. Городокская д.120",
"просп. Шевченка 7"), so the district comes from a register of streets: one council CSV
(settings `[routing] street_register`, columns `street, kind, aliases, district,
from_house, to_house, parity`) plus what history taught (`routing.street_learning`: the
districts staff confirmed or corrected). A street the council splits between districts
has one row per house range, optionally per side (odd / even numbers).

Spellings people use are folded before matching: the kind's abbreviations (вул., ул.,
пр-т, пров., б-р, ...), Ukrainian and Russian letters (і/и/ы, є/е/э, ї, ґ, apostrophes),
case endings ("на вулиці Стрийській"), old names after renaming (aliases), and typos (a
bounded edit distance). The district is never guessed from a street's name alone: «Московский
проспект» is a street, not the Московский district; a district is taken from its name only
when the text says "район" beside it (`named_district`).

Every answer says how sure it is (`Resolution.confidence`) and how it was reached.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from rapidfuzz.distance import OSA

import saferegex

# Kind words and their abbreviations (Ukrainian and Russian), by the canonical kind.
# "пр." is ambiguous (проспект in most letters, провулок / проезд in some), so it names
# several kinds and the register decides.
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "street": (
        "вулиця",
        "вулиці",
        "вулицю",
        "вулицею",
        "вул",
        "ул",
        "улица",
        "улице",
        "улицы",
        "улицу",
    ),
    "avenue": (
        "проспект",
        "проспекті",
        "проспекту",
        "проспекте",
        "проспекта",
        "просп",
        "пр-т",
        "пр-кт",
        "прт",
    ),
    "lane": ("провулок", "провулку", "провулка", "пров", "переулок", "переулке", "переулка", "пер"),
    "boulevard": ("бульвар", "бульварі", "бульваре", "бульвару", "бульв", "б-р", "бул"),
    "embankment": ("набережна", "набережній", "набережная", "набережной", "наб"),
    "square": ("площа", "площі", "площу", "площадь", "площади", "пл", "майдан", "майдані"),
    "highway": ("шосе", "шоссе", "ш"),
    "passage": ("проїзд", "проїзді", "проезд", "проезде", "пр-д"),
    "descent": ("узвіз", "узвозі", "спуск", "спуску"),
    "alley": ("алея", "алеї", "аллея", "аллее"),
}
AMBIGUOUS_KINDS: dict[str, tuple[str, ...]] = {"пр": ("avenue", "lane", "passage")}
_KIND_OF: dict[str, tuple[str, ...]] = {
    w: (kind,) for kind, words in KIND_WORDS.items() for w in words
}
_KIND_OF.update(AMBIGUOUS_KINDS)
# Kinds a council's CSV may spell: the canonical names and every word above.
_CSV_KINDS = {**{k: (k,) for k in KIND_WORDS}, **_KIND_OF}

_DISTRICT_WORD = saferegex.compile(r"^(район\w*|р-н\w*|р-ну|округ\w*)$")
_HOUSE_WORD = saferegex.compile(r"^(буд|будинок|будинку|д|дом|доме|дім|№|n)$")
# A letter: Python's `[^\W\d_]` (\w without digits and "_") spelled for RE2.
_TOKEN = saferegex.compile(
    r"[0-9]+(?:[-/][0-9]+)?[а-яіїєґa-z]?|[\p{L}\p{Nl}\p{No}]+(?:[-'’ʼ`][\p{L}\p{Nl}\p{No}]+)*|[.,;:№]"
)
_LEADING_NUMBER = saferegex.compile(r"\s*(\d+)")
_STOP_NAME = {
    "м",
    "г",
    "місто",
    "город",
    "кв",
    "квартира",
    "під",
    "подъезд",
    "корп",
    "корпус",
    "літ",
    "литера",
    "буд",
    "будинок",
    "д",
    "дом",
    "район",
    "р-н",
    "області",
    "обл",
    "україна",
    "украина",
    "тел",
    "телефон",
    "email",
    "e-mail",
}

_FOLD = str.maketrans(
    {
        "ё": "е",
        "є": "е",
        "э": "е",
        "ї": "и",
        "і": "и",
        "ы": "и",
        "й": "и",
        "ґ": "г",
        "я": "а",
        "ю": "у",
        "ь": "",
        "ъ": "",
        "'": "",
        "’": "",
        "ʼ": "",
        "`": "",
        "-": " ",
    }
)
# Case and gender endings of Ukrainian and Russian adjectives and names after folding,
# longest first: "Стрийській", "Стрыйской", "Стрийська" all become "стриск".
_ENDINGS = (
    "ого",
    "ому",
    "ими",
    "ои",
    "ую",
    "ои",
    "ом",
    "ах",
    "ам",
    "ии",
    "ие",
    "ое",
    "ее",
    "а",
    "у",
    "и",
    "е",
    "о",
)


def fold(word: str) -> str:
    """One spelling for the Ukrainian and Russian forms of a word, without its ending."""
    w = word.lower().translate(_FOLD)
    # A doubled letter counts once ("Коллонтай", "Колонтай"); in code, as `(.)\1+` is a
    # back-reference RE2 cannot run.
    w = "".join(ch for ch, _ in groupby(w))
    out = []
    for part in w.split():
        if not part.isdigit():
            for end in _ENDINGS:
                if part.endswith(end) and len(part) - len(end) >= 3:
                    part = part[: -len(end)]
                    break
        out.append(part)
    return " ".join(out)


def street_key(name: str) -> str:
    return fold(" ".join(name.split()))


def house_number(text: str) -> int | None:
    m = _LEADING_NUMBER.match(text)
    return int(m.group(1)) if m else None


def edit_distance(a: str, b: str, bound: int) -> int:
    """Edit distance with a swap of two neighbouring letters as one edit (the commonest
    typing slip), or bound + 1 when it exceeds `bound`."""
    return int(OSA.distance(a, b, score_cutoff=bound))


@dataclass(frozen=True)
class StreetRange:
    """One register row: a street (or a range of its houses) in a district."""

    kind: str
    name: str
    district: str
    from_house: int | None = None
    to_house: int | None = None
    parity: str = ""  # "", "odd" or "even"
    aliases: tuple[str, ...] = ()
    source: str = "register"  # "register" (the council's CSV) or "learned"
    support: int = 0  # learned rows: how many confirmed appeals

    def covers(self, house: int | None) -> bool:
        if house is None:
            return self.from_house is None and self.to_house is None and not self.parity
        if self.from_house is not None and house < self.from_house:
            return False
        if self.to_house is not None and house > self.to_house:
            return False
        if self.parity == "odd" and house % 2 == 0:
            return False
        return not (self.parity == "even" and house % 2 == 1)


@dataclass(frozen=True)
class Resolution:
    district: str | None
    confidence: float  # 0..1
    how: str  # "street", "street+house", "fuzzy", "learned", "named", "ambiguous", "none"
    street: str | None = None  # the register's name of the street (not the citizen's text)
    house: int | None = None


NO_DISTRICT = Resolution(None, 0.0, "none")


@dataclass
class StreetRegister:
    """The streets of the city by kind and folded name."""

    rows: list[StreetRange] = field(default_factory=list)
    _by_key: dict[str, list[StreetRange]] = field(default_factory=lambda: defaultdict(list))
    # every range of one street, so that an alias written on one row names them all
    _by_name: dict[tuple[str, str], list[StreetRange]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # house-level observations learned from history: (kind, key) -> house -> districts
    _houses: dict[tuple[str, str], dict[int, Counter[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counter))
    )

    def add(self, row: StreetRange) -> None:
        self.rows.append(row)
        self._by_name[(row.kind, street_key(row.name))].append(row)
        keys = {street_key(row.name), *(street_key(a) for a in row.aliases)}
        # A short form people write ("вул. Франка" for "вулиця Івана Франка") is an alias
        # in the register, like an old name or a Russian form.
        for key in keys:
            self._by_key[key].append(row)

    def observe(self, kind: str, name: str, house: int | None, district: str, n: int = 1) -> None:
        """One confirmed (street, house) -> district pair from history."""
        key = street_key(name)
        if house is not None:
            self._houses[(kind, key)][house][district] += n
        self._houses[(kind, key)][-1][district] += n
        if not any(r.source == "learned" and r.kind == kind for r in self._by_key.get(key, ())):
            self._by_key[key].append(StreetRange(kind, name, district, source="learned"))

    def keys(self) -> Iterable[str]:
        return self._by_key.keys()

    def candidates(self, key: str, max_typos: int) -> list[tuple[str, int]]:
        if key in self._by_key:
            return [(key, 0)]
        if max_typos <= 0 or len(key) < 4:
            return []
        bound = 1 if len(key) < 8 else max_typos
        # The first letter is rarely the mistyped one, and checking it first keeps a
        # register of thousands of streets cheap per letter.
        found = [(k, edit_distance(key, k, bound)) for k in self._by_key if k[:1] == key[:1]]
        found = [(k, d) for k, d in found if d <= bound]
        if not found:
            return []
        best = min(d for _, d in found)
        return [(k, d) for k, d in found if d == best]

    def lookup(
        self, kinds: Sequence[str], name: str, house: int | None, max_typos: int = 2
    ) -> Resolution:
        key = street_key(name)
        matches = self.candidates(key, max_typos)
        if not matches:
            return NO_DISTRICT
        found = [r for k, _ in matches for r in self._by_key[k]]
        rows = list(
            dict.fromkeys(
                x
                for r in found
                for x in (
                    self._by_name[(r.kind, street_key(r.name))] if r.source == "register" else [r]
                )
            )
        )
        typos = matches[0][1]
        same_kind = [r for r in rows if r.kind in kinds]
        # A citizen who writes "вул." for a проспект is still understood, less surely.
        kind_penalty = 0.0 if same_kind else 0.15
        rows = same_kind or rows
        penalty = kind_penalty + 0.1 * typos
        return self._decide(rows, house, penalty, typos)

    def _decide(
        self, rows: list[StreetRange], house: int | None, penalty: float, typos: int
    ) -> Resolution:
        registered = [r for r in rows if r.source == "register"]
        if registered:
            districts = {r.district for r in registered}
            street = registered[0].name
            if len(districts) == 1:
                how = "fuzzy" if typos else "street"
                return Resolution(districts.pop(), round(0.95 - penalty, 2), how, street, house)
            covering = {r.district for r in registered if r.covers(house)} if house else set()
            if len(covering) == 1:
                how = "fuzzy" if typos else "street+house"
                return Resolution(covering.pop(), round(0.95 - penalty, 2), how, street, house)
            return Resolution(None, 0.0, "ambiguous", street, house)
        return self._learned(rows, house, penalty)

    def _learned(self, rows: list[StreetRange], house: int | None, penalty: float) -> Resolution:
        """A street only history knows: the district of the same house, else of the nearest
        house on the same side, else the street's district if one dominates."""
        street = rows[0].name
        seen = self._houses.get((rows[0].kind, street_key(street)))
        if not seen:
            return Resolution(rows[0].district, round(0.6 - penalty, 2), "learned", street, house)
        if house is not None:
            if house in seen:
                district, share = _majority(seen[house])
                return Resolution(
                    district, round(share * 0.95 - penalty, 2), "learned", street, house
                )
            side = [h for h in seen if h >= 0 and h % 2 == house % 2] or [h for h in seen if h >= 0]
            if side:
                near = min(side, key=lambda h: abs(h - house))
                district, share = _majority(seen[near])
                whole, whole_share = _majority(seen[-1])
                if whole_share >= 0.95:
                    return Resolution(whole, round(0.9 - penalty, 2), "learned", street, house)
                return Resolution(
                    district, round(share * 0.75 - penalty, 2), "learned", street, house
                )
        district, share = _majority(seen[-1])
        return Resolution(district, round(share * 0.85 - penalty, 2), "learned", street, house)


def _majority(counts: Counter[str]) -> tuple[str, float]:
    district, n = counts.most_common(1)[0]
    return district, n / sum(counts.values())


@dataclass(frozen=True)
class StreetMention:
    kinds: tuple[str, ...]
    name: str
    house: int | None


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def mentions(text: str, max_words: int = 4) -> list[StreetMention]:
    """Every place the text names a street kind, with the words that may be its name
    (after the kind, "вул. Наукова 7"; or before it, "Шлиссельбургский проспект, д. 2"),
    longest first, and the house number that follows."""
    toks = _tokens(text)
    low = [t.lower() for t in toks]
    out: list[StreetMention] = []
    for i, t in enumerate(low):
        kinds = _KIND_OF.get(t)
        if kinds is None:
            continue
        j = i + 1
        if j < len(low) and low[j] == ".":
            j += 1
        after = _name_words(toks, low, j)
        if after:
            house = _house_after(low, j + len(after) + after.count("."))
            words = [w for w in after if w != "."]
            for n in range(min(len(words), max_words), 0, -1):
                out.append(StreetMention(kinds, " ".join(words[:n]), house))
            # "вул. Ген. Чупринки", "вул. Т. Шевченка": a title or an initial before the
            # name the register knows.
            for k in range(1, len(words)):
                out.append(StreetMention(kinds, " ".join(words[k:]), house))
        before = _name_words_before(toks, low, i)
        if before:
            house = _house_after(low, i + 1 + (1 if i + 1 < len(low) and low[i + 1] == "." else 0))
            for n in range(min(len(before), 3), 0, -1):
                out.append(StreetMention(kinds, " ".join(before[-n:]), house))
    return out


def bare_mentions(text: str) -> list[StreetMention]:
    """Names written without a kind, right before a house number ("Городоцька 79",
    "Хуторівка 4а"): one or two capitalised words; only exact register names count."""
    toks = _tokens(text)
    low = [t.lower() for t in toks]
    out: list[StreetMention] = []
    for i, tok in enumerate(toks):
        if not tok[:1].isdigit() or i == 0:
            continue
        j = i - 1
        if low[j] in {",", "№"} or _HOUSE_WORD.match(low[j]):
            j -= 1
        if j < 0 or not toks[j][:1].isupper() or not _is_name_word(toks[j], low[j]):
            continue
        if j > 0 and (
            low[j - 1] in _KIND_OF or (low[j - 1] == "." and j > 1 and low[j - 2] in _KIND_OF)
        ):
            continue  # a kind before it ("вул. Наукова 7"): `mentions` has it
        house = house_number(tok)
        if j > 0 and toks[j - 1][:1].isupper() and _is_name_word(toks[j - 1], low[j - 1]):
            out.append(StreetMention(ANY_KIND, f"{toks[j - 1]} {toks[j]}", house))
        out.append(StreetMention(ANY_KIND, toks[j], house))
    return out


# A name written without its kind is most often a вулиця.
ANY_KIND: tuple[str, ...] = ("street",)


def _is_name_word(tok: str, low: str) -> bool:
    return (
        (tok[:1].isalpha() or tok[:1].isdigit())
        and low not in _STOP_NAME
        and low not in _KIND_OF
        and not _DISTRICT_WORD.match(low)
        and not _HOUSE_WORD.match(low)
    )


def _name_words(toks: list[str], low: list[str], j: int) -> list[str]:
    words: list[str] = []
    while j < len(toks) and len(words) < 4:
        tok = toks[j]
        if tok == "." and words and len(words[-1]) <= 4 and words[-1][:1].isupper():
            words.append(tok)  # an abbreviated title or initial: "Ген.", "Т."
            j += 1
            continue
        if tok[:1].isdigit():
            # "вул. 8 Березня", "1-я Красноармейская": a number opens a name, never ends one.
            if words or j + 1 >= len(toks) or not toks[j + 1][:1].isalpha():
                break
        elif not _is_name_word(tok, low[j]):
            break
        words.append(tok)
        j += 1
    return words


def _name_words_before(toks: list[str], low: list[str], i: int) -> list[str]:
    words: list[str] = []
    j = i - 1
    while j >= 0 and len(words) < 3 and toks[j][:1].isalpha() and _is_name_word(toks[j], low[j]):
        # Only a capitalised word before the kind is a name ("Караваевской ул."): "на ул."
        # or "по ул." are prepositions.
        if not toks[j][:1].isupper():
            break
        words.insert(0, toks[j])
        j -= 1
    return words


def _house_after(low: list[str], j: int) -> int | None:
    for k in range(j, min(j + 4, len(low))):
        tok = low[k]
        if tok[:1].isdigit():
            return house_number(tok)
        if tok in {",", ".", "№"} or _HOUSE_WORD.match(tok):
            continue
        return None
    return None


def named_district(text: str, districts: Sequence[str]) -> str | None:
    """A district the text names as one ("Шевченківський район", "у Шевченківському
    районі", "Приморский р-н"): the district's stem right before or after a word for
    district. A street named like a district («Московский проспект») does not count."""
    toks = [t.lower() for t in _tokens(text)]
    stems = [(d, fold(d.split()[0])) for d in districts]
    for i, tok in enumerate(toks):
        if not _DISTRICT_WORD.match(tok):
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(toks):
                word = fold(toks[j])
                for district, stem in stems:
                    if stem and len(word) >= 4 and (word.startswith(stem) or stem.startswith(word)):
                        return district
    return None


@dataclass(frozen=True)
class Observation:
    """One learned (street, house) -> district pair (routing.street_learning)."""

    kind: str
    street: str
    house: int | None
    district: str


# The learned pairs for some folded street keys (a database query in the gateway).
LearnedStreets = Callable[[Sequence[str]], Sequence[Observation]]


@dataclass(frozen=True)
class AddressResolver:
    """Resolves a letter's text (the citizen's address first) to a district: the council's
    register first, then what history taught about the streets the letter names, then a
    district the letter names as a district."""

    register: StreetRegister
    districts: tuple[str, ...] = ()
    max_typos: int = 2

    def resolve(
        self, text: str, address: str | None = None, learned: LearnedStreets | None = None
    ) -> Resolution:
        parts = [(p, mentions(p)) for p in (address or "", text) if p]
        for registers in (
            [self.register],
            [self._learned(parts, learned)] if learned is not None else [],
        ):
            for register in registers:
                for _, found in parts:
                    r = _best(register, found, self.max_typos)
                    if r.how != "none":
                        return r
        for part, _ in parts:
            r = _best(self.register, bare_mentions(part), 0)
            if r.district is not None:
                # Without a kind the name could be anything ("Франко 5" a shop's name):
                # less sure than an address with its kind.
                return Resolution(
                    r.district, round(r.confidence - 0.15, 2), "bare-" + r.how, r.street, r.house
                )
        named = named_district("\n".join(p for p, _ in parts), self.districts)
        if named is not None:
            return Resolution(named, 0.9, "named")
        return NO_DISTRICT

    @staticmethod
    def _learned(
        parts: list[tuple[str, list[StreetMention]]], learned: LearnedStreets
    ) -> StreetRegister:
        keys = sorted({street_key(m.name) for _, found in parts for m in found})
        register = StreetRegister()
        for o in learned(keys) if keys else ():
            register.observe(o.kind, o.street, o.house, o.district)
        return register


def _best(register: StreetRegister, found: list[StreetMention], max_typos: int) -> Resolution:
    best = NO_DISTRICT
    ambiguous: Resolution | None = None
    for m in found:
        r = register.lookup(m.kinds, m.name, m.house, max_typos)
        if r.how == "ambiguous" and ambiguous is None:
            ambiguous = r
        if r.district is not None and r.confidence > best.confidence:
            best = r
    if best.district is None and ambiguous is not None:
        return ambiguous
    return best


class RegisterError(ValueError):
    """The council's street register file is malformed."""


def _house(value: str, where: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise RegisterError(f"{where}: house number {value!r} is not a number")
    return int(value)


def load_register(path: Path | str, districts: Sequence[str] = ()) -> StreetRegister:
    """The council's register CSV: `street, kind, aliases, district, from_house, to_house,
    parity` (aliases separated by `;`; the house range and parity empty for a whole
    street). A district not in `districts` (when given) is an error, so that a typo in
    the export does not route appeals nowhere."""
    register = StreetRegister()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"street", "kind", "district"} - set(reader.fieldnames or ())
        if missing:
            raise RegisterError(f"{path}: missing column(s) {sorted(missing)}")
        for n, row in enumerate(reader, 2):
            where = f"{path}:{n}"
            kind_word = (row.get("kind") or "").strip().lower().rstrip(".")
            kinds = _CSV_KINDS.get(kind_word)
            if kinds is None:
                raise RegisterError(f"{where}: unknown street kind {row.get('kind')!r}")
            district = (row.get("district") or "").strip()
            if not district or (districts and district not in districts):
                raise RegisterError(f"{where}: unknown district {district!r}")
            parity = (row.get("parity") or "").strip().lower()
            if parity not in {"", "odd", "even"}:
                raise RegisterError(f"{where}: parity must be odd, even or empty")
            aliases = tuple(a.strip() for a in (row.get("aliases") or "").split(";") if a.strip())
            register.add(
                StreetRange(
                    kind=kinds[0],
                    name=(row.get("street") or "").strip(),
                    district=district,
                    from_house=_house(row.get("from_house") or "", where),
                    to_house=_house(row.get("to_house") or "", where),
                    parity=parity,
                    aliases=aliases,
                )
            )
    return register


def parse_address(text: str) -> StreetMention | None:
    """The first street with its longest name in an address line (for learning)."""
    found = mentions(text)
    return found[0] if found else None
