"""The register's reports: the quarterly counts by the characteristics of the Classifier
of citizens' appeals (Cabinet of Ministers resolution No. 858), the overdue list and
timeliness over a period.

`load_rows` reads the few columns a report needs; everything else here is pure
aggregation over those rows, so a report is a function of the rows and the clock.
Only appeals (kind "appeal") are counted: public-information requests fall under another
law and its own reporting. An interim answer is never an answer here: "answered" means
the final answer that closed the appeal (`closed_at` of a closed appeal).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, false, func, literal, or_, select
from sqlalchemy.orm import Session

from models import Appeal, Department
from models.base import UTCDateTime
from routing.characteristics import (
    FORM_LABELS,
    RESULT_LABELS,
    SIGN_LABELS,
    SUBJECT_LABELS,
    TYPE_LABELS,
)
from routing.lifecycle import AWAITING, is_overdue_at

TIMELINESS = ("on_time", "late", "open_overdue", "open_in_time", "no_answer_due")
TIMELINESS_LABELS = {
    "on_time": "відповідь вчасно",
    "late": "відповідь із запізненням",
    "open_overdue": "не розглянуто, строк минув",
    "open_in_time": "на розгляді, строк не минув",
    "no_answer_due": "без відповіді по суті (ст. 5, 7, 8)",
}


class Row(NamedTuple):
    """One appeal as the reports see it (a tuple: a quarter is 100,000 of them, and a
    frozen dataclass's __init__ costs several times a tuple's)."""

    reg_no: str
    state: str
    receipt_date: date
    due_date: date
    due_at: datetime | None
    closed_at: datetime | None
    department: str
    receipt_form: str | None
    appeal_sign: str | None
    appeal_type: str | None
    subject_kind: str | None
    privileged_category: str | None
    topic_code: str | None
    result: str | None


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: list[tuple[str | int, ...]]


# The columns a report reads, in Row's order: plain column tuples, not ORM objects (a
# quarter of a large council is 100,000 rows; building Appeal objects with their texts and
# joined departments for them cost several times the query, bench/reports.py).
_COLUMNS = (
    Appeal.reg_no,
    Appeal.state,
    Appeal.receipt_date,
    Appeal.due_date,
    Appeal.due_at,
    Appeal.closed_at,
    Department.code,
    Appeal.receipt_form,
    Appeal.appeal_sign,
    Appeal.appeal_type,
    Appeal.subject_kind,
    Appeal.privileged_category,
    Appeal.topic_code,
    Appeal.result,
)


def load_rows(session: Session, start: date | None = None, end: date | None = None) -> list[Row]:
    """Appeals whose legal receipt date is in [start, end] (either bound optional)."""
    q = select(*_COLUMNS).outerjoin(Department, Appeal.department_id == Department.id)
    q = q.where(Appeal.kind == "appeal")
    if start is not None:
        q = q.where(Appeal.receipt_date >= start)
    if end is not None:
        q = q.where(Appeal.receipt_date <= end)
    # Core rows straight from the connection (no ORM row processing), in no particular
    # order: every report counts or sorts them itself.
    out = []
    for t in session.connection().execute(q):
        values: list[Any] = list(t)
        values[6] = values[6] or ""  # no department
        out.append(Row(*values))
    return out


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    if quarter not in (1, 2, 3, 4):
        raise ValueError("quarter must be 1..4")
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


@dataclass(frozen=True)
class _Due:
    """What the life cycle's overdue rule reads of an appeal."""

    state: str
    due_date: date
    due_at: datetime | None


def timeliness_of(
    state: str,
    due_date: date,
    due_at: datetime | None,
    closed_at: datetime | None,
    now: datetime,
    tz: ZoneInfo,
) -> str:
    """on_time / late (closed by the final answer), open_overdue / open_in_time (still
    waiting), no_answer_due (returned, not considered, forwarded: Art. 5, 7, 8)."""
    if state == "closed" and closed_at is not None:
        if due_at is not None:
            return "on_time" if closed_at <= due_at else "late"
        return "on_time" if closed_at.astimezone(tz).date() <= due_date else "late"
    if state in AWAITING or state == "held":
        today = now.astimezone(tz).date()
        overdue = is_overdue_at(_Due(state, due_date, due_at), now, today)  # type: ignore[arg-type]
        return "open_overdue" if overdue else "open_in_time"
    return "no_answer_due"


def timeliness(row: Row, now: datetime, tz: ZoneInfo) -> str:
    return timeliness_of(row.state, row.due_date, row.due_at, row.closed_at, now, tz)


def _count_table(title: str, values: list[str | None], labels: dict[str, str]) -> Table:
    return _table_of(title, Counter(v or "" for v in values), labels)


def _table_of(title: str, counts: Counter[str], labels: dict[str, str]) -> Table:
    keys = [k for k in labels if k in counts] + sorted(k for k in counts if k not in labels)
    rows: list[tuple[str | int, ...]] = [(k or "—", labels.get(k, ""), counts[k]) for k in keys]
    rows.append(("total", "усього", sum(counts.values())))
    return Table(title, ("value", "label", "count"), rows)


