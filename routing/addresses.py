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

The text is a citizen's letter, so nothing here may take more than linear time in it
(tests/qa/test_regex_linear.py, bench/addresses_hostile.py). The kinds are `saferegex`
(RE2) patterns matched in a short window at a position; the names are read by a scan in
code (`_name`), because what a name is depends on its neighbours (a word ends a word and
is not the adjective of a raion that follows: "с. Липини Луцького району"), which RE2
cannot look at. The scan takes the same name Python's backtracking `re` took with the
look-arounds this module once had, in the same order of preference, but a word is at
most `_MAX_WORD` letters and a name at most four words, so a hostile letter (one
40,000-letter word, or 10,000 capitalised words) costs a bounded amount per position.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import saferegex

_UP = "А-ЯІЇЄҐЁA-Z"
_LO = "а-яіїєґёa-z'’ʼ`"


def _chars(ranges: str) -> frozenset[str]:
    """The characters of a regex class body made of ranges and single characters."""
    out: set[str] = set()
    i = 0
    while i < len(ranges):
        if i + 2 < len(ranges) and ranges[i + 1] == "-":
            out.update(chr(c) for c in range(ord(ranges[i]), ord(ranges[i + 2]) + 1))
            i += 3
        else:
            out.add(ranges[i])
            i += 1
    return frozenset(out)


_UPPER = _chars(_UP)
_LOWER = _chars(_LO)
_LETTERS = _UPPER | _LOWER
# A house number's letter ("12а", "12-А", "12 Б"): the letters people use there.
_HOUSE_LETTERS = _chars("А-ЯІЇЄа-яіїєA-Za-z")
_HOUSE_CAPITALS = _chars("А-ЯІЇЄA-Z")
_FLAT_LETTERS = _chars("а-яa-z")
_BLANK = " \t"
# The longest word a name may have: Ukrainian place and street names stay far below it
# ("Кам'янець-Подільський" is 21), and a longer run of letters is not a name.
_MAX_WORD = 40
# How far a kind's pattern may reach from where it starts ("абонентська скринька 12345").
_WINDOW = 100


def _is_w(c: str) -> bool:
    """Python's `\\w` on str."""
    return c.isalnum() or c == "_"


def _opens(text: str, pos: int) -> bool:
    """A kind or a name may start at `pos`: no letter or digit just before it."""
    if pos == 0:
        return True
    c = text[pos - 1]
    return c not in _LETTERS and not c.isdecimal()


def _closes(text: str, end: int) -> bool:
    """A kind written without its dot ends at `end`: no letter follows."""
    return end >= len(text) or text[end] not in _LETTERS


