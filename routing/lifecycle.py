"""The life cycle of appeals and of inbound messages: their states, the allowed moves
between them, and the event that records each move.

This is the one place that assigns `Appeal.state` and `InboundMessage.state` (a test,
tests/qa/test_lifecycle_owner.py, reads the source tree to keep it so). Everything else
asks for a move by name: `new_appeal`, `move`, `record_answer`, `reroute`, and for
messages `finish_inbound`, `release_inbound`, `requeue_inbound`, `discard_held`.

Appeal states:
  routed              registered and waiting at its department (`registered` is the
                      column default of rows written before routing existed)
  answered            an interim answer was relayed; still waiting for the final one
  held                waiting for an admin
  closed              the final answer was relayed
  returned            incomplete, sent back to the citizen (Law 393/96-ВР Art. 5)
  not_considered      anonymous or repeated and not considered (Art. 8)
  duplicate           the same text again while the first is open: one appeal
  forwarded_external  outside the council's competence, sent on (Art. 7); for a
                      request, passed to the holder of the information (Law 2939-VI
                      Art. 22 §3)

A returned or not-considered appeal goes back to routed when the citizen supplies the
missing name and address (`routing.followups`); the other finished states are final.

Inbound message states: received -> processing (a worker's claim, models.claims) ->
processed | held | discarded, always with a reason; held ones go back to received when an
admin requeues them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Appeal, AppealEvent, Attachment, Department, InboundMessage, TrainingLabel
from models.tables import AWAITING_ANSWER
from routing.attachments import listed
from routing.ports import AttachmentRef, NoticeSink

AppealState = Literal[
    "registered",
    "routed",
    "answered",
    "held",
    "closed",
    "returned",
    "not_considered",
    "duplicate",
    "forwarded_external",
]
InboundState = Literal["received", "processing", "processed", "held", "discarded"]

# Waiting for the department's answer: reminders and escalations are for these. The tuple
# lives beside the table because the partial index of the reminder scan repeats it.
AWAITING: tuple[str, ...] = AWAITING_ANSWER
# Not finished: waiting for the department or for an admin.
OPEN_STATES: tuple[str, ...] = (*AWAITING_ANSWER, "held")
# Finished; `closed_at` is set on entering any of these.
CLOSED_STATES: tuple[str, ...] = (
    "closed",
    "returned",
    "not_considered",
    "duplicate",
    "forwarded_external",
)
# A finished appeal whose text was answered: the same text again is a repeated appeal.
ANSWERED_FINALLY: tuple[str, ...] = ("closed",)

_MOVES: dict[str, frozenset[str]] = {
    "registered": frozenset({"routed", "answered", "held", *CLOSED_STATES}),
    "routed": frozenset({"routed", "answered", "held", *CLOSED_STATES}),
    "answered": frozenset({"routed", "answered", "held", "closed", "forwarded_external"}),
    "held": frozenset({"routed", "closed", "forwarded_external"}),
    # An incomplete appeal (Art. 5) or an anonymous one (Art. 8) is considered once the
    # citizen supplies what was missing: it goes back to its department with a new term
    # counted from the day the complete data arrived (routing.followups).
    "returned": frozenset({"routed"}),
    "not_considered": frozenset({"routed"}),
}


@dataclass(frozen=True)
class Outcome:
    """Where one inbound message ends: processed, held or discarded, always with a reason."""

    state: Literal["processed", "held", "discarded"]
    reason: str
    appeal_id: int | None = None
    role: str = "appeal"


class LifecycleError(ValueError):
    """A move the life cycle does not allow (a closed appeal cannot be re-routed, say)."""


def is_open(appeal: Appeal) -> bool:
    return appeal.state in OPEN_STATES


def awaits_answer(appeal: Appeal) -> bool:
    return appeal.state in AWAITING


def is_overdue(appeal: Appeal, today: date) -> bool:
    """Past its due date and still waiting for the department. A 48-hour request
    (`due_at`) is overdue from the hour, which `today` alone cannot tell: callers with
    a clock use `is_overdue_at`."""
    return awaits_answer(appeal) and appeal.due_date < today


def is_overdue_at(appeal: Appeal, now: datetime, today: date) -> bool:
    if not awaits_answer(appeal):
        return False
    if appeal.due_at is not None:
        return now > appeal.due_at
    return appeal.due_date < today


def record_event(
    session: Session,
    at: datetime,
    type_: str,
    *,
    appeal_id: int | None = None,
    inbound_id: int | None = None,
    actor: str = "system",
    **data: Any,
) -> None:
    """One row of an appeal's (or a message's) history. `data` holds no personal data
    beyond what the appeal row itself keeps."""
    session.add(
        AppealEvent(
            appeal_id=appeal_id, inbound_id=inbound_id, at=at, type=type_, actor=actor, data=data
        )
    )


def new_appeal(**fields: Any) -> Appeal:
    """A registered appeal, routed to its department (registration.persist calls this)."""
    # Looked at by the next reminder tick, which stores the exact time of its first step.
    return Appeal(state="routed", next_reminder_at=fields.get("received_at"), **fields)


def plan_reminders_again(appeal: Appeal, now: datetime) -> None:
    """What the reminder plan depends on changed (state, due date, department): the next
    reminder tick looks at the appeal and stores the exact time of its next step
    (`routing.reminder_scan`); an appeal no longer awaiting an answer gets no reminders."""
    appeal.next_reminder_at = now if appeal.state in AWAITING else None


def move(appeal: Appeal, to: AppealState, now: datetime) -> None:
    """Change an appeal's state, refusing moves the life cycle does not know."""
    allowed = _MOVES.get(appeal.state, frozenset())
    if to not in allowed:
        raise LifecycleError(f"appeal {appeal.reg_no}: {appeal.state} -> {to} is not allowed")
    was = appeal.state
    appeal.state = to
    plan_reminders_again(appeal, now)
    if to in CLOSED_STATES:
        appeal.closed_at = now
    elif was in CLOSED_STATES:
        # Re-opened (a returned or not-considered appeal completed by the citizen): it is
        # no longer finished, and its result of consideration is still to come.
        appeal.closed_at = None
        clear_result(appeal)
    if to in _RESULT_OF_STATE:
        # Returned (Art. 5), not considered (Art. 8) and forwarded (Art. 7) are results of
        # consideration in their own right; the register records them without a person.
        set_result(appeal, _RESULT_OF_STATE[to], "rule", now)


