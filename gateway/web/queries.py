"""What the console's pages read: the dashboard's counts, the registry's search and one
appeal's whole timeline. Plain dicts and tuples out, no ORM rows (templates cannot then
lazy-load or change anything). A clerk's view is narrowed to their departments here, in
the query, never only in the template."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, and_, func, or_, select, text
from sqlalchemy.orm import Session, load_only

from gateway.web.accounts import Who
from models import (
    AWAITING_ANSWER_SQL,
    Appeal,
    AppealEvent,
    Attachment,
    Department,
    InboundMessage,
    OutboundMessage,
)
from routing.lifecycle import AWAITING, OPEN_STATES


def department_scope(s: Session, who: Who, triage_code: str) -> list[int] | None:
    """Department ids a clerk works on (theirs and the triage department, whose appeals
    they assign), or None for everything (admins and viewers)."""
    if who.role != "clerk":
        return None
    codes = {*who.departments, triage_code}
    return list(s.scalars(select(Department.id).where(Department.code.in_(codes))))


_Q = TypeVar("_Q", bound="Select[*tuple[Any, ...]]")


def _scoped(q: _Q, scope: list[int] | None) -> _Q:
    return q if scope is None else q.where(Appeal.department_id.in_(scope))


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def _day_start(day: date, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))


def dashboard(s: Session, scope: list[int] | None, *, now: datetime, tz: str) -> dict[str, Any]:
    today = local_today(now, tz)
    names: dict[int | None, str] = {
        i: c for i, c in s.execute(select(Department.id, Department.code))
    }
    triage_ids = set(s.scalars(select(Department.id).where(Department.is_triage.is_(True))))
    start = _day_start(today, tz)
    intake = s.scalar(
        _scoped(select(func.count(Appeal.id)), scope).where(Appeal.received_at >= start)
    )
    # The appeals awaiting an answer, counted by department and due date in one pass over
    # a partial index (models.tables: ix_appeal_awaiting_due_department); the open, due
    # this week, overdue and triage figures all come from these groups. Date arithmetic
    # is done here: it differs between SQLite and PostgreSQL, and the groups are few.
    groups = s.execute(
        _scoped(select(Appeal.department_id, Appeal.due_date, func.count()), scope)
        # As literals: SQLite uses a partial index only when the query repeats its WHERE.
        .where(text(AWAITING_ANSWER_SQL))
        .group_by(Appeal.department_id, Appeal.due_date)
    ).all()
    held_by = s.execute(
        _scoped(select(Appeal.department_id, func.count()), scope)
        .where(Appeal.state == "held")
        .group_by(Appeal.department_id)
    ).all()
    open_by: dict[str, int] = {}
    for dept_id, n in held_by:
        open_by[names.get(dept_id, "—")] = open_by.get(names.get(dept_id, "—"), 0) + n
    buckets = ("1-3", "4-7", "8-30", ">30")
    overdue: dict[str, dict[str, int]] = {}
    due_week = triage = 0
    week_end = today + timedelta(days=7)
    for dept_id, due, n in groups:
        code = names.get(dept_id, "—")
        open_by[code] = open_by.get(code, 0) + n
        if dept_id in triage_ids:
            triage += n
        if today <= due <= week_end:
            due_week += n
        elif due < today:
            days = (today - due).days
            b = 0 if days <= 3 else 1 if days <= 7 else 2 if days <= 30 else 3
            overdue.setdefault(code, dict.fromkeys(buckets, 0))[buckets[b]] += n
    month_start = _day_start(today.replace(day=1), tz)
    closed_month, on_time = _closed_since(s, scope, month_start, tz)
    held = s.scalar(select(func.count(InboundMessage.id)).where(InboundMessage.state == "held"))
    failures = s.scalar(
        select(func.count(OutboundMessage.id)).where(OutboundMessage.state == "failed")
    )
    return {
        "today": today,
        "intake_today": int(intake or 0),
        "open_by_department": sorted(open_by.items(), key=lambda x: (-x[1], x[0])),
        "due_this_week": due_week,
        "overdue": sorted(overdue.items()),
        "overdue_buckets": buckets,
        "closed_this_month": closed_month,
        "on_time_share": (on_time / closed_month) if closed_month else None,
        "held": int(held or 0),
        "outbox_failures": int(failures or 0),
        "triage": triage,
    }


def _closed_since(s: Session, scope: list[int] | None, since: datetime, tz: str) -> tuple[int, int]:
    """Appeals closed since `since`, and how many of them on or before their due date
    (the day of closing in the legal time zone)."""
    if s.get_bind().dialect.name == "postgresql":
        # Counted in the database: a month of a large council is many rows to fetch.
        local_day = func.cast(func.timezone(tz, Appeal.closed_at), Date)
        total, on_time = s.execute(
            _scoped(
                select(func.count(), func.count().filter(local_day <= Appeal.due_date)), scope
            ).where(Appeal.state == "closed", Appeal.closed_at >= since)
        ).one()
        return int(total or 0), int(on_time or 0)
    zone = ZoneInfo(tz)
    rows = s.execute(
        _scoped(select(Appeal.closed_at, Appeal.due_date), scope).where(
            Appeal.state == "closed", Appeal.closed_at >= since
        )
    ).all()
    on_time = sum(
        1 for closed, due in rows if closed is not None and closed.astimezone(zone).date() <= due
    )
    return len(rows), on_time


def triage_query(*, count: bool = False) -> Select[*tuple[Any, ...]]:
    """Open appeals at the triage department: the model was unsure (below the threshold),
    had no model, or its topic has no department."""
    triage_ids = select(Department.id).where(Department.is_triage.is_(True))
    q = select(func.count(Appeal.id)) if count else select(Appeal)
    return q.where(Appeal.state.in_(AWAITING), Appeal.department_id.in_(triage_ids))


@dataclass(frozen=True)
class RegistryQuery:
    """The registry's filters as the form sends them (empty = no filter)."""

    number: str = ""
    citizen: str = ""
    text: str = ""
    topic: str = ""
    department: str = ""
    state: str = ""
    kind: str = ""
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    page: int = 1
    errors: tuple[str, ...] = field(default=())

    @classmethod
    def from_params(cls, params: Any) -> RegistryQuery:
        errors = []

        def day(key: str) -> date | None:
            v = (params.get(key) or "").strip()
            if not v:
                return None
            try:
                return date.fromisoformat(v)
            except ValueError:
                errors.append(key)
                return None

        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            page = 1
        return cls(
            number=(params.get("number") or "").strip(),
            citizen=(params.get("citizen") or "").strip(),
            text=(params.get("text") or "").strip(),
            topic=(params.get("topic") or "").strip(),
            department=(params.get("department") or "").strip(),
            state=(params.get("state") or "").strip(),
            kind=(params.get("kind") or "").strip(),
            date_from=day("from"),
            date_to=day("to"),
            overdue=params.get("overdue") in ("1", "on", "true"),
            page=page,
            errors=tuple(errors),
        )

    def params(self, **change: Any) -> dict[str, str]:
        """The query string of this view (another page of it, the CSV of it)."""
        out = {
            "number": self.number,
            "citizen": self.citizen,
            "text": self.text,
            "topic": self.topic,
            "department": self.department,
            "state": self.state,
            "kind": self.kind,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "overdue": "1" if self.overdue else "",
            "page": str(self.page),
        }
        out.update({k: str(v) for k, v in change.items()})
        return {k: v for k, v in out.items() if v and not (k == "page" and v == "1")}


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: Any, value: str, dialect: str) -> Any:
    """Case-insensitive "contains". PostgreSQL: ILIKE (any script). SQLite: its own LIKE,
    which folds ASCII letters only; SQLAlchemy's ilike would wrap both sides in lower(),
    which folds no more there and costs a function call per row of a table scan."""
    pat = _like(value)
    if dialect == "postgresql":
        return column.ilike(pat, escape="\\")
    return column.like(pat, escape="\\")