def _skip_blank(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in _BLANK:
        i += 1
    return i


def _skip_space(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    return i


class _Kind(NamedTuple):
    """A kind's pattern and the letters it can start with (in either case)."""

    rx: saferegex.Pattern[str]
    first: frozenset[str]


# Letters that case-fold to a Latin or Cyrillic one: "(?i)в" also matches "ᲀ" (U+1C80), and
# "(?i)k" the Kelvin sign; a kind's first letters include them.
_FOLDABLE = tuple(
    chr(c)
    for start, end in (
        (0, 0x250),
        (0x370, 0x530),
        (0x1C80, 0x1C90),
        (0x1E00, 0x2000),
        (0x2100, 0x2150),
    )
    for c in range(start, end)
)


def _kind(pattern: str, first: str) -> _Kind:
    folds = {f.casefold() for f in first}
    letters = {c for c in _FOLDABLE if c.casefold() in folds}
    return _Kind(saferegex.compile(pattern), frozenset(first + first.upper()) | letters)


def _at(kind: _Kind, text: str, pos: int) -> saferegex.Match | None:
    """The kind matched at `pos`, in a window: re2 re-encodes the whole subject on every
    call, so matching the full text at each of many positions would cost its square. Most
    positions are refused by their first letter before re2 is called."""
    if pos >= len(text) or text[pos] not in kind.first:
        return None
    return kind.rx.match(text[pos : pos + _WINDOW])


def _word_end(text: str, q: int, lower_first: bool = False) -> int | None:
    """The end of the word at `q`: a capital (or any letter) and letters, with hyphenated
    parts ("Івано-Франківськ"), taken whole; None if none starts there or it is longer
    than `_MAX_WORD`."""
    n = len(text)
    if q >= n or text[q] not in (_LETTERS if lower_first else _UPPER):
        return None
    i, limit = q + 1, q + _MAX_WORD
    while i < n:
        c = text[i]
        if c in _LETTERS:
            i += 1
        elif c == "-" and i + 1 < n and text[i + 1] in _LETTERS:
            i += 2
        else:
            break
        if i > limit:
            return None
    return i


# After a word, these make it the adjective of a raion, oblast or community, not a name:
# "с. Липини Луцького району" is the village "Липини".
_UNIT_WORDS = ("р-н", "р-ну", "район", "обл.", "област", "громад", "міськ", "сільськ", "селищн")
_UNIT_WHOLE_WORDS = ("обл", "ТГ")


def _unit_follows(text: str, end: int) -> bool:
    j = _skip_blank(text, end)
    if j == end:
        return False
    if text.startswith(_UNIT_WORDS, j):
        return True
    for w in _UNIT_WHOLE_WORDS:
        k = j + len(w)
        if text.startswith(w, j) and (k >= len(text) or not _is_w(text[k])):
            return True
    return False


def _name_word(text: str, q: int, first_of_street: bool) -> int | None:
    """A word of a name: ends a word (no letter or hyphen after it) and, but for the first
    word after a street kind, is not followed by a raion or oblast word."""
    e = _word_end(text, q, lower_first=first_of_street)
    if e is None or (e < len(text) and text[e] == "-"):
        return None
    if not first_of_street and _unit_follows(text, e):
        return None
    return e


def _initial_end(text: str, q: int) -> int | None:
    """ "Т. ", "Кн. ", "Св.": a capital, up to two small letters and a dot (and a blank)."""
    n = len(text)
    if q >= n or text[q] not in _UPPER:
        return None
    j = q + 1
    while j < n and j - q <= 3 and text[j] in _LOWER:
        j += 1
    if j - q > 3 or j >= n or text[j] != ".":
        return None
    j += 1
    return j + 1 if j < n and text[j] in _BLANK else j


def _ordinal_end(text: str, q: int) -> int | None:
    """ "8 ", "30-річчя ", "1-го ": a number that opens a street's name, and its blanks."""
    n = len(text)
    j = q
    while j < n and j - q <= 3 and text[j].isdecimal():
        j += 1
    if j == q or j - q > 3 or (j < n and text[j].isdecimal()):
        return None
    k = j + 1 if j + 1 < n and text[j] == "-" and text[j + 1] in _LOWER else j
    if k < n and text[k] in _LOWER:
        start = k
        while k < n and text[k] in _LOWER:
            k += 1
            if k - start > _MAX_WORD:
                return None
        j = k
    e = _skip_blank(text, j)
    return e if e > j else None


def _slot_ends(text: str, q: int, first_of_street: bool) -> list[int]:
    """The ends of (up to two initials and) a word at `q`, most initials first: the order
    a backtracking `(?:INITIAL){0,2}WORD` tries them."""
    ends = []
    i1 = _initial_end(text, q)
    if i1 is not None:
        i2 = _initial_end(text, i1)
        if i2 is not None and (e := _name_word(text, i2, first_of_street)) is not None:
            ends.append(e)
        if (e := _name_word(text, i1, first_of_street)) is not None:
            ends.append(e)
    if (e := _name_word(text, q, first_of_street)) is not None:
        ends.append(e)
    return ends


def _name(
    text: str, p: int, accept: Callable[[int], bool] | None = None, street: bool = False
) -> int | None:
    """The end of the name at `p` ("Липини", "Героїв Сталінграда", "8 Березня", "Т.
    Шевченка"): up to four words, the most it can take, or else the first end in that order
    of preference that `accept` allows (what must follow the name). `street`: the first
    word may be in lower case ("вул. франка")."""
    q = p
    if p < len(text) and text[p].isdecimal():
        q_ord = _ordinal_end(text, p)
        if q_ord is None:
            return None
        q = q_ord
    memo: dict[tuple[int, int], int | None] = {}

    def more(e: int, left: int) -> int | None:
        key = (e, left)
        if key not in memo:
            found = None
            j = _skip_blank(text, e)
            if left and j > e:
                for e2 in _slot_ends(text, j, False):
                    found = more(e2, left - 1)
                    if found is not None:
                        break
            if found is None and (accept is None or accept(e)):
                found = e
            memo[key] = found
        return memo[key]

    for e in _slot_ends(text, q, street):
        found = more(e, 3)
        if found is not None:
            return found
    return None


def _literal_end(text: str, j: int, words: tuple[str, ...], whole: bool) -> int | None:
    """The end of the first of `words` written at `j` (and ending a word, if `whole`)."""
    for w in words:
        if text.startswith(w, j) and (not whole or _closes(text, j + len(w))):
            return j + len(w)
    return None


def _house_number_end(text: str, q: int) -> int | None:
    """ "12", "12а", "12-А", "12 А", "120/3": a house number; a small letter after a blank
    is a word ("12 у"), a letter is taken only when no word character follows it."""
    n = len(text)

    def digits(i: int) -> int:
        j = i
        while j < n and j - i <= 4 and text[j].isdecimal():
            j += 1
        return j - i

    k = digits(q)
    if k == 0 or k > 4:
        return None
    i = q + k
    j = i + 1 if i < n and text[i] in _BLANK else i
    if j < n and text[j] in "/-":
        j += 1
        if j < n and text[j] in _BLANK:
            j += 1
        k2 = digits(j)
        if 1 <= k2 <= 4:
            i = j + k2

    def free(at: int) -> bool:
        return at >= n or not _is_w(text[at])

    if i + 1 < n and text[i] == "-" and text[i + 1] in _HOUSE_LETTERS and free(i + 2):
        return i + 2
    if i < n and text[i] in _HOUSE_LETTERS and free(i + 1):
        return i + 1
    if i + 1 < n and text[i] in _BLANK and text[i + 1] in _HOUSE_CAPITALS and free(i + 2):
        return i + 2
    return i


class _Hit(NamedTuple):
    """A part found at a position: where it ends, and its value's span."""

    end: int
    v_start: int
    v_end: int


# Case-insensitive kinds (people write "Вул.", "ВУЛ."), while the names after them are
# not. Where one kind is the start of another ("площа", "площадь") the longer is first;
# the neighbours a kind needs ("вул" before a blank, "буд" before a space) are checked in
# code.
_DIGITS = "".join(chr(c) for c in range(0x110000) if chr(c).isdecimal())  # what \d is
_POSTCODE = _kind(r"(?:(?i:індекс|индекс|index)[:\s]*)?(?P<v>\d{5})", "іиi" + _DIGITS)
_POSTCODE_LEAD = saferegex.compile(r"(?i:індекс|индекс|index)|\d{5}")
_COUNTRY = _kind(r"(?i:україна|украина|ukraine)", "уu")
_OBLAST_LEAD = saferegex.compile(r"обл\.|область|АР|Автономна")
_CRIMEA = _kind(r"(?:АР|Автономна[ \t]+Республіка)[ \t]+Крим", "А")
_RAION_LEAD = saferegex.compile(r"р-н|район")
_SETTLEMENT_LEAD = saferegex.compile(
    r"м\.|місто|г\.|город|смт|пгт|с\.|село|сел\.|селище|с-ще|пос\.|посёлок|хут\.|хутір|[мгс][ \t]"
)
_QUARTER_LEAD = saferegex.compile(r"(?i:мкрн?\.|мікрорайон|микрорайон|ж)")
_QUARTER_KIND = _kind(
    r"(?i:мкр\.|мкрн\.|мікрорайон|микрорайон|ж/м|житловий[ \t]+масив|ж\.м\.)", "мж"
)
# Abbreviations, with their dot or before a blank; after them a name may be in lower
# case ("вул. франка"), which people type in a hurry.
_STREET_ABBR = _kind(
    r"(?i:(?P<a>вул|ул|просп|пров|пер|бульв|наб)\.?|пр-т\.?|пр-кт\.?|пр\.|б-р\.?|пл\.)", "вупбн"
)
# Whole words: they must end there ("майдан" is not "майданчику").
_STREET_WORD = _kind(
    r"(?i:вулиця|вулиці|улица|проспект|провулок|переулок|бульвар|площадь|площа|узвіз|"
    r"спуск|шосе|шоссе|набережная|набережна|майдан|алея|проїзд|проезд|тупик)",
    "вупбсшнмат",
)
_POBOX = _kind(r"(?i:а/с|а/я|абонентська[ \t]+скринька)[ \t]*(?P<v>\d{1,5})", "а")
_BUILDING_KIND = _kind(r"(?i:буд\.|будинок|(?P<a>буд)|б\.|д\.|дом|№)", "бд№")
_BLOCK_KIND = _kind(r"(?i:корп\.|корпус|(?P<a>корп)|к\.)", "к")
_APARTMENT_KIND = _kind(r"(?i:кв\.|квартира|(?P<a>кв)|к-ра|кімн\.|кімната|комн\.|оф\.|офіс)", "ко")

# The settlement kinds, in the order they are tried; the bare letters only before a
# blank and a capital ("м Луцьк").
_SETTLEMENT_KINDS = (
    "м.",
    "місто",
    "г.",
    "город",
    "смт.",
    "смт",
    "пгт.",
    "пгт",
    "с.",
    "село",
    "сел.",
    "селище",
    "с-ще.",
    "с-ще",
    "пос.",
    "посёлок",
    "хут.",
    "хутір",
)
_OBLAST_AFTER = (("обл.", False), ("область", True), ("області", True), ("обл", True))
_HROMADA_ADJ = ("міська", "сільська", "селищна")
_HROMADA_WORDS = ("громада", "ОТГ", "ТГ")
_RAION_AFTER = ("р-н.", "р-н", "р-ну", "р-он")
# "Андріївський узвіз", "Ківерцівське шосе": the kind after an adjective name.
_STREET_AFTER = (
    "узвіз",
    "шосе",
    "шоссе",
    "провулок",
    "бульвар",
    "проспект",
    "площа",
    "набережна",
    "вулиця",
    "тупик",
    "проїзд",
    "спуск",
    "алея",
)


def _capital_word_blank(text: str, p: int) -> int | None:
    """After the capitalised word at `p` and its blanks: where an "обл." or "р-н" is."""
    e = _word_end(text, p)
    if e is None or e >= len(text) or text[e] not in _BLANK:
        return None
    return _skip_blank(text, e)


def _postcode(text: str, p: int) -> _Hit | None:
    m = _at(_POSTCODE, text, p)
    if m is None:
        return None
    s, e = p + m.start(1), p + m.end(1)
    if (s > 0 and text[s - 1].isdecimal()) or (e < len(text) and text[e].isdecimal()):
        return None
    return _Hit(e, s, e)


def _country(text: str, p: int) -> _Hit | None:
    m = _at(_COUNTRY, text, p) if _opens(text, p) else None
    if m is None or not _closes(text, p + m.end()):
        return None
    return _Hit(p + m.end(), p, p + m.end())


def _oblast(text: str, p: int) -> _Hit | None:
    if not _opens(text, p):
        return None
    j = _capital_word_blank(text, p)  # "Волинська обл."
    if j is not None:
        for word, whole in _OBLAST_AFTER:
            if text.startswith(word, j) and (not whole or _closes(text, j + len(word))):
                return _Hit(j + len(word), p, j + len(word))
        return _crimea(text, p)
    for word in ("обл.", "область"):  # "область Волинська"
        if text.startswith(word, p):
            j = _skip_blank(text, p + len(word))
            e = _word_end(text, j) if j > p + len(word) else None
            return _Hit(e, p, e) if e is not None else None
    return _crimea(text, p)


def _crimea(text: str, p: int) -> _Hit | None:
    m = _at(_CRIMEA, text, p)
    return _Hit(p + m.end(), p, p + m.end()) if m is not None else None


def _hromada(text: str, p: int) -> _Hit | None:
    j = _capital_word_blank(text, p) if _opens(text, p) else None
    if j is None:
        return None
    starts = []
    for adj in _HROMADA_ADJ:  # "Луцька міська територіальна громада"
        k = j + len(adj)
        if text.startswith(adj, j) and k < len(text) and text[k] in _BLANK:
            starts.append(_skip_blank(text, k))
    starts.append(j)
    for k in starts:
        if text.startswith("територіальна", k):
            g = k + len("територіальна")
            g2 = _skip_blank(text, g)
            if g2 > g and text.startswith("громада", g2) and _closes(text, g2 + 7):
                return _Hit(g2 + 7, p, g2 + 7)
        e = _literal_end(text, k, _HROMADA_WORDS, whole=True)
        if e is not None:
            return _Hit(e, p, e)
    return None


def _raion(text: str, p: int) -> _Hit | None:
    if not _opens(text, p):
        return None
    j = _capital_word_blank(text, p)  # "Луцький р-н", "Луцького району"
    if j is not None:
        e = _literal_end(text, j, _RAION_AFTER, whole=False)
        if e is None:
            e = _literal_end(text, j, ("район", "району"), whole=True)
        if e is None and text.startswith("р.", j):
            k = _skip_space(text, j + 2)
            e = j + 2 if k < len(text) and text[k] == "," else None
        return _Hit(e, p, e) if e is not None else None
    for word in ("р-н.", "р-н", "район"):  # "р-н Луцький", "район Оболонь"
        if text.startswith(word, p):
            j = _skip_blank(text, p + len(word))
            e = _word_end(text, j) if j > p + len(word) else None
            if e is not None:
                return _Hit(e, p, e)
    return None


def _settlement(text: str, p: int) -> _Hit | None:
    if not _opens(text, p):
        return None
    for kind in _SETTLEMENT_KINDS:
        if text.startswith(kind, p):
            j = _skip_blank(text, p + len(kind))
            e = _name(text, j)
            if e is not None:
                return _Hit(e, j, e)
    if p < len(text) and text[p] in "мгс":  # "м Луцьк"
        j = _skip_blank(text, p + 1)
        if j > p + 1 and j < len(text) and text[j] in _UPPER:
            e = _name(text, j)
            if e is not None:
                return _Hit(e, j, e)
    return None


def _kind_then_name(
    rx: _Kind, text: str, p: int, whole: bool = False, street: bool = False
) -> _Hit | None:
    """A kind (`whole`: ending a word) and the name after it."""
    m = _at(rx, text, p) if _opens(text, p) else None
    if m is None or (whole and not _closes(text, p + m.end())):
        return None
    j = _skip_blank(text, p + m.end())
    e = _name(text, j, street=street)
    return _Hit(e, j, e) if e is not None else None


def _quarter(text: str, p: int) -> _Hit | None:
    return _kind_then_name(_QUARTER_KIND, text, p)


def _street_abbr(text: str, p: int) -> _Hit | None:
    m = _at(_STREET_ABBR, text, p) if _opens(text, p) else None
    if m is None:
        return None
    k = p + m.end()
    bare = m.group(1) is not None and m.end() == m.end(1)  # "вул" without its dot
    if bare and (k >= len(text) or text[k] not in _BLANK):
        return None
    j = _skip_blank(text, k)
    e = _name(text, j, street=True)
    return _Hit(e, j, e) if e is not None else None


def _street_word(text: str, p: int) -> _Hit | None:
    return _kind_then_name(_STREET_WORD, text, p, whole=True)


def _street_after(text: str, p: int) -> _Hit | None:
    if not _opens(text, p):
        return None

    def kind_end(e: int) -> int | None:
        j = _skip_blank(text, e)
        return _literal_end(text, j, _STREET_AFTER, whole=True) if j > e else None

    e = _name(text, p, accept=lambda e: kind_end(e) is not None)
    if e is None:
        return None
    end = kind_end(e)
    assert end is not None
    return _Hit(end, p, end)


def _pobox(text: str, p: int) -> _Hit | None:
    m = _at(_POBOX, text, p) if _opens(text, p) else None
    return _Hit(p + m.end(), p + m.start(1), p + m.end(1)) if m is not None else None


def _kind_end(rx: _Kind, text: str, p: int, bare_before: str) -> int | None:
    """The end of the kind at `p`; its bare form (group `a`, no dot) only before a
    character that `bare_before` allows (" " for white space, "d" also a digit)."""
    m = _at(rx, text, p) if _opens(text, p) else None
    if m is None:
        return None
    k = p + m.end()
    if m.group(1) is not None:
        nxt = text[k] if k < len(text) else ""
        if not (nxt.isspace() if bare_before == " " else (nxt in _BLANK or nxt.isdecimal())):
            return None
    return k


def _building(text: str, p: int) -> _Hit | None:
    k = _kind_end(_BUILDING_KIND, text, p, " ")
    if k is None:
        return None
    j = _skip_blank(text, k)
    if text.startswith("№", j):
        j = _skip_blank(text, j + 1)
    e = _house_number_end(text, j)
    return _Hit(e, j, e) if e is not None else None


def _block(text: str, p: int) -> _Hit | None:
    k = _kind_end(_BLOCK_KIND, text, p, " ")
    if k is None:
        return None
    j = _skip_blank(text, k)
    n = len(text)
    run = 0
    while j + run < n and run < 3 and _is_w(text[j + run]):
        run += 1
    for size in range(run, 0, -1):  # "\w{1,3}" giving back until no letter follows
        if _closes(text, j + size):
            return _Hit(j + size, j, j + size)
    return None


def _apartment(text: str, p: int) -> _Hit | None:
    k = _kind_end(_APARTMENT_KIND, text, p, "d")
    if k is None:
        return None
    j = _skip_blank(text, k)
    n = len(text)
    i = j
    while i < n and i - j <= 4 and text[i].isdecimal():
        i += 1
    if i == j or i - j > 4:
        return None

    def free(at: int) -> bool:
        return at >= n or not _is_w(text[at])

    if i + 1 < n and text[i] == "-" and text[i + 1] in _FLAT_LETTERS and free(i + 2):
        i += 2
    elif i < n and text[i] in _FLAT_LETTERS and free(i + 1):
        i += 1
    return _Hit(i, j, i)


class _Part(NamedTuple):
    kind: str
    at: Callable[[str, int], _Hit | None]
    # Where a match may start, for `_starts`: at its kind's words (`lead`); at a
    # capitalised word whose blanks after it are followed by one of the letters `then`
    # ("Волинська обл."); or at a name that one of the words `before` follows
    # ("Андріївський узвіз").
    lead: saferegex.Pattern[str] | None = None
    then: str = ""
    before: saferegex.Pattern[str] | None = None


_STREET_AFTER_LEAD = saferegex.compile("[ \t](?:" + "|".join(_STREET_AFTER) + ")")
_PARTS: tuple[_Part, ...] = (
    _Part("postcode", _postcode, _POSTCODE_LEAD),
    _Part("country", _country, _COUNTRY.rx),
    _Part("oblast", _oblast, _OBLAST_LEAD, then="о"),
    _Part("hromada", _hromada, then="мстгОТ"),
    _Part("raion", _raion, _RAION_LEAD, then="р"),
    _Part("settlement", _settlement, _SETTLEMENT_LEAD),
    _Part("quarter", _quarter, _QUARTER_LEAD),
    _Part("street", _street_abbr, _STREET_ABBR.rx),
    _Part("street", _street_word, _STREET_WORD.rx),
    _Part("street", _street_after, before=_STREET_AFTER_LEAD),
    _Part("pobox", _pobox),
    _Part("building", _building),
    _Part("block", _block),
    _Part("apartment", _apartment),
)
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


def _bare_number(text: str, p: int) -> _Hit | None:
    e = _house_number_end(text, p)
    return _Hit(e, p, e) if e is not None else None


def _bare_place(text: str, p: int) -> _Hit | None:
    e = _name(text, p) if _opens(text, p) else None
    return _Hit(e, p, e) if e is not None else None


def _unmarked_street(text: str, p: int) -> _Hit | None:
    """A name with a house number after it: "Ковельська 20"."""

    def number_follows(e: int) -> bool:
        j = _skip_blank(text, e)
        if j < len(text) and text[j] == ",":
            j = _skip_blank(text, j + 1)
        k = j
        while k < len(text) and k - j <= 4 and text[k].isdecimal():
            k += 1
        return 1 <= k - j <= 4

    e = _name(text, p, accept=number_follows) if _opens(text, p) else None
    return _Hit(e, p, e) if e is not None else None


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


# The parts found at each position, by the part's index in `_PARTS`: `_starts` and `_run`
# look at the same positions, and a hostile letter has thousands of them.
_Seen = dict[tuple[int, int], "_Hit | None"]


def _part_hit(seen: _Seen, i: int, text: str, pos: int) -> _Hit | None:
    key = (i, pos)
    if key not in seen:
        seen[key] = _PARTS[i].at(text, pos)
    return seen[key]


def _part_at(text: str, pos: int, parts: dict[str, str], seen: _Seen) -> tuple[str, _Hit] | None:
    for i, part in enumerate(_PARTS):
        if part.kind in parts and part.kind not in ("raion",):
            continue
        hit = _part_hit(seen, i, text, pos)
        if hit is not None:
            return part.kind, hit
    # A bare number right after the street is its building ("вул. Шевченка 12").
    if "street" in parts and "building" not in parts and parts.get("_last") == "street":
        hit = _bare_number(text, pos)
        if hit is not None:
            return "building", hit
    # After the settlement, a name with a number is the street without its kind:
    # "Луцьк, Ковельська 20, кв. 4".
    if "settlement" in parts and "street" not in parts and parts.get("_last") == "settlement":
        hit = _unmarked_street(text, pos)
        if hit is not None:
            return "street", hit
    # A bare city name: "..., кв. 45, Луцьк" or "Луцьк 43025".
    if "settlement" not in parts:
        hit = _bare_place(text, pos)
        if hit is not None and _is_known_city(text[hit.v_start : hit.v_end]):
            return "settlement", hit
    return None


def _separator_end(text: str, i: int) -> int:
    """After the commas, semicolons and white space between two parts."""
    n = len(text)
    while i < n and (text[i] in ",;" or text[i].isspace()):
        i += 1
    return i


def _run(text: str, pos: int, seen: _Seen) -> Address | None:
    """The longest run of address parts from `pos` (which must hold a starter)."""
    parts: dict[str, str] = {}
    start, end = pos, pos
    cur = pos
    while True:
        found = _part_at(text, cur, parts, seen)
        if found is None:
            break
        kind, hit = found
        if not parts and kind not in _STARTERS:
            return None
        value = text[hit.v_start : hit.v_end].strip()
        if kind == "raion" and "raion" in parts:
            parts["raion"] += ", " + value
        else:
            parts[kind] = value
        parts["_last"] = kind
        end = hit.end
        cur = _separator_end(text, end)
        # An address does not run into the next paragraph.
        if text.count("\n", end, cur) >= 2:
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


def _word_starts(text: str) -> tuple[list[int], list[int]]:
    """Where a capitalised word or a number starts (no letter before it), and where each
    run of blanks starts."""
    words, blanks = [], []
    after_letter = after_blank = False
    for i, c in enumerate(text):
        if not after_letter and (c in _UPPER or c.isdecimal()):
            words.append(i)
        blank = c in _BLANK
        if blank and not after_blank:
            blanks.append(i)
        after_letter, after_blank = c in _LETTERS, blank
    return words, blanks


# The most runs of blanks inside a name and before the kind after it: after a number, two
# initials and each of four words ("8 Т. Г. Шевченка ... узвіз").
_NAME_BLANKS = 13


def _starts(text: str, seen: _Seen) -> list[int]:
    """Where each starter part is found scanning the text left to right, each search going
    on after the match before it (what `finditer` of each part's pattern gave), and where a
    known city's name is."""
    found: set[int] = set()
    n = len(text)
    words, blanks = _word_starts(text)
    after = [_capital_word_blank(text, p) for p in words]
    for i, part in enumerate(_PARTS):
        if part.kind not in _STARTERS:
            continue
        candidates = {m.start() for m in part.lead.finditer(text)} if part.lead else set()
        if part.then:
            candidates.update(
                p
                for p, j in zip(words, after, strict=True)
                if j is not None and j < n and text[j] in part.then
            )
        if part.before:
            # Only a name can stand between `p` and the kind (a blank inside a name is
            # followed by a capital or a number, never by a kind): at most so many blanks.
            kinds = [m.start() for m in part.before.finditer(text)]
            for p in words:
                k = bisect.bisect_left(kinds, p)
                if k < len(kinds) and (
                    bisect.bisect_left(blanks, kinds[k]) - bisect.bisect_left(blanks, p)
                    <= _NAME_BLANKS
                ):
                    candidates.add(p)
        cur = 0
        for p in sorted(candidates):
            if p < cur:
                continue
            hit = _part_hit(seen, i, text, p)
            if hit is not None:
                found.add(p)
                cur = hit.end
    cur = 0
    for p in words:
        if p < cur:
            continue
        e = _name(text, p)
        if e is not None:
            if _is_known_city(text[p:e]):
                found.add(p)
            cur = e
    return sorted(found)


def find_addresses(text: str) -> list[Address]:
    """Every address-like run in `text`, longest first where runs overlap, in text order."""
    out: list[Address] = []
    taken_until = -1
    seen: _Seen = {}
    for pos in _starts(text, seen):
        if pos < taken_until:
            continue
        addr = _run(text, pos, seen)
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
    p = len(head) - len(head.lstrip())
    # The whole head: the name, then at most a comma (the name sees nothing after head).
    e = _name(head, p, accept=lambda e: head[e:].strip() in ("", ","))
    if e is None:
        return addr
    parts = {"settlement": head[p:e], **addr.parts}
    return Address(p, addr.end, _one_line(line[p : addr.end]), parts)


_LONG_KINDS = (
    ("вулиця", "вул"),
    ("будинок", "буд"),
    ("квартира", "кв"),
    ("проспект", "просп"),
    ("провулок", "пров"),
    ("область", "обл"),
    ("район", "р-н"),
    ("місто", "м"),
    ("село", "с"),
)
_NOT_WORD = saferegex.compile(r"[^\w']+")


def _replace_word(s: str, long: str, short: str) -> str:
    """`s` with every `long` that stands as a whole word replaced by `short`."""
    out, i = [], 0
    at = s.find(long)
    while at != -1:
        after = at + len(long)
        if (at == 0 or not _is_w(s[at - 1])) and (after >= len(s) or not _is_w(s[after])):
            out.append(s[i:at])
            out.append(short)
            i = after
            at = s.find(long, after)
        else:
            at = s.find(long, at + 1)
    out.append(s[i:])
    return "".join(out)


def normalise(text: str) -> str:
    """An address reduced for comparison: lower case, letters and digits only, and the
    kinds' long forms as their abbreviations."""
    s = text.lower().replace("’", "'").replace("ʼ", "'")
    for long, short in _LONG_KINDS:
        s = _replace_word(s, long, short)
    return _NOT_WORD.sub(" ", s).strip()
