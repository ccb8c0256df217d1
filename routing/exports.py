"""The register as files: the registry of appeals for a period with the characteristics of
the Classifier of citizens' appeals (resolution No. 858), and an anonymised open-data set.

Pure row building over a column query; `gateway.commands.exports` writes the files. The
open-data rows carry no personal data at all (Law 393/96-ВР: personal data in appeals may
be used only to consider the appeal; Law 2297-VI on personal data protection): no names,
addresses, e-mail addresses, phones, texts or subjects, no registration numbers (a citizen
who publishes theirs would be found in the set), no privileged category (a disability is
health data). What each open-data column means: docs/open-data.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Appeal, Department
from routing.reports import timeliness_of

# Where each characteristic's value came from, in a fixed order for the sources column.
SOURCE_KEYS = ("form", "sign", "type", "subject", "privileged_category", "topic_code", "result")

REGISTRY_HEADER = (
    "reg_no",
    "receipt_date",
    "due_date",
    "state",
    "department",
    "topic",
    "topic_code",
    "receipt_form",
    "appeal_sign",
    "appeal_type",
    "subject_kind",
    "privileged_category",
    "result",
    "result_date",
    "closed_date",
    "timeliness",
    "sources",
)
PERSONAL_HEADER = ("citizen_name", "citizen_address")

# The open-data schema; docs/open-data.md lists the same columns with types and meanings
# (a test keeps the two equal).
OPEN_DATA_HEADER = (
    "receipt_date",
    "due_date",
    "closed_date",
    "topic",
    "topic_code",
    "district",
    "department",
    "receipt_form",
    "appeal_sign",
    "appeal_type",
    "subject_kind",
    "result",
    "timeliness",
)

Cell = str | int


@dataclass(frozen=True)
class Export:
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]


def _day(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).date().isoformat() if value is not None else ""


def _query(start: date, end: date, *personal: Any) -> Any:
    return (
        select(
            Appeal.reg_no,
            Appeal.receipt_date,
            Appeal.due_date,
            Appeal.due_at,
            Appeal.state,
            Department.code,
            Appeal.topic,
            Appeal.topic_code,
            Appeal.district,
            Appeal.receipt_form,
            Appeal.appeal_sign,
            Appeal.appeal_type,
            Appeal.subject_kind,
            Appeal.privileged_category,
            Appeal.result,
            Appeal.result_at,
            Appeal.closed_at,
            Appeal.characteristic_sources,
            *personal,
        )
        .outerjoin(Department, Appeal.department_id == Department.id)
        .where(Appeal.kind == "appeal", Appeal.receipt_date >= start, Appeal.receipt_date <= end)
        .order_by(Appeal.receipt_date, Appeal.id)
    )


def registry(
    session: Session,
    start: date,
    end: date,
    now: datetime,
    tz: ZoneInfo,
    *,
    personal: bool = False,
) -> Export:
    """Appeals received in [start, end] with every characteristic, its source, the result
    and timeliness; `personal` adds the citizen's name and address (the office's own
    register needs them; a file for anyone else does not)."""
    extra = (Appeal.citizen_name, Appeal.citizen_address) if personal else ()
    rows: list[tuple[Cell, ...]] = []
    for r in session.execute(_query(start, end, *extra)):
        sources = r.characteristic_sources or {}
        row: tuple[Cell, ...] = (
            r.reg_no,
            r.receipt_date.isoformat(),
            r.due_date.isoformat(),
            r.state,
            r.code or "",
            r.topic or "",
            r.topic_code or "",
            r.receipt_form or "",
            r.appeal_sign or "",
            r.appeal_type or "",
            r.subject_kind or "",
            r.privileged_category or "",
            r.result or "",
            _day(r.result_at, tz),
            _day(r.closed_at, tz),
            timeliness_of(r.state, r.due_date, r.due_at, r.closed_at, now, tz),
            ";".join(f"{k}={sources[k]}" for k in SOURCE_KEYS if k in sources),
        )
        if personal:
            row += (r.citizen_name or "", r.citizen_address or "")
        rows.append(row)
    return Export(REGISTRY_HEADER + (PERSONAL_HEADER if personal else ()), rows)


def open_data(session: Session, start: date, end: date, now: datetime, tz: ZoneInfo) -> Export:
    """The anonymised set (module docstring): only the columns of OPEN_DATA_HEADER."""
    rows: list[tuple[Cell, ...]] = [
        (
            r.receipt_date.isoformat(),
            r.due_date.isoformat(),
            _day(r.closed_at, tz),
            r.topic or "",
            r.topic_code or "",
            r.district or "",
            r.code or "",
            r.receipt_form or "",
            r.appeal_sign or "",
            r.appeal_type or "",
            r.subject_kind or "",
            r.result or "",
            timeliness_of(r.state, r.due_date, r.due_at, r.closed_at, now, tz),
        )
        for r in session.execute(_query(start, end))
    ]
    return Export(OPEN_DATA_HEADER, rows)
