"""The holding pen: held messages an admin looks at, assigns, approves or discards.

Held is a terminal state with a reason (`unmatched-reply`, `bad-token`, `unknown-sender`,
`answer-review`, `spam`, `crash`, ...). Assigning a reply to an appeal re-runs the reply
handling as if the message had come in matched; approving releases an answer that waits
for review; discarding needs a reason, which is kept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gateway.app import App
from gateway.commands.messages import parse_summary
from gateway.intake.parsing import parse
from models import Appeal, AppealEvent, InboundMessage
from routing.lifecycle import discard_held, record_event, requeue_inbound

# Held for a person's yes: an answer waiting for review, new mail in a department's name
# that a person has read and wants registered, a burst from one sender.
APPROVABLE = ("answer-review", "from-department", "sender-burst")
# A held message erased on its sender's request (routing.retention.erase_citizen) keeps
# its place here, but its bytes are gone: there is nothing left to hand the worker.
_ERASED = "inbound {} was erased on its sender's request; it cannot be handled again"


def list_held(app: App, reason: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    with app.sessions() as s:
        q = select(InboundMessage).where(InboundMessage.state == "held")
        if reason:
            q = q.where(InboundMessage.reason == reason)
        rows = s.scalars(q.order_by(InboundMessage.id).limit(limit))
        return [
            {
                "id": r.id,
                "received_at": r.received_at,
                "reason": r.reason,
                "source": r.source,
                "size": r.size,
                "appeal_id": r.appeal_id,
                "guesses": (r.info or {}).get("guesses", []),
            }
            for r in rows
        ]


def show(app: App, inbound_id: int) -> dict[str, Any] | None:
    with app.sessions() as s:
        r = s.get(InboundMessage, inbound_id)
        if r is None:
            return None
        events = [
            {"at": e.at, "type": e.type, "data": e.data}
            for e in s.scalars(select(AppealEvent).where(AppealEvent.inbound_id == r.id))
        ]
        meta = {
            "id": r.id,
            "state": r.state,
            "reason": r.reason,
            "detail": r.detail,
            "source": r.source,
            "mail_from": r.mail_from,
            "rcpt_tos": r.rcpt_tos,
            "received_at": r.received_at,
            "attempts": r.attempts,
            "info": r.info,
            "events": events,
        }
    try:
        meta["message"] = parse_summary(parse(app.ingest().raw(r.id)))
    except Exception as exc:
        meta["message"] = {"error": f"{type(exc).__name__}: {exc}"}
    return meta


def assign(app: App, inbound_id: int, reg_no: str, actor: str = "admin") -> str | None:
    """Returns an error message, or None when the message was queued for re-processing."""
    with app.sessions.begin() as s:
        r = s.get(InboundMessage, inbound_id)
        if r is None or r.state != "held":
            return f"inbound {inbound_id} is not held"
        if r.erased_at is not None:
            return _ERASED.format(inbound_id)
        appeal = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).first()
        if appeal is None:
            return f"no appeal {reg_no}"
        r.info = {**(r.info or {}), "assign_to": appeal.reg_no, "assigned_by": actor}
        requeue_inbound(r)
        record_event(
            s,
            app.clock.now(),
            "holding-pen-assign",
            appeal_id=appeal.id,
            inbound_id=r.id,
            actor=actor,
        )
    app.wakeup_worker.set()
    return None


def approve(app: App, inbound_id: int, actor: str = "admin") -> str | None:
    with app.sessions.begin() as s:
        r = s.get(InboundMessage, inbound_id)
        if r is None or r.state != "held" or r.reason not in APPROVABLE:
            return f"inbound {inbound_id} is not an answer waiting for review"
        if r.erased_at is not None:
            return _ERASED.format(inbound_id)
        r.info = {**(r.info or {}), "approved": True, "approved_by": actor}
        requeue_inbound(r)
    app.wakeup_worker.set()
    return None


def discard(app: App, inbound_id: int, why: str, actor: str = "admin") -> str | None:
    if not why.strip():
        return "a reason is required"
    with app.sessions.begin() as s:
        r = s.get(InboundMessage, inbound_id)
        if r is None or r.state != "held":
            return f"inbound {inbound_id} is not held"
        discard_held(r, why.strip())
        record_event(
            s,
            app.clock.now(),
            "holding-pen-discard",
            appeal_id=r.appeal_id,
            inbound_id=r.id,
            actor=actor,
            why=why.strip(),
        )
    return None


def release(app: App, inbound_id: int, actor: str = "admin") -> str | None:
    """Back into the pipeline: an answer waiting for review (or new mail in a department's
    name, a sender burst) is approved; any other held message is handled again as if it
    had just arrived (after a crash was fixed, a sender verified, ...)."""
    with app.sessions() as s:
        r = s.get(InboundMessage, inbound_id)
        if r is None or r.state != "held":
            return f"inbound {inbound_id} is not held"
        if r.erased_at is not None:
            return _ERASED.format(inbound_id)
        reason = r.reason
    if reason in APPROVABLE:
        return approve(app, inbound_id, actor)
    with app.sessions.begin() as s:
        r = s.get(InboundMessage, inbound_id)
        if r is None or r.state != "held":
            return f"inbound {inbound_id} is not held"
        requeue_inbound(r)
        record_event(
            s, app.clock.now(), "holding-pen-release", inbound_id=r.id, actor=actor, reason=reason
        )
    app.wakeup_worker.set()
    return None