_RESULT_OF_STATE = {
    "returned": "returned",
    "not_considered": "not_considered",
    "forwarded_external": "forwarded",
}


def set_result(appeal: Appeal, result: str, source: str, now: datetime) -> None:
    """The result of consideration (Classifier, resolution No. 858) and where it came from."""
    appeal.result = result
    appeal.result_at = now
    appeal.characteristic_sources = {**(appeal.characteristic_sources or {}), "result": source}


def clear_result(appeal: Appeal) -> None:
    appeal.result = None
    appeal.result_at = None
    sources = dict(appeal.characteristic_sources or {})
    sources.pop("result", None)
    appeal.characteristic_sources = sources


def record_answer(
    appeal: Appeal, now: datetime, *, final: bool, result: tuple[str, str] | None = None
) -> None:
    """An answer was relayed to the citizen: final closes the appeal, interim keeps it.
    A final answer records its result of consideration: `result` is (code, source) from a
    staff `#result` command, otherwise "explained" with source "default". An interim
    answer is no answer for the register, so it records none."""
    appeal.answered_at = now
    move(appeal, "closed" if final else "answered", now)
    if final:
        code, source = result if result is not None else ("explained", "default")
        set_result(appeal, code, source, now)


@dataclass(frozen=True)
class RerouteRequest:
    """Who asked to give the appeal to another department, and why (for the history and
    for the training label the correction becomes)."""

    actor: str
    source: Literal["redirect", "admin"]
    reason: str = ""
    topic: str | None = None
    # Tell the old department it is off the hook. A staff `#redirect` says so in its own
    # confirmation (routing.answers), to the staff member and the department's mailbox.
    tell_old: bool = True
    # For a staff `#redirect`: the checks that verified the sender (docs/security.md T9).
    evidence: tuple[str, ...] = ()


