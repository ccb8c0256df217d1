"""Citizen details (interim minimal version; replaced by the full module)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from routing.mail import ParsedMail


@dataclass(frozen=True)
class CitizenInfo:
    name: str | None
    email: str | None
    address: str | None
    phone: str | None
    name_source: str


_ADDR = re.compile(
    r"((?:м\.|місто|г\.)\s*[^\n,]+,\s*)?(?:вул\.|вулиця|ул\.|просп\.|пров\.)\s*[^\n]{2,80}", re.I
)


def extract_citizen(parsed: ParsedMail, new_text: str) -> CitizenInfo:
    sender = parsed.reply_to or parsed.from_addr
    m = _ADDR.search(new_text)
    return CitizenInfo(
        name=(parsed.from_addr.name if parsed.from_addr else None) or None,
        email=sender.email.lower() if sender else None,
        address=m.group(0).strip() if m else None,
        phone=None,
        name_source="header",
    )
