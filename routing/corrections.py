"""Staff corrections of an appeal's characteristics in the register (Classifier of
citizens' appeals, Cabinet of Ministers resolution No. 858): type, sign, subject, form of
receipt, the author's privileged category and the topic code.

One implementation behind both ways in: a department's e-mail command (`#type скарга`,
`#category учасник бойових дій`, ... read by `routing.answers`) and the console
(`appeals appeal set`). A correction changes what the register and the reports say, with
source "staff" and an event naming the old and the new value; it does not change how the
appeal is handled (an appeal corrected to "anonymous" is not thereby not considered: that
is Art. 8's procedure, decided at registration).

Values are accepted in Ukrainian (as the Classifier names them), in English (the codes the
reports print) and, for type, in Russian, which staff in the east and south often type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

import saferegex
from models import Appeal
from routing.characteristics import (
    FORM_LABELS,
    SIGN_LABELS,
    SUBJECT_LABELS,
    TYPE_LABELS,
    parse_result,
)
from routing.deadlines import PRIVILEGED_LABELS, detect_privileged_category, priority_for
from routing.lifecycle import record_event, set_result

# command / console name -> (Appeal column, key in characteristic_sources)
FIELDS: dict[str, tuple[str, str]] = {
    "type": ("appeal_type", "type"),
    "sign": ("appeal_sign", "sign"),
    "subject": ("subject_kind", "subject"),
    "form": ("receipt_form", "form"),
    "category": ("privileged_category", "privileged_category"),
    "topic-code": ("topic_code", "topic_code"),
}
# What each field is called in the staff letters (Ukrainian, as the Classifier says it).
FIELD_LABELS = {
    "type": "вид звернення",
    "sign": "ознака надходження",
    "subject": "суб'єкт звернення",
    "form": "форма надходження",
    "category": "категорія автора",
    "topic-code": "код тематики",
}


def _words(labels: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """code -> code, Ukrainian label -> code, plus the extra spellings."""
    out = {code: code for code in labels}
    out.update({label: code for code, label in labels.items()})
    out.update(extra)
    return out


_VALUES: dict[str, dict[str, str]] = {
    "type": _words(
        TYPE_LABELS,
        {
            "скаргу": "complaint",
            "жалоба": "complaint",
            "пропозицію": "proposal",
            "зауваження": "proposal",
            "предложение": "proposal",
            "заяву": "application",
            "клопотання": "application",
            "заявление": "application",
            "ходатайство": "application",
        },
    ),
    "sign": _words(SIGN_LABELS, {"дублет": "duplicate", "повторна": "repeated"}),
    "subject": _words(
        SUBJECT_LABELS,
        {"індивідуальна": "individual", "колективна": "collective", "анонімна": "anonymous"},
    ),
    "form": _words(
        FORM_LABELS,
        {
            "e-mail": "email",
            "електронна пошта": "email",
            "е-пошта": "email",
            "інший орган": "other_body",
            "вебформа": "web_form",
            "веб-форма": "web_form",
            "web form": "web_form",
        },
    ),
}
_NO_CATEGORY = frozenset({"немає", "нема", "none", "no", "-", "—", "без категорії", "нет"})
# The Classifier's topic codes are three digits, sub-topics after dots ("010", "016.2").
_TOPIC_CODE = saferegex.compile(r"^\d{3}(?:\.\d{1,3})*$")


def is_field(name: str) -> bool:
    """`#topic-code`, `#topic_code` and `#Type` name fields; `#extend` does not."""
    return name.strip().lower().replace("_", "-") in FIELDS


@dataclass(frozen=True)
class Correction:
    field: str  # a key of FIELDS
    value: str | None  # the code; None clears the privileged category


class CorrectionError(ValueError):
    """The value is not one the field takes; `field` says which."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field}: {value!r} is not a value of this field")
        self.field = field
        self.value = value