def _prefix(column: Any, value: str) -> Any:
    """Starts with `value`, as a range the column's index answers (LIKE 'x%' would not
    use it on SQLite, whose LIKE is case-insensitive)."""
    return and_(column >= value, column < value + "\U0010ffff")


def registry_select(
    q: RegistryQuery, scope: list[int] | None, *, today: date, dialect: str = "sqlite"
) -> Select[Appeal]:
    stmt = _scoped(select(Appeal), scope)
    if q.number:
        n = q.number.upper()
        if n.isdigit():
            # The sequence alone ("123" for A-2026-000123), in any year and series.
            stmt = stmt.where(Appeal.reg_seq == int(n))
        else:
            stmt = stmt.where(_prefix(Appeal.reg_no, n))
    if q.citizen:
        if "@" in q.citizen:
            stmt = stmt.where(_prefix(Appeal.citizen_email, q.citizen.lower()))
        else:
            stmt = stmt.where(_contains(Appeal.citizen_name, q.citizen, dialect))
    if q.text:
        stmt = stmt.where(
            or_(
                _contains(Appeal.subject, q.text, dialect),
                _contains(Appeal.text, q.text, dialect),
            )
        )
    if q.topic:
        stmt = stmt.where(Appeal.topic == q.topic)
    if q.department:
        stmt = stmt.where(
            Appeal.department_id.in_(select(Department.id).where(Department.code == q.department))
        )
    if q.state == "open":
        stmt = stmt.where(Appeal.state.in_(OPEN_STATES))
    elif q.state:
        stmt = stmt.where(Appeal.state == q.state)
    if q.kind:
        stmt = stmt.where(Appeal.kind == q.kind)
    if q.date_from:
        stmt = stmt.where(Appeal.receipt_date >= q.date_from)
    if q.date_to:
        stmt = stmt.where(Appeal.receipt_date <= q.date_to)
    if q.overdue:
        stmt = stmt.where(and_(Appeal.state.in_(AWAITING), Appeal.due_date < today))
    return stmt


