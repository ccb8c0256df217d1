"""Who wrote the appeal: name, e-mail, postal address and phones of the citizen, each with
where it was found and how sure that is.

Art. 5 of the Law "On citizens' appeals" asks for the surname, name and place of
residence; the department needs a phone to call back. People give these in a signature
block (after "З повагою,", or as the last lines of the letter), in labelled lines
("Адреса: ...", "ПІБ: ...", "тел. ..."), or in a sentence ("я проживаю за адресою ...").
A street named in the complaint itself ("яма на вул. Франка", "біля будинку на вул.
Рівненській, 12") is the place of the problem, not the citizen's address: it is kept apart
as `location` and never taken for the postal address. Only when the letter gives no
address of its own is a house it names ("у будинку на вул. Лесі Українки, 7 немає води",
most often the writer's) taken, as unsure. Addresses are read by `routing.addresses`,
phones by `routing.phones`.

How sure each field is (`Evidence.sure`):
- certain: a labelled line, or the signature block after a closing phrase;
- likely: the last lines of the letter without a closing phrase, a residence sentence,
  a phone the citizen calls their own;
- unsure: the From display name, "у нашому будинку по вул. ...", a house named in the
  text, a phone in the text with nothing saying whose it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import saferegex
from routing import addresses, phones
from routing.mail import ParsedMail

Sure = Literal["certain", "likely", "unsure"]
_RANK = {"certain": 0, "likely": 1, "unsure": 2}

_UP = "А-ЯІЇЄҐЁA-Z"
_LO = "а-яіїєґёa-z'’ʼ"
# "Коваленко", "Косач-Квітка", and a surname in capitals as forms have it ("КОВАЛЕНКО").
_NAME_WORD = rf"(?:[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?|[{_UP}]{{2,}}(?:-[{_UP}]{{2,}})?)"
_INITIALS = rf"[{_UP}]\.\s?[{_UP}]\."
# "Іваненко Петро Степанович", "Петро Іваненко", "Іваненко П.С.", "П. С. Іваненко"
_FULL_NAME = saferegex.compile(
    rf"^(?:{_NAME_WORD}(?:\s+{_NAME_WORD}){{1,2}}|{_NAME_WORD}\s+{_INITIALS}|"
    rf"{_INITIALS}\s*{_NAME_WORD})$"
)
_CLOSING = saferegex.compile(
    r"^\s*(?:з\s+повагою|з\s+пошаною|із\s+повагою|с\s+уважением|с\s+повагою|щиро\s+ваш\w*|"
    r"заздалегідь\s+дякую|заранее\s+спасибо|дякую|спасибо|kind\s+regards|best\s+regards|"
    r"regards|sincerely|--)(.*)$",
    saferegex.IGNORECASE,
)
_LABELLED_NAME = saferegex.compile(
    r"^\s*(?:піб|п\.і\.б\.|прізвище,?\s+ім'я(?:,?\s+по\s+батькові)?|фио|ф\.и\.о\.|заявник|"
    r"заявниця|заявитель|name)\s*[:\-–]\s*(.+)$",
    saferegex.IGNORECASE,
)
# "Я, Коваленко Марія Іванівна, мешканка ..." opens many formal appeals.
_I_NAME = saferegex.compile(rf"(?m)^\s*(?:Я|I),\s+({_NAME_WORD}(?:\s+{_NAME_WORD}){{1,2}})\s*,")
_LABELLED_ADDR = saferegex.compile(
    r"^\s*(?:(?:моя\s+)?(?:домашня\s+|поштова\s+)?адреса(?:\s+проживання|\s+для\s+листування|"
    r"\s+реєстрації)?|адрес(?:\s+проживания)?|місце\s+проживання|(?:home\s+|postal\s+)?address|"
    r"проживаю|мешкаю)\s*[:\-–]\s*",
    saferegex.IGNORECASE,
)
_RESIDENCE = saferegex.compile(
    r"(?:проживаю|мешкаю|живу|проживающ\w*|проживає|мешкає|зареєстрован\w*|прописан\w*)"
    r"(?:\s+(?:за\s+адресою|по\s+адресу|на|в|у|по|за))?\s*[:\-]?\s*$",
    saferegex.IGNORECASE,
)
_OUR_HOUSE = saferegex.compile(
    r"(?:(?:у|в)\s+(?:нашому|моєму|нашем|моем)\s+(?:будинку|доме)|(?:наш|мій|наш\s+житловий)"
    r"\s+будинок|нашого\s+будинку|мешканці\s+будинку|жители\s+дома|нашего\s+дома)"
    # The words end there, and at most 25 characters of the same sentence follow. (`$`
    # as Python's: the end, or before a last newline.)
    r"(?:[^\w.\n][^.\n]{0,24})?\n?$",
    saferegex.IGNORECASE,
)
# A house the problem is next to, not one the writer names as theirs.
_NEAR = saferegex.compile(
    r"(?i)(?:^|\W)(?:біля|поблизу|поруч\s+з|навпроти|напроти|перед|між|за|від|до|"
    r"возле|около|напротив|рядом\s+с|near|opposite)(?:[^\w,.;\n][^,.;\n]*)?\n?$"
)
_PHONE_LABEL_ON_LINE = saferegex.compile(
    r"(?:^|\W)(?:тел|телефон|моб|phone|tel|mob|viber|вайбер|telegram|т\.)", saferegex.IGNORECASE
)
_PHONE_MINE = saferegex.compile(
    r"(?:мій|мого|мене|мені|зі\s+мною|зо\s+мною|мой|мне|меня|со\s+мной|my|me|"
    r"за\s+номером|по\s+номеру|контакт\w*)",
    saferegex.IGNORECASE,
)
# Numbers in the complaint that belong to someone else: a utility, a dispatcher, a hotline.
_PHONE_OTHERS = saferegex.compile(
    r"(?:жек|жео|осбб|компані|диспетчер|служб|гаряч|лінія|лінії|цнап|ради|управлін|"
    r"водоканал|обленерго|газ|поліці|підрядник|перевізник|директор|голов)",
    saferegex.IGNORECASE,
)
# With the word's neighbours, which two labels in a row share ("тел моб"): see
# `_only_labels`.
_LINE_LABELS = saferegex.compile(
    r"(?i)(?:^|\W)(?:моя|мій|домашня|домашній|поштова|адреса|адрес|address|проживання|"
    r"проживаю|мешкаю|контактний|контактный|мобільний|мобильный|тел|телефон|моб|дом|"
    r"mob|phone|tel|т|viber|вайбер|telegram|e-?mail|пошта|україна|ukraine)(?:\W|$)"
)
# A letter: Python's `[^\W\d_]` (\w without digits and "_") spelled for RE2.
_LETTER = r"[\p{L}\p{Nl}\p{No}]"
_NOT_LETTERS = saferegex.compile(r"[^\p{L}\p{Nl}\p{No}]+")
_HEADER_NAME = saferegex.compile(rf"{_LETTER}+(?:[\s'’ʼ.-]+{_LETTER}+)*\.?")
_EMAIL = saferegex.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ATTACHED = "----- Вкладений лист"
# What ends a labelled address's value (`_value_end`): a phone, an e-mail, a sentence...
_VALUE_END = saferegex.compile(r"¤|(?i:e-?mail)|[\w.+-]+@|\.\s+[А-ЯІЇЄҐ]")
# ... or a phone's label, where a word starts.
_PHONE_WORD = saferegex.compile(r"(?i)(?:^|\W)(тел|моб)")
_DIGIT = saferegex.compile(r"\d")
_MAX_SIGNATURE_LINES = 8


@dataclass(frozen=True)
class Evidence:
    """Where a field was found and how sure that is."""

    how: str  # labelled | signature | opening | text | header | first-appeal | supplement
    sure: Sure


@dataclass(frozen=True)
class CitizenInfo:
    name: str | None
    email: str | None
    address: str | None
    phone: str | None  # every phone found, shown and joined by ", "
    name_source: str  # signature | labelled | text | header | first-appeal | none
    phones: tuple[str, ...] = ()
    location: str | None = None  # a place the text is about, not the postal address
    evidence: Mapping[str, Evidence] = field(default_factory=dict)

    def as_flags(self) -> dict[str, Any]:
        """What the appeal keeps about the extraction (for the forward's contact block)."""
        out: dict[str, Any] = {f: {"how": e.how, "sure": e.sure} for f, e in self.evidence.items()}
        if self.location:
            out["location"] = self.location
        return out


@dataclass(frozen=True)
class _Line:
    start: int
    text: str


def _closing(line: str) -> str | None:
    """What follows a closing phrase ("З повагою, Іван Петренко" -> "Іван Петренко") that
    opens `line`, or None when the line does not open with one."""
    m = _CLOSING.match(line)
    if m is None:
        return None
    rest: str = m.group(1)
    if rest[:1] == "-" or rest[:1].isalnum() or rest[:1] == "_":
        return None  # the phrase is part of a longer word ("Дякуючи", "---")
    rest = rest.lstrip()
    if rest[:1] in (",", ".", "!"):
        rest = rest[1:]
    return rest.lstrip()


def _lines(text: str) -> list[_Line]:
    out, pos = [], 0
    for raw in text.split("\n"):
        out.append(_Line(pos, raw))
        pos += len(raw) + 1
    return out


def _as_name(s: str) -> str | None:
    s = s.strip().rstrip(",")
    for cand in (s, s.rstrip(".")):
        if cand and _FULL_NAME.match(cand) and not _looks_like_place(cand):
            return cand
    return None


def _looks_like_place(s: str) -> bool:
    found = addresses.parse_address(s)
    return found is not None and found.end - found.start >= len(s) - 2


def _only_labels(rest: str) -> bool:
    """Nothing but labels ("Адреса:", "тел.", "моб."), e-mails and punctuation."""
    rest = _EMAIL.sub(" ", rest)
    # Each pass takes every other one of labels that share a separator; a label's
    # neighbours are separators, which the count below leaves out anyway.
    while (shorter := _LINE_LABELS.sub(" ", rest)) != rest:
        rest = shorter
    return len(_NOT_LETTERS.sub("", rest)) <= 2


def _lead_name(s: str) -> tuple[str | None, str]:
    """A name that opens a line before a comma ("Любов Гордійчук, Ковель, ...") and the
    rest of the line."""
    head, sep, rest = s.partition(",")
    name = _as_name(head) if sep else None
    return (name, rest) if name else (None, s)


def _contact_line(s: str) -> bool:
    """A line a signature block is made of: a name, an address, a phone, an e-mail, a
    label, or a client's tag line."""
    t = s.strip()
    if not t:
        return False
    if _as_name(t) or _EMAIL.fullmatch(t) or _LABELLED_ADDR.match(t) or _LABELLED_NAME.match(t):
        return True
    if _CLIENT_TAG.match(t):
        return True
    name, t = _lead_name(t)
    masked = _mask_phones(t)
    if ("¤" in masked or _EMAIL.search(masked)) and _only_labels(masked):
        return True
    found = addresses.parse_address(masked)
    if found is not None:
        # Nothing else on the line but labels and phones.
        return _only_labels(masked[: found.start] + " " + masked[found.end :])
    return name is not None and _only_labels(masked)


def _mask_phones(s: str) -> str:
    """`s` with every phone number replaced by "¤" of the same length (offsets kept), so
    that no digit of a phone is read as a house number or a postcode."""
    for p in phones.find_phones(s):
        s = s[: p.start] + "¤" * (p.end - p.start) + s[p.end :]
    return s


_CLIENT_TAG = saferegex.compile(
    r"(?i)^\s*(?:sent from|надіслано з|відправлено з|отправлено (?:с|из)|get outlook)"
)


def _only_client_tags(lines: list[_Line]) -> bool:
    """Lines that are a mail client's tag ("Надіслано з iPhone") and blank ones, at least
    one of them a tag."""
    text = [ln.text for ln in lines if ln.text.strip()]
    return bool(text) and all(_CLIENT_TAG.match(t) for t in text)


def _opening_block(lines: list[_Line]) -> int:
    """How many lines at the top are a contact block ("м. Луцьк, вул. ...\nЛеся Кравчук,
    тел. ..." before the text): 0 when the letter starts with its text."""
    n = 0
    while n < len(lines) and n < 6 and lines[n].text.strip():
        if not _contact_line(lines[n].text):
            return 0
        n += 1
    return n if n < len(lines) else 0


def _signature_start(lines: list[_Line]) -> tuple[int, bool]:
    """Index of the first signature line and whether a closing phrase opened it."""
    for i in range(len(lines) - 1, -1, -1):
        m = _closing(lines[i].text)
        if m is not None and not m.strip() and _only_client_tags(lines[i + 1 :]):
            # "--" before the webmail's "Надіслано з ukr.net": not the citizen's signature.
            continue
        # A long line that opens with "Дякую" is a sentence, unless a name follows it
        # ("З повагою, Тимофій Гаврищук, м. Рівне, ..." all on one line).
        short = len(lines[i].text.strip()) <= 80 or (m is not None and _lead_name(m)[0])
        if m is not None and short and len(lines) - i <= _MAX_SIGNATURE_LINES + 1:
            return i, True
    i = len(lines)
    while i > 0 and (not lines[i - 1].text.strip() or _contact_line(lines[i - 1].text)):
        i -= 1
        if len(lines) - i > _MAX_SIGNATURE_LINES + 2:
            break
    return i, False


def _name(lines: list[_Line], sig: int, closed: bool, text: str) -> tuple[str, Evidence] | None:
    for ln in lines:
        m = _LABELLED_NAME.match(ln.text)
        if m and _as_name(m.group(1)):
            return _as_name(m.group(1)) or "", Evidence("labelled", "certain")
    block = lines[sig:]
    if closed and block:
        rest = _closing(block[0].text) or ""
        for cand in (rest, *(ln.text for ln in block[1:4])):
            found = _as_name(cand) or _lead_name(cand)[0]
            if found:
                return found, Evidence("signature", "certain")
    for ln in block:
        found = _as_name(ln.text) or _lead_name(ln.text)[0]
        if found:
            return found, Evidence("signature", "likely")
    for ln in lines[: _opening_block(lines[:sig])]:
        found = _as_name(ln.text) or _lead_name(ln.text)[0]
        if found:
            return found, Evidence("opening", "likely")
    m = _I_NAME.search(text)
    if m:
        return m.group(1), Evidence("text", "likely")
    return None


@dataclass(frozen=True)
class _Place:
    address: addresses.Address
    evidence: Evidence


def _labelled_address(text: str, lines: list[_Line]) -> _Place | None:
    for ln in lines:
        m = _LABELLED_ADDR.match(ln.text)
        if not m:
            continue
        start = ln.start + m.end()
        # The address may go on over the next lines ("Адреса:\nвул. ...\nм. Луцьк").
        chunk = _mask_phones(text[start : start + 300])
        found = addresses.find_addresses(chunk)
        first_line = chunk.split("\n", 1)[0]
        lead = len(chunk) - len(chunk.lstrip())
        if found:
            # "Адреса: Нові Млини, вул. Миру, 3": an unmarked place name before the street.
            a = addresses.with_leading_place(first_line, found[0])
            if a.start <= lead + 2:
                return _Place(_shift(a, start), Evidence("labelled", "certain"))
        # Not a shape the parser knows: the line up to a phone, an e-mail or a sentence.
        value = first_line[: _value_end(first_line)].strip(" ,;.:-–")
        if len(value) >= 4 and _DIGIT.search(value):
            a = addresses.Address(0, len(value), value, {})
            return _Place(_shift(a, start), Evidence("labelled", "likely"))
    return None


def _value_end(line: str) -> int:
    """Where a labelled address line's value ends: at a phone, a "тел"/"моб" label, an
    e-mail, or a new sentence (the earliest of them), else the end of the line."""
    end, label = _VALUE_END.search(line), _PHONE_WORD.search(line)
    return min(
        end.start() if end is not None else len(line),
        label.start(1) if label is not None else len(line),
    )


def _shift(a: addresses.Address, by: int) -> addresses.Address:
    return addresses.Address(a.start + by, a.end + by, a.text, a.parts)


def _block_address(
    text: str, start: int, end: int, how: str, sure_if_postal: Sure
) -> _Place | None:
    """The fullest address in text[start:end] (a block of contact lines)."""
    if start >= end:
        return None
    block = _mask_phones(text[start:end])
    # A settlement alone counts when its kind is written ("м. Луцьк" on its own line).
    found = [
        a
        for a in addresses.find_addresses(block)
        if a.size >= 2 or a.postal or a.parts.get("settlement", a.text) != a.text
    ]
    if not found:
        return None
    # Consecutive lines of one address are one run already; of several, the fullest.
    best = max(found, key=lambda a: (a.postal, a.size))
    line_start = block.rfind("\n", 0, best.start) + 1
    line_end = block.find("\n", best.start)
    line = block[line_start : line_end if line_end >= 0 else len(block)]
    widened = addresses.with_leading_place(line, _shift(best, -line_start))
    best = _shift(widened, line_start)
    sure: Sure = sure_if_postal if best.postal else "likely"
    return _Place(_shift(best, start), Evidence(how, sure))


def _text_places(text: str, body_start: int, body_end: int) -> list[tuple[addresses.Address, str]]:
    """Addresses mentioned in the body, each with what it is to the citizen: "lives"
    (a residence sentence), "ours" ("у нашому будинку по ..."), "house" (a house named
    without either: often the writer's own, "у будинку на вул. Лесі Українки, 7 немає
    води") or "place" (a street, or a house the problem is near: "яма на вул. Франка",
    "біля будинку на вул. Рівненській, 12")."""
    out: list[tuple[addresses.Address, str]] = []
    # Offsets stay those of `text`: the part before the body is blanked, not cut.
    masked = " " * body_start + _mask_phones(text[body_start:body_end])
    for a in addresses.find_addresses(masked):
        if "street" not in a.parts and not a.postal:
            continue
        before = masked[max(0, a.start - 60) : a.start]
        if _RESIDENCE.search(before):
            out.append((a, "lives"))
        elif _OUR_HOUSE.search(before):
            out.append((a, "ours"))
        elif a.postal and not _NEAR.search(before[-30:]):
            out.append((a, "house"))
        else:
            out.append((a, "place"))
    return out


def _phones(
    text: str, lines: list[_Line], sig: int, closed: bool, body_start: int
) -> tuple[list[str], Evidence | None]:
    sig_start = lines[sig].start if sig < len(lines) else len(text)
    own: list[tuple[str, Evidence]] = []  # the signature's and labelled lines' phones
    mine: list[str] = []
    unsure: list[str] = []
    for p in phones.find_phones(text):
        line_start = text.rfind("\n", 0, p.start) + 1
        before = text[line_start : p.start]
        near = text[max(0, p.start - 50) : p.start]
        labelled = _PHONE_LABEL_ON_LINE.search(before) is not None
        if p.end <= body_start:
            own.append((p.display, Evidence("opening", "certain" if labelled else "likely")))
        elif p.start >= sig_start:
            sure: Sure = "certain" if closed or labelled else "likely"
            own.append((p.display, Evidence("signature", sure)))
        elif labelled and not _PHONE_OTHERS.search(near):
            own.append((p.display, Evidence("labelled", "certain")))
        elif _PHONE_MINE.search(near):
            mine.append(p.display)
        elif not _PHONE_OTHERS.search(near):
            unsure.append(p.display)
    if own:
        best = min((ev for _, ev in own), key=lambda ev: _RANK[ev.sure])
        return list(dict.fromkeys(d for d, _ in own)), best
    if mine:
        return list(dict.fromkeys(mine)), Evidence("text", "likely")
    if unsure:
        return list(dict.fromkeys(unsure)), Evidence("text", "unsure")
    return [], None


def _join_phones(shown: list[str], limit: int = 60) -> str | None:
    """The phones as one value that fits the appeal's column (60 characters)."""
    out = ""
    for p in shown:
        cand = f"{out}, {p}" if out else p
        if len(cand) > limit:
            break
        out = cand
    return out or None


def _header_name(display: str) -> bool:
    """A From display name that may be the person's: "Олена Коваль", not "kitty77"."""
    s = display.strip().strip('"')
    if not s or "@" in s:
        return False
    return len(s.split()) >= 2 or _HEADER_NAME.fullmatch(s) is not None


def _same_house(location: str, address: addresses.Address) -> bool:
    loc = addresses.parse_address(location)
    if loc is None:
        return False
    keys = ("street", "building")
    return all(
        addresses.normalise(loc.parts.get(k, "")) == addresses.normalise(address.parts.get(k, ""))
        for k in keys
    ) or addresses.normalise(location) == addresses.normalise(address.text)


def extract_citizen(parsed: ParsedMail, text: str) -> CitizenInfo:
    """`text` is the citizen's text with its signature (quoted history taken out); what
    follows an attached message's marker is someone else's letter and is not read."""
    sender = parsed.reply_to or parsed.from_addr
    email = sender.email.lower() if sender else None
    own = text.replace("\r\n", "\n").split(_ATTACHED, 1)[0]
    lines = _lines(own)
    sig, closed = _signature_start(lines)
    evidence: dict[str, Evidence] = {}

    name: str | None = None
    source = "none"
    named = _name(lines, sig, closed, own)
    if named is not None:
        name, ev = named
        evidence["name"] = ev
        source = ev.how
    elif parsed.from_addr and _header_name(parsed.from_addr.name):
        # The mail account's display name: often the person, sometimes a nickname
        # ("kitty77", which is not taken) or a relative's account.
        name, source = parsed.from_addr.name.strip().strip('"'), "header"
        evidence["name"] = Evidence("header", "unsure")

    body_end = lines[sig].start if sig < len(lines) else len(own)
    top = _opening_block(lines[:sig])
    body_start = lines[top].start if top else 0
    mentions = _text_places(own, body_start, body_end)
    place = (
        _labelled_address(own, lines)
        or _block_address(own, body_end, len(own), "signature", "certain" if closed else "likely")
        or _block_address(own, 0, body_start, "opening", "likely")
    )
    if place is None:
        # No address of the citizen's own: what the text says of where they live, and
        # failing that a house it names, shown to the department as unsure (Art. 5 then
        # takes it, rather than returning a letter whose writer most likely lives there).
        for role, sure in (("lives", "likely"), ("ours", "unsure"), ("house", "unsure")):
            found = next((a for a, r in mentions if r == role), None)
            if found is not None:
                place = _Place(found, Evidence("text", cast(Sure, sure)))
                break
    address = place.address.text.rstrip(".") if place else None
    if place is not None:
        evidence["address"] = place.evidence
    location = next(
        (
            a.text
            for a, _ in mentions
            if place is None or not (a.start < place.address.end and place.address.start < a.end)
        ),
        None,
    )
    if location and place is not None and _same_house(location, place.address):
        # "У нашому будинку по вул. Шевченка, 12" and the signature's "вул. Шевченка, 12,
        # кв. 45": the problem is at the citizen's own house, which the address says.
        location = None

    shown, phone_ev = _phones(own, lines, sig, closed, body_start)
    if phone_ev is not None:
        evidence["phone"] = phone_ev
    return CitizenInfo(
        name=name,
        email=email,
        address=address,
        phone=_join_phones(shown),
        name_source=source,
        phones=tuple(shown),
        location=location,
        evidence=evidence,
    )