def _norm(value: str) -> str:
    v = value.strip().strip(".,;:!").lower()
    # Apostrophes as keyboards type them (’ ʼ `), and "other-body" for "other_body".
    v = v.replace("’", "'").replace("ʼ", "'").replace("`", "'")
    return " ".join(v.split())


def parse(field: str, value: str) -> Correction:
    """The correction `#<field> <value>` (or `appeals appeal set REG <field> <value>`)
    asks for; CorrectionError when the field or value is unknown."""
    name = field.strip().lower().replace("_", "-")
    if name not in FIELDS:
        raise CorrectionError(field, value)
    v = _norm(value)
    if name == "category":
        if v in _NO_CATEGORY:
            return Correction(name, None)
        if v.replace("-", "_") in PRIVILEGED_LABELS:
            return Correction(name, v.replace("-", "_"))
        by_label = {_norm(label): code for code, label in PRIVILEGED_LABELS.items()}
        # The words the registration rules recognise ("учасник бойових дій", "особа з
        # інвалідністю", "багатодітна мати") name the category as well.
        code = by_label.get(v) or detect_privileged_category(value)
        if code is None:
            raise CorrectionError(field, value)
        return Correction(name, code)
    if name == "topic-code":
        if not _TOPIC_CODE.match(v):
            raise CorrectionError(field, value)
        return Correction(name, v)
    table = _VALUES[name]
    code = table.get(v) or table.get(v.replace("-", "_")) or table.get(v.replace("-", " "))
    if code is None:
        raise CorrectionError(field, value)
    return Correction(name, code)


def label(field: str, value: str | None) -> str:
    """The value as the Ukrainian staff letters name it."""
    if value is None:
        return "немає"
    tables = {
        "type": TYPE_LABELS,
        "sign": SIGN_LABELS,
        "subject": SUBJECT_LABELS,
        "form": FORM_LABELS,
        "category": PRIVILEGED_LABELS,
    }
    return tables.get(field, {}).get(value, value)


def apply(
    session: Session,
    appeal: Appeal,
    correction: Correction,
    *,
    actor: str,
    via: str,
    now: datetime,
) -> dict[str, str | None]:
    """Set the characteristic with source "staff" and record the event; `via` is "email"
    or "console". Returns what the confirmation letter shows."""
    column, source_key = FIELDS[correction.field]
    old = getattr(appeal, column)
    setattr(appeal, column, correction.value)
    if correction.field == "category":
        # Art. 20: the privileged category is what first-priority handling follows.
        appeal.priority = priority_for(correction.value)
    appeal.characteristic_sources = {
        **(appeal.characteristic_sources or {}),
        source_key: "staff",
    }
    # "from" is a keyword: the event's data is passed as a dict.
    record_event(
        session,
        now,
        "characteristic-set",
        appeal_id=appeal.id,
        actor=actor,
        **{"field": correction.field, "from": old, "to": correction.value, "via": via},
    )
    return {
        "field": correction.field,
        "field_uk": FIELD_LABELS[correction.field],
        "value": correction.value or "none",
        "value_uk": label(correction.field, correction.value),
    }


class ResultError(ValueError):
    """A result of consideration that cannot be recorded; the message says why."""


def set_result_by_staff(
    session: Session, appeal: Appeal, word: str, *, actor: str, via: str, now: datetime
) -> str:
    """Record the result of consideration of a finally answered appeal (what `#result`
    beside a final answer says), source "staff", with an event naming the old and the new
    result. Returns the code; ResultError for an unknown word or an appeal not answered."""
    code = parse_result(word)
    if code is None:
        raise ResultError(f"{word!r} is not a result (вирішено, роз'яснено, відмовлено)")
    if appeal.state != "closed":
        raise ResultError(f"appeal {appeal.reg_no} has no final answer yet ({appeal.state})")
    data: dict[str, Any] = {"from": appeal.result, "to": code, "via": via}
    set_result(appeal, code, "staff", now)
    record_event(session, now, "result-set", appeal_id=appeal.id, actor=actor, **data)
    return code
