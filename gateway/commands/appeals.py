"""Admin operations on appeals and on the working-day calendar.

Every change is an event with the actor and the reason, and every correction of a topic
or a department is also a training label (the next model learns from it).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from gateway.app import App
from models import Appeal, AppealEvent, CalendarOverride, Department
from routing import corrections, street_learning
from routing.extensions import ExtensionRefused, extend_term
from routing.lifecycle import (
    AWAITING,
    LifecycleError,
    RerouteRequest,
    correct_topic,
    is_overdue_at,
    record_event,
    reroute,
)
from routing.views import appeal_view


def show_appeal(app: App, reg_no: str) -> dict[str, Any] | None:
    with app.sessions() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).first()
        if a is None:
            return None
        events = [
            {"at": e.at, "type": e.type, "actor": e.actor, "data": e.data}
            for e in s.scalars(
                select(AppealEvent).where(AppealEvent.appeal_id == a.id).order_by(AppealEvent.id)
            )
        ]
        now = app.clock.now()
        today = now.astimezone(_tz(app)).date()
        related = s.get(Appeal, a.related_appeal_id) if a.related_appeal_id else None
        return {
            "reg_no": a.reg_no,
            "kind": a.kind,
            "state": a.state,
            "department": a.department.code if a.department else None,
            "topic": a.topic,
            "confidence": a.confidence,
            "model_version": a.model_version,
            "received_at": a.received_at,
            "receipt_date": a.receipt_date,
            "due_date": a.due_date,
            "due_at": a.due_at,
            "overdue": is_overdue_at(a, now, today),
            "repeat_status": a.repeat_status,
            "related_appeal": related.reg_no if related is not None else None,
            "mass_group": a.mass_group,
            "collective": a.collective,
            "anonymous": a.anonymous,
            "priority": a.priority,
            "delivery_failed": a.delivery_failed,
            "flags": a.flags or {},
            # The Classifier's characteristics and the result of consideration.
            "characteristics": {
                "form": a.receipt_form,
                "sign": a.appeal_sign,
                "type": a.appeal_type,
                "subject": a.subject_kind,
                "privileged_category": a.privileged_category,
                "topic_code": a.topic_code,
                "result": a.result,
                "sources": a.characteristic_sources or {},
            },
            "events": events,
        }


def _tz(app: App) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(app.settings.deadlines.timezone)


def reroute_appeal(
    app: App, reg_no: str, code: str, actor: str, reason: str, topic: str | None = None
) -> str | None:
    """Another department (and, from triage, the topic too); a training label either way."""
    with app.sessions.begin() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).first()
        dept = s.scalars(
            select(Department).where(Department.code == code, Department.active.is_(True))
        ).first()
        if a is None:
            return f"no appeal {reg_no}"
        if dept is None:
            return f"no active department {code!r}"
        cfg = app.pipeline_config()
        try:
            reroute(
                s,
                a,
                dept,
                RerouteRequest(actor=actor, source="admin", reason=reason, topic=topic),
                now=app.clock.now(),
                notices=app.notifier(s),
                view=lambda x: appeal_view(x, x.department, cfg),
            )
        except LifecycleError as exc:
            return str(exc)
    app.wakeup_sender.set()
    return None


def set_topic(app: App, reg_no: str, topic: str, actor: str) -> str | None:
    known = set(app.settings.routing.topics)
    if known and topic not in known:
        return f"unknown topic {topic!r}; known: {', '.join(sorted(known))}"
    with app.sessions.begin() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).first()
        if a is None:
            return f"no appeal {reg_no}"
        correct_topic(s, a, topic, actor=actor, now=app.clock.now())
    return None


def set_characteristic(app: App, reg_no: str, field: str, value: str, actor: str) -> str | None:
    """`appeals appeal set`: the same correction as a department's `#type`, `#category`...
    (routing.corrections), recorded with source "staff" and an event; `result` records the
    result of consideration of a finally answered appeal."""
    if field == "result":
        return set_result(app, reg_no, value, actor, via="cli")
    try:
        correction = corrections.parse(field, value)
    except corrections.CorrectionError as exc:
        return str(exc)
    with app.sessions.begin() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).first()
        if a is None:
            return f"no appeal {reg_no}"
        corrections.apply(s, a, correction, actor=actor, via="console", now=app.clock.now())
    return None


def set_district(app: App, reg_no: str, district: str, actor: str) -> str | None:
    """`appeals appeal set-district`: the district of the appeal's address, which the
    street register learns (routing.street_learning)."""
    known = tuple(app.settings.routing.districts)
    if known and district not in known:
        return f"unknown district {district!r}; known: {', '.join(known)}"
    with app.sessions.begin() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).first()
        if a is None:
            return f"no appeal {reg_no}"
        street_learning.correct(s, a, district, actor=actor, now=app.clock.now())
    return None


def extend_appeal(app: App, reg_no: str, days: int, reason: str, actor: str) -> str | None:
    """The term extended as a department's `#extend <days> <reason>` does it
    (routing.extensions): within the legal limit, the citizen told."""
    if days <= 0 or not reason.strip():
        return "the extension needs a positive number of days and a reason"
    calendar = app.calendar()
    cfg = app.pipeline_config()
    with app.sessions.begin() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).first()
        if a is None:
            return f"no appeal {reg_no}"
        if a.state not in AWAITING:
            return f"appeal {reg_no} is {a.state}; only an appeal awaiting its answer is extended"
        now = app.clock.now()
        try:
            extend_term(
                a,
                days,
                reason.strip(),
                actor=actor,
                calendar=calendar,
                now=now,
                notices=app.notifier(s),
                view=lambda x: appeal_view(x, x.department, cfg),
                event=lambda type_, **kw: record_event(s, now, type_, **kw),
            )
        except ExtensionRefused as exc:
            refused = str(exc)
        else:
            refused = ""
    if refused:
        return f"extension refused: {refused}"
    app.wakeup_sender.set()
    return None


def add_note(app: App, reg_no: str, text: str, actor: str) -> str | None:
    """A note of staff on the appeal's history (never sent to anybody)."""
    if not text.strip():
        return "the note is empty"
    with app.sessions.begin() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).first()
        if a is None:
            return f"no appeal {reg_no}"
        record_event(s, app.clock.now(), "note", appeal_id=a.id, actor=actor, text=text.strip())
    return None


def set_result(app: App, reg_no: str, word: str, actor: str, via: str = "console") -> str | None:
    """The result of consideration of a finally answered appeal, as `#result` records it."""
    with app.sessions.begin() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).first()
        if a is None:
            return f"no appeal {reg_no}"
        try:
            corrections.set_result_by_staff(s, a, word, actor=actor, via=via, now=app.clock.now())
        except corrections.ResultError as exc:
            return str(exc)
    return None


def calendar_list(app: App) -> list[dict[str, Any]]:
    with app.sessions() as s:
        return [
            {"day": o.day, "working": o.working, "note": o.note}
            for o in s.scalars(select(CalendarOverride).order_by(CalendarOverride.day))
        ]


def calendar_set(app: App, day: date, working: bool | None, note: str) -> None:
    """working=True: an extra working day; False: an extra day off; None: remove."""
    with app.sessions.begin() as s:
        row = s.get(CalendarOverride, day)
        if working is None:
            if row is not None:
                s.delete(row)
            return
        if row is None:
            row = CalendarOverride(day=day, working=working, note=note)
            s.add(row)
        row.working, row.note = working, note