# The quarterly tables: title, the column counted, its labels.
_QUARTERLY: tuple[tuple[str, Any, dict[str, str]], ...] = (
    ("form of receipt", Appeal.receipt_form, FORM_LABELS),
    ("sign", Appeal.appeal_sign, SIGN_LABELS),
    ("type", Appeal.appeal_type, TYPE_LABELS),
    ("subject", Appeal.subject_kind, SUBJECT_LABELS),
    ("privileged category", Appeal.privileged_category, {}),
    ("topic code", Appeal.topic_code, {}),
    ("department", Department.code, {}),
    ("result", Appeal.result, RESULT_LABELS),
)


def _period(q: Any, start: date, end: date) -> Any:
    return q.where(
        Appeal.kind == "appeal", Appeal.receipt_date >= start, Appeal.receipt_date <= end
    )


def timeliness_sql(session: Session, start: date, end: date, now: datetime, tz: ZoneInfo) -> Any:
    """`timeliness_of` as one SQL expression over the period's rows (same classes, same
    rule). The one part SQL cannot say portably is "closed on or before the due date in
    Kyiv": SQLite has no time zones. The first instant after each due date of the period
    (Kyiv midnight) is computed here instead and compared as a UTC instant."""
    closed_by_date = _period(select(Appeal.due_date).distinct(), start, end).where(
        Appeal.state == "closed", Appeal.closed_at.is_not(None), Appeal.due_at.is_(None)
    )
    bounds = {
        d: datetime.combine(d + timedelta(days=1), time(0), tz).astimezone(UTC)
        for d in session.scalars(closed_by_date)
    }
    today = now.astimezone(tz).date()
    closed_in_time: Any = (
        Appeal.closed_at
        < case({d: literal(b, UTCDateTime()) for d, b in bounds.items()}, value=Appeal.due_date)
        if bounds
        else false()
    )
    awaiting = Appeal.state.in_(AWAITING)
    overdue = and_(
        awaiting,
        or_(
            and_(Appeal.due_at.is_not(None), Appeal.due_at < now),
            and_(Appeal.due_at.is_(None), Appeal.due_date < today),
        ),
    )
    closed = and_(Appeal.state == "closed", Appeal.closed_at.is_not(None))
    return case(
        (and_(closed, Appeal.due_at.is_not(None), Appeal.closed_at <= Appeal.due_at), "on_time"),
        (and_(closed, Appeal.due_at.is_not(None)), "late"),
        (and_(closed, closed_in_time), "on_time"),
        (closed, "late"),
        (overdue, "open_overdue"),
        (or_(awaiting, Appeal.state == "held"), "open_in_time"),
        else_="no_answer_due",
    )


def quarterly_in_db(
    session: Session, start: date, end: date, now: datetime, tz: ZoneInfo
) -> list[Table]:
    """The same tables as `quarterly(load_rows(...))`, counted by the database: one GROUP
    BY per table, so a quarter of 125,000 appeals never crosses into Python row by row
    (bench/reports.py)."""
    tables = []
    for title, column, labels in (
        *_QUARTERLY,
        ("timeliness", timeliness_sql(session, start, end, now, tz), TIMELINESS_LABELS),
    ):
        q = select(column, func.count()).select_from(Appeal)
        if column is Department.code:
            q = q.outerjoin(Department, Appeal.department_id == Department.id)
        counts: Counter[str] = Counter()
        for value, n in session.execute(_period(q, start, end).group_by(column)):
            counts[value or ""] += n
        tables.append(_table_of(title, counts, labels))
    return tables


def quarterly(rows: list[Row], now: datetime, tz: ZoneInfo) -> list[Table]:
    return [
        _count_table("form of receipt", [r.receipt_form for r in rows], FORM_LABELS),
        _count_table("sign", [r.appeal_sign for r in rows], SIGN_LABELS),
        _count_table("type", [r.appeal_type for r in rows], TYPE_LABELS),
        _count_table("subject", [r.subject_kind for r in rows], SUBJECT_LABELS),
        _count_table("privileged category", [r.privileged_category for r in rows], {}),
        _count_table("topic code", [r.topic_code for r in rows], {}),
        _count_table("department", [r.department for r in rows], {}),
        _count_table("result", [r.result for r in rows], RESULT_LABELS),
        _count_table("timeliness", [timeliness(r, now, tz) for r in rows], TIMELINESS_LABELS),
    ]


def overdue(rows: list[Row], now: datetime, tz: ZoneInfo) -> list[Table]:
    today = now.astimezone(tz).date()
    late = [r for r in rows if timeliness(r, now, tz) == "open_overdue"]
    late.sort(key=lambda r: (r.due_date, r.reg_no))
    return [
        Table(
            "overdue appeals",
            ("reg_no", "department", "receipt_date", "due_date", "days_overdue"),
            [
                (
                    r.reg_no,
                    r.department,
                    r.receipt_date.isoformat(),
                    r.due_date.isoformat(),
                    (today - r.due_date).days,
                )
                for r in late
            ],
        )
    ]


def timeliness_by_department(rows: list[Row], now: datetime, tz: ZoneInfo) -> list[Table]:
    per: dict[str, Counter[str]] = {}
    for r in rows:
        per.setdefault(r.department, Counter())[timeliness(r, now, tz)] += 1
    out: list[tuple[str | int, ...]] = []
    total: Counter[str] = Counter()
    for dept in sorted(per):
        c = per[dept]
        total.update(c)
        out.append((dept, *(c[k] for k in TIMELINESS), sum(c.values())))
    out.append(("total", *(total[k] for k in TIMELINESS), sum(total.values())))
    return [Table("timeliness by department", ("department", *TIMELINESS, "total"), out)]
