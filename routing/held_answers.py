"""Telling a staff member that their answer was held, why, and what to do.

A department's answer that the gateway does not relay (written from a personal address,
from another department, to the citizen's reply address, after the final answer, with a
damaged reply address, or unmatched) would otherwise wait in the holding pen while the
staff member believes the citizen has it. The writer is told, in the same transaction
that holds the message, but only when the From address is in the council's own domains
(`AlertConfig.own_domains`): a letter to an outside sender would be backscatter (the From
of a forgery names someone who never wrote), and an outsider learns nothing about the
appeal. A forgery that names a council address reaches that council mailbox, which is
where it should be noticed. At most one such letter per address per `AlertConfig.every`,
so a mail loop or a busy day cannot flood a mailbox. The admin hears of every held
message anyway, in the digest (`gateway.alerts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Appeal, Department, InboundMessage, OutboundMessage
from routing.lifecycle import Outcome, record_event
from routing.ports import NoticeSink

KIND = "department/answer_held"

# The hold reasons of routing.replies that stop a staff member's answer.
HELD_ANSWER_REASONS = frozenset(
    {
        "unknown-sender",
        "department-via-citizen-token",
        "appeal-closed",
        "bad-token",
        "unmatched-reply",
    }
)


@dataclass(frozen=True)
class AlertConfig:
    """[alerts] as routing reads it."""

    own_domains: frozenset[str] = field(default_factory=frozenset)
    every: timedelta = timedelta(hours=1)

    def is_own(self, address: str) -> bool:
        domain = address.rsplit("@", 1)[-1].strip().lower().rstrip(".")
        return any(domain == d or domain.endswith("." + d) for d in self.own_domains)


def tell_staff_held(
    session: Session,
    inbound: InboundMessage,
    outcome: Outcome,
    author: str | None,
    subject: str,
    config: AlertConfig,
    notices: NoticeSink,
    now: datetime,
    instance: dict[str, str],
) -> bool:
    """Queue the "your answer was held" letter when it is due; True when one was queued."""
    if outcome.state != "held" or outcome.reason not in HELD_ANSWER_REASONS:
        return False
    if not author or "@" not in author or not config.is_own(author):
        return False
    sender = author.strip().lower()
    recent = session.scalar(
        select(func.count(OutboundMessage.id)).where(
            OutboundMessage.kind == KIND,
            OutboundMessage.first_recipient == sender,
            OutboundMessage.created_at >= now - config.every,
        )
    )
    if recent:
        record_event(
            session, now, "staff-alert-suppressed", inbound_id=inbound.id, reason=outcome.reason
        )
        return False
    appeal = session.get(Appeal, outcome.appeal_id) if outcome.appeal_id is not None else None
    dept = appeal.department if appeal is not None else None
    own = _department_of(session, sender)
    context = {
        "instance": instance,
        "reason": outcome.reason,
        "held_id": inbound.id,
        "sender": sender,
        "subject": subject,
        "appeal": {"reg_no": appeal.reg_no, "kind": appeal.kind} if appeal is not None else None,
        "department": (
            {"code": dept.code, "name": dept.name, "email": dept.email} if dept else None
        ),
        # The department the writer answers for, when it is not the appeal's.
        "sender_department": (
            {"code": own.code, "name": own.name, "email": own.email}
            if own is not None and (dept is None or own.id != dept.id)
            else None
        ),
        "guesses": list((inbound.info or {}).get("guesses") or []),
    }
    queued = notices.add(
        KIND,
        to=[sender],
        context=context,
        appeal_id=appeal.id if appeal is not None else None,
    )
    if queued:
        record_event(
            session,
            now,
            "staff-told-held",
            appeal_id=appeal.id if appeal is not None else None,
            inbound_id=inbound.id,
            reason=outcome.reason,
        )
    return queued is not None


def _department_of(session: Session, sender: str) -> Department | None:
    """The active department that `sender` may answer for, if any."""
    domain = sender.rsplit("@", 1)[-1]
    for d in session.scalars(select(Department).where(Department.active.is_(True))):
        if sender == d.email.lower() or sender in {a.lower() for a in d.staff_addresses or ()}:
            return d
        if domain in {x.lower() for x in d.staff_domains or ()}:
            return d
    return None