def reroute(
    session: Session,
    appeal: Appeal,
    dept: Department,
    request: RerouteRequest,
    *,
    now: datetime,
    notices: NoticeSink,
    view: Callable[[Appeal], dict[str, Any]],
) -> None:
    """Give an open appeal to another department: the one implementation behind a staff
    `#redirect` and `appeals appeal reroute`.

    The correction is kept as a training label: a decision of the triage department is a
    triage label, any other one corrects a routing mistake. The new department gets the
    appeal with its original attachments; the citizen is told who handles it now.
    """
    if not is_open(appeal):
        raise LifecycleError(f"appeal {appeal.reg_no} is {appeal.state}; it cannot be re-routed")
    old = appeal.department
    history = appeal_history(session, appeal)
    source = "triage" if old is not None and old.is_triage else request.source
    if request.topic:
        appeal.topic = request.topic
    appeal.department_id = dept.id
    appeal.department = dept
    move(appeal, "routed", now)
    session.add(
        TrainingLabel(
            appeal_id=appeal.id,
            topic=request.topic,
            department_code=dept.code,
            source=source,
            actor=request.actor,
            at=now,
        )
    )
    record_event(
        session,
        now,
        "redirected",
        appeal_id=appeal.id,
        actor=request.actor,
        from_department=old.code if old else None,
        to_department=dept.code,
        reason=request.reason,
        evidence=list(request.evidence),
    )
    previous = {"code": old.code, "name": old.name} if old is not None else None
    notices.add(
        "department/reassigned",
        to=[dept.email],
        context={
            **view(appeal),
            "history": history,
            "previous": previous,
            "attachments": original_listing(session, appeal),
        },
        appeal_id=appeal.id,
        reply_token_for=appeal.id,
        attachments=original_attachments(session, appeal),
    )
    if request.tell_old and old is not None and old.id != dept.id:
        # The old department stops getting reminders for it: say so, and to whom it went.
        notices.add(
            "department/reassigned_away",
            to=[old.email],
            context={
                **view(appeal),
                "department": {"code": old.code, "name": old.name, "email": old.email},
                "new": {"code": dept.code, "name": dept.name},
            },
            appeal_id=appeal.id,
        )
    if appeal.citizen_email:
        notices.add(
            "citizen/redirected",
            to=[appeal.citizen_email],
            context=view(appeal),
            appeal_id=appeal.id,
            language=appeal.language,
            reply_token_for=appeal.id,
        )


# What each kind of event says in a department's history of an appeal (Ukrainian: the
# staff-facing letters are in Ukrainian).
_HISTORY_LABELS = {
    "registered": "зареєстровано",
    "routed": "направлено",
    "redirected": "перенаправлено",
    "followup": "доповнення від заявника",
    "answer-received": "відповідь підрозділу",
    "answer-relayed": "відповідь надіслано заявнику",
    "extended": "строк продовжено",
}


def appeal_history(session: Session, appeal: Appeal) -> list[dict[str, str]]:
    """The appeal's story so far as plain lines for a letter: when, what, and the text of
    follow-ups and interim answers, so that a department it is re-routed to has it all."""
    rows = session.scalars(
        select(AppealEvent)
        .where(AppealEvent.appeal_id == appeal.id, AppealEvent.type.in_(_HISTORY_LABELS))
        .order_by(AppealEvent.at, AppealEvent.id)
    )
    out = []
    for e in rows:
        data = e.data or {}
        what = _HISTORY_LABELS[e.type]
        if e.type == "answer-received":
            what += " (проміжна)" if data.get("kind") == "interim" else " (остаточна)"
        if e.type == "extended" and data.get("new_due"):
            new_due = date.fromisoformat(str(data["new_due"])).strftime("%d.%m.%Y")
            what += f" до {new_due}: {data.get('reason', '')}".rstrip(": ")
        if e.type == "redirected":
            what += f": {data.get('from_department') or '—'} -> {data.get('to_department')}"
        at = e.at.strftime("%d.%m.%Y %H:%M") if e.at else ""
        out.append({"at": at, "what": what, "text": str(data.get("text") or "")})
    return out


