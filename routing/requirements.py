"""Art. 5 completeness, Art. 8 anonymity, and collective appeals.

Law 393/96-ВР Art. 5: an appeal states the citizen's surname, name (and patronymic), place
of residence and the essence of the issue; an electronic appeal also gives an e-mail
address for the answer. One that does not is returned with an explanation within 10 days.
Art. 8: an anonymous appeal (no residence address, or authorship cannot be established) is
not considered. Appeals may be individual or collective (several signatories).
"""

from __future__ import annotations

from dataclasses import dataclass

import saferegex

MISSING_LABELS = {
    "name": ("прізвище та ім'я", "surname and name"),
    "address": ("місце проживання (адресу)", "place of residence (address)"),
    "email": ("адресу електронної пошти для відповіді", "an e-mail address for the answer"),
    "essence": ("суть порушеного питання", "the essence of the issue"),
}

_CYR_WORD = r"[А-ЯІЇЄҐЁ][а-яіїєґё'’ʼ-]+"
_MIN_ESSENCE_CHARS = 25
_NAME_SEP = saferegex.compile(r"[\s,]+")
_DETAIL_LABEL_LINE = saferegex.compile(
    r"(?im)^\s*(?:адреса|адрес|тел\.?|телефон|піб|з повагою|с уважением)\s*:?\s*$"
)


@dataclass(frozen=True)
class Completeness:
    missing: tuple[str, ...]
    anonymous: bool

    @property
    def complete(self) -> bool:
        return not self.missing


def full_name_given(name: str | None) -> bool:
    """Surname and name: two words or more (initials count: 'Іваненко П.С.')."""
    if not name:
        return False
    words = [w for w in _NAME_SEP.split(name.strip()) if any(c.isalnum() or c == "_" for c in w)]
    return len(words) >= 2 and not any("@" in w for w in words)


def essence_of(text: str, *parts: str | None) -> str:
    """The text with the citizen's own details (name, address, phone) taken out."""
    for part in parts:
        if part:
            text = text.replace(part, " ")
    text = _DETAIL_LABEL_LINE.sub(" ", text)
    return " ".join(text.split())


def check(name: str | None, address: str | None, email: str | None, text: str) -> Completeness:
    """`text` is the appeal text; the essence is measured without the citizen's details.
    `address` is the postal address routing.citizen found (a labelled line, the signature,
    a residence sentence), never a street the complaint is about: a letter that names only
    the place of its problem has no place of residence in the sense of Art. 5."""
    text = essence_of(text, name, address)
    missing = []
    if not full_name_given(name):
        missing.append("name")
    if not (address and address.strip()):
        missing.append("address")
    if not email:
        missing.append("email")
    if len(" ".join(text.split())) < _MIN_ESSENCE_CHARS:
        missing.append("essence")
    # Anonymous (Art. 8): neither a residence address nor a way to establish authorship.
    anonymous = "address" in missing and "name" in missing
    return Completeness(tuple(missing), anonymous)


_SIGNATORY_HEAD = saferegex.compile(
    r"(?im)^\s*(?:підписи|підписали|підписанти|список\s+мешканців|подписи|подписали)(?:[^\w\n].*)?$"
)
_NUMBERED_NAME = saferegex.compile(
    rf"(?m)^\s*\d{{1,3}}[.)]\s*{_CYR_WORD}\s+(?:{_CYR_WORD}|[А-ЯІЇЄҐ]\.)"
)
_COLLECTIVE_WORDS = saferegex.compile(
    r"(?i)(?:^|\W)(?:колективне\s+звернення|коллективное\s+обращение|ми,\s+мешканці|мы,\s+жители)"
)


def signatories(text: str) -> int:
    """How many people signed: numbered name lines, or 1. Collective when more than one."""
    numbered = len(_NUMBERED_NAME.findall(text))
    if numbered >= 2:
        return numbered
    if _SIGNATORY_HEAD.search(text) or _COLLECTIVE_WORDS.search(text):
        return max(numbered, 2)
    return 1
