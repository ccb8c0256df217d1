"""Who wrote the appeal: name, e-mail, postal address and phone of the citizen.

The e-mail is the one an answer must go to: Reply-To when present, else From. The name is
taken from the signature when the citizen signs (Art. 5 asks for surname, name and
patronymic, and people often sign with all three while their mail account shows a
nickname), else from the From display name. The residence address and a phone number are
found in labelled lines ("Адреса: ...", "проживаю за адресою ...") or in a line shaped like
a Ukrainian address ("м. Луцьк, вул. Шевченка, 12, кв. 5").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from routing.mail import ParsedMail

_UP = "А-ЯІЇЄҐЁ"
_LO = "а-яіїєґё'’ʼ-"
_NAME_WORD = rf"[{_UP}][{_LO}]+"
_INITIALS = rf"[{_UP}]\.\s?[{_UP}]\."
# "Іваненко Петро Степанович", "Петро Іваненко", "Іваненко П.С.", "Іваненко П. С."
_FULL_NAME = re.compile(
    rf"^(?:{_NAME_WORD}(?:\s+{_NAME_WORD}){{1,2}}|{_NAME_WORD}\s+{_INITIALS}|{_INITIALS}\s*{_NAME_WORD})$"
)
_CLOSING = re.compile(
    r"^(?:з\s+повагою|з\s+пошаною|с\s+уважением|щиро\s+ваш\w*|дякую|спасибо)\s*[,.!]?\s*(.*)$",
    re.I,
)
_LABELLED_NAME = re.compile(
    r"^(?:піб|п\.і\.б\.|фио|ф\.и\.о\.|заявник|заявитель)\s*[:\-]\s*(.+)$", re.I
)
_LABELLED_ADDR = re.compile(
    r"(?:адреса|адрес|місце\s+проживання|проживаю\s+за\s+адресою|проживаю\s+по\s+адресу|"
    r"мешкаю\s+за\s+адресою)\s*[:\-]?\s*(.{6,160})",
    re.I,
)
_ADDR_SHAPE = re.compile(
    r"((?:м\.|місто|г\.|смт\.?|с\.)\s*[^\n,]{2,40},\s*)?"
    r"(?:вул\.|вулиця|ул\.|улица|просп\.|проспект|пров\.|провулок|бульв\.|бульвар|пл\.|площа)"
    r"\s*[^\n]{2,100}",
    re.I,
)
_PHONE = re.compile(r"(?<!\d)(?:\+?38\s?)?\(?0\d{2}\)?[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?!\d)")


@dataclass(frozen=True)
class CitizenInfo:
    name: str | None
    email: str | None
    address: str | None
    phone: str | None
    name_source: str  # signature | labelled | header | none


def _as_name(s: str) -> str | None:
    s = s.strip().rstrip(",")
    for cand in (s, s.rstrip(".")):
        if cand and _FULL_NAME.match(cand):
            return cand
    return None


def _signature_name(lines: list[str]) -> str | None:
    for i, line in enumerate(lines):
        s = line.strip()
        m = _LABELLED_NAME.match(s)
        if m and _as_name(m.group(1)):
            return _as_name(m.group(1))
        m = _CLOSING.match(s)
        if m:
            if _as_name(m.group(1)):
                return _as_name(m.group(1))
            for nxt in lines[i + 1 : i + 3]:
                if _as_name(nxt):
                    return _as_name(nxt)
    # A short last line of two or three capitalised words is very often the name.
    for line in reversed(lines[-4:]):
        if _as_name(line):
            return _as_name(line)
    return None


def extract_citizen(parsed: ParsedMail, text: str) -> CitizenInfo:
    sender = parsed.reply_to or parsed.from_addr
    email = sender.email.lower() if sender else None
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    name = _signature_name(lines)
    source = "signature" if name else "none"
    if name is None and parsed.from_addr and parsed.from_addr.name.strip():
        name, source = parsed.from_addr.name.strip().strip('"'), "header"
    address = None
    m = _LABELLED_ADDR.search(text)
    if m:
        address = m.group(1).strip().rstrip(".")
    else:
        m2 = _ADDR_SHAPE.search(text)
        if m2:
            address = m2.group(0).strip().rstrip(".")
    phone_m = _PHONE.search(text)
    return CitizenInfo(
        name=name,
        email=email,
        address=address,
        phone=phone_m.group(0).strip() if phone_m else None,
        name_source=source,
    )
