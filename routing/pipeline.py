"""The per-message pipeline: screen -> (reply | register -> classify -> route) -> notices.

`process` runs inside the worker's transaction for one inbound message: the appeal row,
its events and the outbox rows it causes commit together or not at all (transactional
outbox, GUIDE §4.1 invariant 4). It returns an `Outcome` saying in which terminal state the
inbound message ends (processed, held or discarded, always with a reason).

Not here: parsing (gateway.parsing), classification itself (classifier), rendering and
sending (gateway.notify / gateway.outbox).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier.types import Prediction
from models import Appeal, AppealEvent, Attachment, Department, InboundMessage
from routing.deadlines import WorkCalendar, compute_due
from routing.mail import Envelope, ParsedMail
from routing.ports import AttachmentRef, Clock, NoticeSink
from routing.registration import RegistrationConfig, allocate_number, detect_kind, is_urgent_request
from routing.rules import RoutingConfig, route
from routing.screening import ScreeningContext, may_auto_reply_to, screen
from routing.tokens import ReplyAddressCodec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    state: Literal["processed", "held", "discarded"]
    reason: str
    appeal_id: int | None = None
    role: str = "appeal"


@dataclass(frozen=True)
class PipelineConfig:
    registration: RegistrationConfig
    routing: RoutingConfig
    screening: ScreeningContext
    timezone: str
    instance: Mapping[str, str] = field(default_factory=dict)


@dataclass
class PipelineDeps:
    clock: Clock
    config: PipelineConfig
    calendar: WorkCalendar
    codec: ReplyAddressCodec


def all_recipients(parsed: ParsedMail, envelope: Envelope) -> list[str]:
    """Envelope recipients first, then the header ones, de-duplicated, lower-cased."""
    seen: dict[str, None] = {}
    for a in envelope.rcpt_tos:
        seen.setdefault(a.strip().lower(), None)
    for name in ("delivered-to", "x-original-to"):
        for v in parsed.header_all(name):
            seen.setdefault(v.strip().strip("<>").lower(), None)
    for addr in (*parsed.to, *parsed.cc):
        seen.setdefault(addr.email.lower(), None)
    return list(seen)


def event(
    session: Session,
    at: Any,
    type_: str,
    *,
    appeal_id: int | None = None,
    inbound_id: int | None = None,
    actor: str = "system",
    **data: Any,
) -> None:
    session.add(
        AppealEvent(
            appeal_id=appeal_id, inbound_id=inbound_id, at=at, type=type_, actor=actor, data=data
        )
    )


def process(
    session: Session,
    inbound: InboundMessage,
    parsed: ParsedMail,
    prediction: Prediction | None,
    deps: PipelineDeps,
    notices: NoticeSink,
) -> Outcome:
    now = deps.clock.now()
    envelope = Envelope(
        source=inbound.source,
        mail_from=inbound.mail_from,
        rcpt_tos=tuple(inbound.rcpt_tos or ()),
        peer=inbound.peer,
    )
    inbound.message_id = (parsed.message_id or "")[:998] or None
    verdict = screen(parsed, envelope, deps.config.screening)
    if verdict.hits:
        event(
            session,
            now,
            "screened",
            inbound_id=inbound.id,
            action=verdict.action,
            rule=verdict.rule,
            hits=list(verdict.hits),
            reason=verdict.reason,
        )
    if verdict.action == "discard":
        return Outcome("discarded", verdict.rule, role="machine")
    if verdict.action == "hold":
        return Outcome("held", verdict.rule)
    if verdict.action in ("bounce", "autoreply"):
        return Outcome("discarded", verdict.rule, role=verdict.action)

    recipients = all_recipients(parsed, envelope)
    if any(deps.codec.is_reply_domain(r) for r in recipients):
        return Outcome("held", "unmatched-reply", role="reply")
    # Nothing a person could answer: no address to answer to, or no content at all.
    # Held for a person rather than dropped: the law does not allow silently ignoring mail.
    if (parsed.reply_to or parsed.from_addr) is None:
        return Outcome("held", "no-sender")
    if not parsed.text.strip() and not parsed.attachments:
        return Outcome("held", "empty")
    return register_new(session, inbound, parsed, prediction, recipients, deps, notices)


def appeal_text(parsed: ParsedMail) -> str:
    return parsed.text.strip()


def fingerprint(text: str) -> str:
    norm = re.sub(r"\W+", " ", text.lower()).strip()
    return hashlib.sha256(norm.encode()).hexdigest()


def register_new(
    session: Session,
    inbound: InboundMessage,
    parsed: ParsedMail,
    prediction: Prediction | None,
    recipients: list[str],
    deps: PipelineDeps,
    notices: NoticeSink,
) -> Outcome:
    cfg = deps.config
    now = deps.clock.now()
    text = appeal_text(parsed)
    kind, kind_how = detect_kind(text, parsed.subject, recipients, cfg.registration)
    urgent = kind == "info_request" and is_urgent_request(text, parsed.subject)
    due = compute_due(kind, inbound.received_at, deps.calendar, urgent=urgent)
    year = inbound.received_at.astimezone(ZoneInfo(cfg.timezone)).year
    reg_no, seq = allocate_number(session, kind, year, cfg.registration)
    sender = parsed.reply_to or parsed.from_addr
    decision = route(recipients, prediction, cfg.routing)
    dept = session.scalars(
        select(Department).where(Department.code == decision.department_code)
    ).one()
    appeal = Appeal(
        reg_no=reg_no,
        reg_year=year,
        reg_seq=seq,
        kind=kind,
        urgent=urgent,
        received_at=inbound.received_at,
        receipt_date=due.receipt_date,
        due_date=due.due_date,
        due_at=due.due_at,
        state="routed",
        topic=prediction.label if prediction else None,
        confidence=prediction.score if prediction else None,
        model_version=prediction.model_version if prediction else None,
        department_id=dept.id,
        citizen_name=(parsed.from_addr.name if parsed.from_addr else None) or None,
        citizen_email=sender.email.lower() if sender else None,
        subject=parsed.subject[:2000],
        text=text,
        fingerprint=fingerprint(text),
        inbound_id=inbound.id,
        flags={},
    )
    session.add(appeal)
    session.flush()
    for att in parsed.attachments:
        session.add(
            Attachment(
                inbound_id=inbound.id,
                appeal_id=appeal.id,
                filename=att.filename[:512],
                content_type=att.content_type[:255],
                size=att.size,
                sha256=att.sha256,
            )
        )
    event(
        session,
        now,
        "registered",
        appeal_id=appeal.id,
        inbound_id=inbound.id,
        reg_no=reg_no,
        kind=kind,
        kind_by=kind_how,
        urgent=urgent,
        receipt_date=due.receipt_date.isoformat(),
        due_date=due.due_date.isoformat(),
        due_rule=due.rule,
    )
    event(
        session,
        now,
        "classified",
        appeal_id=appeal.id,
        topic=appeal.topic,
        score=appeal.confidence,
        model_version=appeal.model_version,
        top_k=[list(x) for x in prediction.top_k] if prediction else [],
    )
    event(
        session,
        now,
        "routed",
        appeal_id=appeal.id,
        department=dept.code,
        rule=decision.rule,
        reason=decision.reason,
    )
    view = appeal_view(appeal, dept, cfg)
    if appeal.citizen_email and may_auto_reply_to(appeal.citizen_email, cfg.screening):
        notices.add(
            "citizen/ack",
            to=[appeal.citizen_email],
            context=view,
            appeal_id=appeal.id,
            language=appeal.language,
            reply_token_for=appeal.id,
            thread_with=[parsed.message_id] if parsed.message_id else [],
        )
    notices.add(
        "department/assigned",
        to=[dept.email],
        context=view,
        appeal_id=appeal.id,
        language="uk",
        reply_token_for=appeal.id,
        attachments=[
            AttachmentRef(a.filename, a.content_type, a.sha256) for a in parsed.attachments
        ],
        automatic=True,
    )
    log.info(
        "registered appeal %s (inbound %d) -> %s by %s",
        reg_no,
        inbound.id,
        dept.code,
        decision.rule,
    )
    return Outcome("processed", "registered", appeal.id)


def _d(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def appeal_view(appeal: Appeal, dept: Department, cfg: PipelineConfig) -> dict[str, Any]:
    """The plain values templates see (never ORM rows)."""
    tz = ZoneInfo(cfg.timezone)
    return {
        "instance": dict(cfg.instance),
        "appeal": {
            "reg_no": appeal.reg_no,
            "kind": appeal.kind,
            "urgent": appeal.urgent,
            "received": appeal.received_at.astimezone(tz).strftime("%d.%m.%Y %H:%M"),
            "receipt_date": _d(appeal.receipt_date),
            "due_date": _d(appeal.due_date),
            "due_at": appeal.due_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
            if appeal.due_at
            else None,
            "subject": appeal.subject,
            "text": appeal.text,
            "topic": appeal.topic,
            "citizen_name": appeal.citizen_name or "",
            "citizen_email": appeal.citizen_email or "",
            "citizen_address": appeal.citizen_address or "",
            "citizen_phone": appeal.citizen_phone or "",
            "priority": appeal.priority,
            "privileged_category": appeal.privileged_category,
        },
        "department": {"code": dept.code, "name": dept.name, "email": dept.email},
    }