def correct_topic(
    session: Session, appeal: Appeal, topic: str, *, actor: str, now: datetime
) -> None:
    """A person corrects the topic: recorded on the appeal's history and kept as a
    training label, so the next model learns from it."""
    # "from" is a keyword: the event's data is written as a dict here.
    session.add(
        AppealEvent(
            appeal_id=appeal.id,
            at=now,
            type="topic-set",
            actor=actor,
            data={"from": appeal.topic, "to": topic},
        )
    )
    appeal.topic = topic
    session.add(
        TrainingLabel(
            appeal_id=appeal.id,
            topic=topic,
            department_code=None,
            source="admin",
            actor=actor,
            at=now,
        )
    )


def _original_rows(session: Session, appeal: Appeal) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.appeal_id == appeal.id, Attachment.inbound_id == appeal.inbound_id)
            .order_by(Attachment.id)
        )
    )


def original_attachments(session: Session, appeal: Appeal) -> list[AttachmentRef]:
    """The files of the message the appeal was registered from (not of later follow-ups)
    that were forwarded when it was registered: a refused file stays refused."""
    return [
        AttachmentRef(a.filename, a.content_type, a.sha256)
        for a in _original_rows(session, appeal)
        if a.status == "sent"
    ]


def original_listing(session: Session, appeal: Appeal) -> list[dict[str, Any]]:
    """Every file of that message with whether it was forwarded, for the letters."""
    return [
        listed(
            name=a.original_name or a.filename,
            filename=a.filename,
            size=a.size,
            status=a.status,
            reason=a.reason,
            inside=a.inside,
            unpacked_from=a.unpacked_from,
        )
        for a in _original_rows(session, appeal)
    ]


# Inbound messages ---------------------------------------------------------------------


def finish_inbound(
    row: InboundMessage,
    state: Literal["processed", "held", "discarded"],
    reason: str,
    now: datetime,
    *,
    detail: str | None = None,
    role: str | None = None,
    appeal_id: int | None = None,
) -> None:
    """A message reached its end: processed, held for a person, or discarded, with why."""
    row.state = state
    row.reason = reason
    if detail is not None:
        row.detail = detail
    if role is not None:
        row.role = role
    if appeal_id is not None:
        row.appeal_id = appeal_id
    row.lease_until = None
    row.processed_at = now


def release_inbound(
    row: InboundMessage,
    *,
    hold_reason: str | None,
    detail: str,
    now: datetime | None = None,
) -> None:
    """A worker failed on the message: back to `received` for another try, or held
    (`hold_reason`) when the attempts are used up (`now`: when it was held)."""
    row.detail = detail
    row.lease_until = None
    if hold_reason is not None:
        row.state, row.reason = "held", hold_reason
        if now is not None:
            row.processed_at = now
    else:
        row.state = "received"


def requeue_inbound(row: InboundMessage) -> None:
    """Back to the worker as if just received, with a fresh count of attempts: for held
    messages and for discarded ones an admin wants handled after all."""
    if row.state not in ("held", "discarded"):
        raise LifecycleError(f"inbound {row.id} is {row.state}; only held or discarded return")
    if row.erased_at is not None:
        # Its raw mail was destroyed (retention, a citizen's request): nothing to handle.
        raise LifecycleError(f"inbound {row.id} was erased; it cannot be handled again")
    row.state = "received"
    row.reason = None
    row.attempts = 0
    row.lease_until = None
    # Held again later, it is news again for the admin's digest (gateway.alerts).
    row.alerted_at = None


def discard_held(row: InboundMessage, why: str) -> None:
    if row.state != "held":
        raise LifecycleError(f"inbound {row.id} is {row.state}, not held")
    row.state = "discarded"
    row.reason = "admin-discard"
    row.detail = why[:1000]