# What a registry row shows (the text is never loaded for a list).
_ROW_COLUMNS = (
    Appeal.reg_no,
    Appeal.kind,
    Appeal.state,
    Appeal.receipt_date,
    Appeal.due_date,
    Appeal.department_id,
    Appeal.topic,
    Appeal.citizen_name,
    Appeal.citizen_email,
    Appeal.subject,
)


def _row(a: Appeal, today: date) -> dict[str, Any]:
    return {
        "reg_no": a.reg_no,
        "kind": a.kind,
        "state": a.state,
        "receipt_date": a.receipt_date,
        "due_date": a.due_date,
        "overdue": a.state in AWAITING and a.due_date < today,
        "department": a.department.code if a.department else "",
        "topic": a.topic or "",
        "citizen": a.citizen_name or a.citizen_email or "",
        "subject": (a.subject or "")[:120],
    }


COUNT_CAP = 2000


def registry(
    s: Session, q: RegistryQuery, scope: list[int] | None, *, today: date, page_size: int
) -> dict[str, Any]:
    dialect = s.get_bind().dialect.name
    stmt = registry_select(q, scope, today=today, dialect=dialect)
    rows = s.scalars(
        stmt.options(load_only(*_ROW_COLUMNS))
        .order_by(Appeal.id.desc())
        .limit(page_size)
        .offset((q.page - 1) * page_size)
    ).all()
    if q.page == 1 and len(rows) < page_size:
        total = len(rows)  # all of it is on this page: no second pass to count it
    else:
        # Counted up to COUNT_CAP: a search that matches much of the register stops
        # counting there ("more than 2000") instead of reading every row.
        capped = stmt.with_only_columns(Appeal.id).order_by(None).limit(COUNT_CAP + 1).subquery()
        total = int(s.scalar(select(func.count()).select_from(capped)) or 0)
    more = total > COUNT_CAP
    return {
        "rows": [_row(a, today) for a in rows],
        "total": min(total, COUNT_CAP),
        "more": more,
        "pages": max(1, -(-min(total, COUNT_CAP) // page_size)),
        "has_next": len(rows) == page_size and (more or q.page * page_size < total),
    }


CSV_COLUMNS = (
    "reg_no",
    "kind",
    "state",
    "receipt_date",
    "due_date",
    "overdue",
    "department",
    "topic",
    "citizen",
    "subject",
)


def registry_csv(
    s: Session, q: RegistryQuery, scope: list[int] | None, *, today: date, personal: bool
) -> Iterator[str]:
    """The current view (every page of it) as UTF-8 CSV with a BOM, which spreadsheet
    programs need to read Cyrillic. The citizen column only when `personal`: a file
    leaves the console, and only admins take names away (as with `export registry`)."""
    columns = CSV_COLUMNS if personal else tuple(c for c in CSV_COLUMNS if c != "citizen")
    buf = io.StringIO()
    out = csv.writer(buf)
    buf.write("\ufeff")
    out.writerow(columns)
    stmt = registry_select(q, scope, today=today, dialect=s.get_bind().dialect.name)
    # Only the columns the file has: never the texts. Yielded 500 rows at a time (each
    # piece is one hop through the thread pool).
    for n, a in enumerate(
        s.scalars(stmt.order_by(Appeal.id.desc()).execution_options(yield_per=500)), 1
    ):
        r = _row(a, today)
        out.writerow([r[c] for c in columns])
        if n % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def find_appeal(s: Session, reg_no: str, scope: list[int] | None) -> Appeal | None:
    stmt = _scoped(select(Appeal), scope).where(Appeal.reg_no == reg_no)
    return s.scalars(stmt).first()


def timeline(s: Session, a: Appeal) -> list[dict[str, Any]]:
    """Every inbound and outbound message of the appeal and every event, oldest first."""
    items: list[dict[str, Any]] = []
    files: dict[int, list[dict[str, Any]]] = {}
    for f in s.scalars(
        select(Attachment).where(Attachment.appeal_id == a.id).order_by(Attachment.id)
    ):
        files.setdefault(f.inbound_id, []).append(
            {
                "id": f.id,
                "name": f.original_name or f.filename,
                "size": f.size,
                "status": f.status,
                "reason": f.reason,
                "erased": f.erased_at is not None,
            }
        )
    for m in s.scalars(
        select(InboundMessage).where(InboundMessage.appeal_id == a.id).order_by(InboundMessage.id)
    ):
        items.append(
            {
                "at": m.received_at,
                "what": "inbound",
                "id": m.id,
                "role": m.role or "",
                "from": m.mail_from or "",
                "state": m.state,
                "reason": m.reason or "",
                "files": files.get(m.id, []),
                "erased": m.erased_at is not None,
            }
        )
    for o in s.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.appeal_id == a.id)
        .order_by(OutboundMessage.id)
    ):
        items.append(
            {
                "at": o.created_at,
                "what": "outbound",
                "id": o.id,
                "kind": o.kind,
                "to": ", ".join(o.recipients or []),
                "subject": o.subject,
                "state": o.state,
                "sent_at": o.sent_at,
                "error": o.last_error or "",
            }
        )
    for e in s.scalars(
        select(AppealEvent).where(AppealEvent.appeal_id == a.id).order_by(AppealEvent.id)
    ):
        data = dict(e.data or {})
        items.append(
            {
                "at": e.at,
                "what": "event",
                "type": e.type,
                "actor": e.actor,
                "reason": str(data.pop("reason", "") or data.pop("why", "") or ""),
                "text": str(data.pop("text", "") or ""),
                "data": data,
            }
        )
    items.sort(key=lambda x: (x["at"], {"inbound": 0, "event": 1, "outbound": 2}[x["what"]]))
    return items


