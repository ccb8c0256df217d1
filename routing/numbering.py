"""Kinds and numbers: what kind of item a message is, and its registration number.

Kinds (appeals-law.md): an appeal under Law 393/96-ВР, or a public-information request
under Law 2939-VI, which has shorter, working-day deadlines. A request is recognised by
the address it was sent to or by its wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy.orm import Session

import saferegex
from models.counters import next_value

Kind = Literal["appeal", "info_request"]

# Wording that marks a public-information request (Law 2939-VI is "Про доступ до
# публічної інформації"; people cite it in Ukrainian or Russian, often abbreviated ЗУ).
_INFO_REQUEST = saferegex.compile(
    r"запит\w*\s+на\s+(?:отримання\s+)?(?:публічн\w+\s+)?інформац"
    r"|публічн\w+\s+інформац"
    r"|доступ\w*\s+до\s+публічн"
    r"|запрос\w*\s+на\s+(?:получение\s+)?(?:публичн\w+\s+)?информац"
    r"|публичн\w+\s+информац",
    saferegex.IGNORECASE,
)
# Art. 20 §2 of Law 2939-VI: 48 hours when the information is needed to protect life or
# freedom, or concerns the environment, food quality, accidents, disasters, emergencies.
_URGENT = saferegex.compile(
    r"життя\s+(?:чи|або|та)\s+свобод|загроз\w*\s+життю|надзвичайн\w+\s+ситуац|аварі[їяй]"
    r"|катастроф|стан\w*\s+довкілля|якост\w+\s+(?:харчових\s+)?продукт"
    r"|жизни\s+(?:или|и)\s+свобод|чрезвычайн\w+\s+ситуац|авари[ия]|экологическ\w+\s+обстанов",
    saferegex.IGNORECASE,
)


@dataclass(frozen=True)
class RegistrationConfig:
    number_format: str
    appeal_series: str
    info_request_series: str
    info_request_addresses: frozenset[str]


def as_kind(value: str) -> Kind:
    """The kind stored on an appeal row, checked (the column is a plain string)."""
    if value in ("appeal", "info_request"):
        return cast(Kind, value)
    raise ValueError(f"unknown kind of appeal: {value!r}")


def detect_kind(
    text: str, subject: str, recipients: list[str], cfg: RegistrationConfig
) -> tuple[Kind, str]:
    """Returns the kind and how it was decided (for the event log)."""
    if any(r.lower() in cfg.info_request_addresses for r in recipients):
        return "info_request", "address"
    if _INFO_REQUEST.search(subject) or _INFO_REQUEST.search(text[:4000]):
        return "info_request", "wording"
    return "appeal", "default"


def is_urgent_request(text: str, subject: str) -> bool:
    return bool(_URGENT.search(subject) or _URGENT.search(text[:4000]))


def allocate_number(
    session: Session, kind: Kind, year: int, cfg: RegistrationConfig
) -> tuple[str, int]:
    series = cfg.appeal_series if kind == "appeal" else cfg.info_request_series
    seq = next_value(session, year, series)
    return cfg.number_format.format(series=series, year=year, seq=seq), seq


_FORMAT_FIELD = saferegex.compile(r"(\{[^}]*\})")


def reg_number_pattern(cfg: RegistrationConfig) -> saferegex.Pattern[str]:
    """A regex that finds registration numbers of this format in a subject line."""
    parts = _FORMAT_FIELD.split(cfg.number_format)
    rx = []
    for part in parts:
        if part.startswith("{series"):
            rx.append(
                "(?:"
                + "|".join(map(saferegex.escape, (cfg.appeal_series, cfg.info_request_series)))
                + ")"
            )
        elif part.startswith("{year"):
            rx.append(r"\d{4}")
        elif part.startswith("{seq"):
            rx.append(r"\d+")
        else:
            rx.append(saferegex.escape(part))
    return saferegex.compile("".join(rx), saferegex.IGNORECASE)
