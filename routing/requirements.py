"""Art. 5 completeness, Art. 8 anonymity, and collective appeals.

Law 393/96-ВР Art. 5: an appeal states the citizen's surname, name (and patronymic), place
of residence and the essence of the issue; an electronic appeal also gives an e-mail
address for the answer. One that does not is returned with an explanation within 10 days.
Art. 8: an anonymous appeal (no residence address, or authorship cannot be established) is
not considered. Appeals may be individual or collective (several signatories).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MISSING_LABELS = {
    "name": ("прізвище та ім'я", "surname and name"),
    "address": ("місце проживання (адресу)", "place of residence (address)"),
    "email": ("адресу електронної пошти для відповіді", "an e-mail address for the answer"),
    "essence": ("суть порушеного питання", "the essence of the issue"),
}

_CYR_WORD = r"[А-ЯІЇЄҐЁ][а-яіїєґё'’ʼ-]+"
_MIN_ESSENCE_CHARS = 25


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
    words = [w for w in re.split(r"[\s,]+", name.strip()) if re.search(r"\w", w)]
    return len(words) >= 2 and not any("@" in w for w in words)


def essence_of(text: str, *parts: str | None) -> str:
    """The text with the citizen's own details (name, address, phone) taken out."""
    for part in parts:
        if part:
            text = text.replace(part, " ")
    text = re.sub(
        r"(?im)^\s*(?:адреса|адрес|тел\.?|телефон|піб|з повагою|с уважением)\s*:?\s*$", " ", text
    )
    return re.sub(r"\s+", " ", text).strip()


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
    if len(re.sub(r"\s+", " ", text).strip()) < _MIN_ESSENCE_CHARS:
        missing.append("essence")
    # Anonymous (Art. 8): neither a residence address nor a way to establish authorship.
    anonymous = "address" in missing and "name" in missing
    return Completeness(tuple(missing), anonymous)


_SIGNATORY_HEAD = re.compile(
    r"(?im)^\s*(?:підписи|підписали|підписанти|список\s+мешканців|подписи|подписали)\b.*$"
)
_NUMBERED_NAME = re.compile(rf"(?m)^\s*\d{{1,3}}[.)]\s*{_CYR_WORD}\s+(?:{_CYR_WORD}|[А-ЯІЇЄҐ]\.)")
_COLLECTIVE_WORDS = re.compile(
    r"(?i)\b(?:колективне\s+звернення|коллективное\s+обращение|ми,\s+мешканці|мы,\s+жители)"
)


def signatories(text: str) -> int:
    """How many people signed: numbered name lines, or 1. Collective when more than one."""
    numbered = len(_NUMBERED_NAME.findall(text))
    if numbered >= 2:
        return numbered
    if _SIGNATORY_HEAD.search(text) or _COLLECTIVE_WORDS.search(text):
        return max(numbered, 2)
    return 1