def due_history(s: Session, a: Appeal) -> list[dict[str, Any]]:
    """The due date at registration and every change to it since."""
    out: list[dict[str, Any]] = []
    for e in s.scalars(
        select(AppealEvent)
        .where(
            AppealEvent.appeal_id == a.id,
            AppealEvent.type.in_(("registered", "extended", "reopened")),
        )
        .order_by(AppealEvent.id)
    ):
        d = e.data or {}
        if e.type == "registered" and d.get("due_date"):
            out.append(
                {"at": e.at, "due": d["due_date"], "why": d.get("due_rule", ""), "actor": e.actor}
            )
        elif e.type == "extended":
            out.append(
                {
                    "at": e.at,
                    "due": d.get("new_due", ""),
                    "why": d.get("reason", ""),
                    "actor": e.actor,
                }
            )
        elif d.get("due_date"):
            out.append({"at": e.at, "due": d["due_date"], "why": e.type, "actor": e.actor})
    return out


def triage_items(s: Session, *, limit: int) -> list[dict[str, Any]]:
    """The appeals waiting at triage, oldest first, each with the model's top guesses
    (from its `classified` event)."""
    appeals = s.scalars(triage_query().order_by(Appeal.id).limit(limit)).all()
    guesses: dict[int, list[tuple[str, float]]] = {}
    if appeals:
        for e in s.scalars(
            select(AppealEvent)
            .where(
                AppealEvent.type == "classified",
                AppealEvent.appeal_id.in_([a.id for a in appeals]),
            )
            .order_by(AppealEvent.id)
        ):
            top = (e.data or {}).get("top_k") or []
            assert e.appeal_id is not None
            guesses[e.appeal_id] = [(str(t[0]), float(t[1])) for t in top[:3]]
    return [
        {
            "reg_no": a.reg_no,
            "received_at": a.received_at,
            "due_date": a.due_date,
            "subject": a.subject,
            "text": (a.text or "")[:600],
            "confidence": a.confidence,
            "topic": a.topic,
            "guesses": guesses.get(a.id, []),
        }
        for a in appeals
    ]


def held_items(app: Any, *, limit: int) -> list[dict[str, Any]]:
    """Held messages, oldest first, with the sender and the subject read from each
    message's header block (the row keeps neither: they are the mail's own words)."""
    from email import policy
    from email.parser import BytesHeaderParser

    from gateway.commands.holding_pen import list_held

    rows = list_held(app, limit=limit)
    parser = BytesHeaderParser(policy=policy.default)
    for r in rows:
        try:
            raw = app.ingest().raw(r["id"])
            head = parser.parsebytes(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0])
            r["sender"] = str(head.get("From", "") or "")
            r["subject"] = str(head.get("Subject", "") or "")
        except Exception:  # a message whose header cannot be read is still listed
            r["sender"], r["subject"] = "", ""
    return rows
