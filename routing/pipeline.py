"""The per-message pipeline: screen -> (reply | register -> classify -> route) -> notices.

`process` runs inside the worker's transaction for one inbound message: the appeal row,
its events and the outbox rows it causes commit together or not at all (transactional
outbox, GUIDE §4.1 invariant 4). It returns an `Outcome` saying in which terminal state the
inbound message ends (processed, held or discarded, always with a reason).

Not here: parsing (gateway.parsing), classification itself (classifier), rendering and
sending (gateway.notify / gateway.outbox).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier.context import Context
from classifier.types import Prediction
from models import Appeal, AppealEvent, Attachment, Department, InboundMessage
from routing import duplicates, requirements
from routing.citizen import extract_citizen
from routing.deadlines import (
    WorkCalendar,
    compute_due,
    detect_privileged_category,
    priority_for,
    return_incomplete_deadline,
)
from routing.learned_rules import learned_department
from routing.mail import Envelope, ParsedMail
from routing.ports import AttachmentRef, Classify, Clock, NoticeSink
from routing.quotes import split_reply
from routing.registration import (
    RegistrationConfig,
    allocate_number,
    detect_kind,
    is_urgent_request,
    reg_number_pattern,
)
from routing.replies import looks_like_reply, match_reply, sender_role
from routing.rules import RoutingConfig, RoutingDecision, find_district, route
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
class Policies:
    """How human mail that needs care is handled (settings [screening])."""

    anonymous_policy: str = "not_considered"
    repeated_policy: str = "consider"
    incomplete_policy: str = "return"
    mass_threshold: int = 5
    duplicate_window_days: int = 30


@dataclass(frozen=True)
class PipelineConfig:
    registration: RegistrationConfig
    routing: RoutingConfig
    screening: ScreeningContext
    timezone: str
    instance: Mapping[str, str] = field(default_factory=dict)
    policies: Policies = field(default_factory=Policies)


@dataclass
class PipelineDeps:
    clock: Clock
    config: PipelineConfig
    calendar: WorkCalendar
    codec: ReplyAddressCodec
    relay_mode: str = "auto"
    classify: Classify | None = None  # None: no classifier at all, everything to triage

    @property
    def reg_pattern(self) -> re.Pattern[str]:
        return reg_number_pattern(self.config.registration)


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

    recipients = all_recipients(parsed, envelope)
    sender = parsed.reply_to or parsed.from_addr
    sender_email = sender.email.lower() if sender else None
    if verdict.action == "bounce" and verdict.machine is not None:
        from routing.bounce_handling import handle_bounce

        result = handle_bounce(
            session,
            verdict.machine,
            bounce_prefix=f"bounces{deps.codec.delimiter}",
            admin_email=deps.config.instance.get("admin_email", ""),
            notices=notices,
            event=lambda type_, **kw: event(session, now, type_, inbound_id=inbound.id, **kw),
            view=lambda a: appeal_view(a, a.department, deps.config),
        )
        return Outcome("discarded", result.reason, result.appeal_id, role="bounce")
    if verdict.action == "bounce":
        return Outcome("discarded", "bounce-unlinked", role="bounce")
    if verdict.action == "autoreply":
        # Never acknowledged; attached to its appeal when it matches one (issue 5).
        match = match_reply(session, parsed, recipients, deps.codec, deps.reg_pattern, sender_email)
        if match.appeal_id is not None:
            event(
                session,
                now,
                "auto-reply",
                appeal_id=match.appeal_id,
                inbound_id=inbound.id,
                method=match.method,
                rule=verdict.rule,
            )
            return Outcome("discarded", verdict.rule, match.appeal_id, role="autoreply")
        return Outcome("discarded", verdict.rule, role="autoreply")

    duplicate_of = _same_message_seen(session, inbound, parsed)
    if duplicate_of is not None:
        # The same message received twice (sent to two of our addresses, or fetched from
        # two mailboxes): it is one message (issue 3, issue 5).
        event(session, now, "duplicate-delivery", inbound_id=inbound.id, first=duplicate_of)
        return Outcome("discarded", "duplicate-delivery", role="duplicate")

    assigned = (inbound.info or {}).get("assign_to")
    if assigned or looks_like_reply(
        parsed, recipients, deps.codec, deps.config.screening.message_id_domain, deps.reg_pattern
    ):
        outcome = _handle_reply(session, inbound, parsed, recipients, sender_email, deps, notices)
        # A new mail that merely mentions a number but matches nothing is a new appeal,
        # unless it came to the reply domain or is threaded under our mail.
        mere_mention = (
            outcome.reason == "unmatched-reply"
            and not assigned
            and not any(deps.codec.is_reply_domain(r) for r in recipients)
            and not _threaded_under_ours(parsed, deps)
        )
        if not mere_mention:
            return outcome
    # Nothing a person could answer: no address to answer to, or no content at all.
    # Held for a person rather than dropped: the law does not allow silently ignoring mail.
    if sender is None:
        return Outcome("held", "no-sender")
    if not parsed.text.strip() and not parsed.attachments:
        return Outcome("held", "empty")
    return register_new(session, inbound, parsed, recipients, deps, notices)


def model_text(parsed: ParsedMail) -> str:
    """What the classifier reads: the subject and the whole text."""
    return f"{parsed.subject}\n{parsed.text}".strip()


def appeal_text(parsed: ParsedMail) -> tuple[str, str]:
    """(body, text): the appeal's new text without quoted history (people forward earlier
    correspondence), and the same with its signature, which the fingerprint leaves out."""
    parts = split_reply(parsed.text, parsed.html)
    body = parts.new_text.strip()
    text = "\n\n".join(x for x in (body, parts.signature.strip()) if x) or parsed.text.strip()
    return body, text


def appeal_district(address: str | None, text: str, cfg: RoutingConfig) -> str | None:
    """The configured district the citizen's address or the text names, if any."""
    return find_district(f"{address or ''}\n{text}", cfg.districts)


def routing_context(
    district: str | None, repeat_status: str | None, received_at: datetime, timezone: str
) -> Context:
    """What a context-trained model reads besides the text. The worker builds it when it
    routes and training builds it from the stored appeal, so the two always agree."""
    return Context(
        district=district,
        repeat=repeat_status == "repeated",
        month=received_at.astimezone(ZoneInfo(timezone)).month,
    )


def decide_route(
    session: Session,
    recipients: Sequence[str],
    prediction: Prediction | None,
    cfg: RoutingConfig,
    district: str | None,
) -> RoutingDecision:
    """`routing.rules.route` with the learned rules in force in the database."""
    return route(
        recipients,
        prediction,
        cfg,
        district=district,
        learned=lambda label, where: learned_department(session, label, where),
    )


def register_new(
    session: Session,
    inbound: InboundMessage,
    parsed: ParsedMail,
    recipients: list[str],
    deps: PipelineDeps,
    notices: NoticeSink,
) -> Outcome:
    cfg = deps.config
    now = deps.clock.now()
    body, text = appeal_text(parsed)
    citizen = extract_citizen(parsed, text)
    kind, kind_how = detect_kind(text, parsed.subject, recipients, cfg.registration)
    urgent = kind == "info_request" and is_urgent_request(text, parsed.subject)
    due = compute_due(kind, inbound.received_at, deps.calendar, urgent=urgent)
    completeness = requirements.check(citizen.name, citizen.address, citizen.email, body or text)
    n_signed = requirements.signatories(text)
    privileged = detect_privileged_category(text)
    fp = duplicates.fingerprint(body or text)
    repeat = duplicates.classify(
        session,
        citizen_email=citizen.email,
        fp=fp,
        now=now,
        window_days=cfg.policies.duplicate_window_days,
        mass_threshold=cfg.policies.mass_threshold,
    )
    district = appeal_district(citizen.address, text, cfg.routing)
    # Classified once the district and the repeat status are known: both are part of what
    # a model trained with context features reads.
    prediction = (
        deps.classify(
            model_text(parsed),
            routing_context(district, repeat.status, inbound.received_at, cfg.timezone),
        )
        if deps.classify is not None
        else None
    )
    decision = decide_route(session, recipients, prediction, cfg.routing, district)
    dept = session.scalars(
        select(Department).where(Department.code == decision.department_code)
    ).one()
    year = inbound.received_at.astimezone(ZoneInfo(cfg.timezone)).year
    reg_no, seq = allocate_number(session, kind, year, cfg.registration)
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
        citizen_name=citizen.name,
        citizen_email=citizen.email,
        citizen_address=citizen.address,
        citizen_phone=citizen.phone,
        subject=parsed.subject[:2000],
        text=text,
        fingerprint=fp,
        repeat_status=repeat.status,
        related_appeal_id=repeat.related_id,
        mass_group=repeat.mass_group,
        collective=n_signed > 1,
        signatories=n_signed,
        anonymous=completeness.anonymous,
        privileged_category=privileged,
        district=district,
        priority=priority_for(privileged),
        inbound_id=inbound.id,
        flags={"missing": list(completeness.missing)} if completeness.missing else {},
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
        repeat_status=repeat.status,
        related=repeat.related_id,
        collective=appeal.collective,
        signatories=n_signed,
        privileged=privileged,
        missing=list(completeness.missing),
        anonymous=completeness.anonymous,
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
    view = appeal_view(appeal, dept, cfg)
    can_write = bool(appeal.citizen_email) and may_auto_reply_to(
        appeal.citizen_email, cfg.screening
    )

    def tell_citizen(kind_: str, extra: dict[str, Any] | None = None) -> None:
        if can_write:
            notices.add(
                kind_,
                to=[appeal.citizen_email or ""],
                context={**view, **(extra or {})},
                appeal_id=appeal.id,
                language=appeal.language,
                reply_token_for=appeal.id,
                thread_with=[parsed.message_id] if parsed.message_id else [],
            )

    policies = cfg.policies
    # Art. 8: anonymous appeals are not considered (a setting).
    if completeness.anonymous and policies.anonymous_policy == "not_considered":
        return _close_without_consideration(session, appeal, now, "anonymous", tell_citizen)
    # Art. 5: incomplete appeals go back with an explanation within 10 days; we answer at
    # once, and the event records the legal latest date.
    if completeness.missing and policies.incomplete_policy == "return":
        appeal.state = "returned"
        appeal.closed_at = now
        latest = return_incomplete_deadline(due.receipt_date, deps.calendar)
        labels = [requirements.MISSING_LABELS[m] for m in completeness.missing]
        event(
            session,
            now,
            "returned-incomplete",
            appeal_id=appeal.id,
            missing=list(completeness.missing),
            latest=latest.isoformat(),
        )
        tell_citizen("citizen/returned", {"missing": labels})
        return Outcome("processed", "returned-incomplete", appeal.id)
    if repeat.status == "duplicate":
        appeal.state = "duplicate"
        appeal.closed_at = now
        original = session.get(Appeal, repeat.related_id)
        event(session, now, "duplicate", appeal_id=appeal.id, original=repeat.related_id)
        tell_citizen(
            "citizen/duplicate", {"original": {"reg_no": original.reg_no if original else ""}}
        )
        return Outcome("processed", "duplicate", appeal.id)
    if repeat.status == "repeated" and policies.repeated_policy == "not_considered":
        return _close_without_consideration(session, appeal, now, "repeated", tell_citizen)
    event(
        session,
        now,
        "routed",
        appeal_id=appeal.id,
        department=dept.code,
        rule=decision.rule,
        reason=decision.reason,
    )
    tell_citizen("citizen/ack")
    if repeat.status == "mass":
        _join_mass_group(session, appeal, repeat, now)
        leader = session.get(Appeal, repeat.mass_leader_id) if repeat.mass_leader_id else None
        if leader is not None and leader.state in duplicates.OPEN and leader.id != appeal.id:
            # The department already has this text: it answers the group once, and the
            # answer goes to every member (routing.answers.relay_answer).
            appeal.department_id = leader.department_id
            return Outcome("processed", "mass-member", appeal.id)
    notices.add(
        "department/assigned",
        to=[dept.email],
        context={**view, "repeat": {"status": repeat.status, "size": repeat.mass_size}},
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


def _close_without_consideration(
    session: Session, appeal: Appeal, now: Any, why: str, tell: Any
) -> Outcome:
    appeal.state = "not_considered"
    appeal.closed_at = now
    event(session, now, "not-considered", appeal_id=appeal.id, why=why)
    tell("citizen/not_considered", {"why": why})
    return Outcome("processed", f"not-considered-{why}", appeal.id)


def _join_mass_group(session: Session, appeal: Appeal, repeat: Any, now: Any) -> None:
    members = session.scalars(
        select(Appeal).where(Appeal.fingerprint == appeal.fingerprint, Appeal.mass_group.is_(None))
    )
    for m in members:
        m.mass_group = repeat.mass_group
        m.repeat_status = "mass" if m.id != repeat.mass_leader_id else m.repeat_status
    event(
        session,
        now,
        "mass-appeal",
        appeal_id=appeal.id,
        group=repeat.mass_group,
        size=repeat.mass_size,
        leader=repeat.mass_leader_id,
    )


def _d(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def appeal_view(appeal: Appeal, dept: Department | None, cfg: PipelineConfig) -> dict[str, Any]:
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
        "department": (
            {"code": dept.code, "name": dept.name, "email": dept.email}
            if dept is not None
            else {"code": "", "name": "", "email": ""}
        ),
    }


def _same_message_seen(session: Session, inbound: InboundMessage, parsed: ParsedMail) -> int | None:
    if not parsed.message_id:
        return None
    return session.scalars(
        select(InboundMessage.id).where(
            InboundMessage.message_id == parsed.message_id[:998],
            InboundMessage.id != inbound.id,
            InboundMessage.state.in_(("processed", "held")),
            InboundMessage.mail_from.is_not_distinct_from(inbound.mail_from),
        )
    ).first()


def _handle_reply(
    session: Session,
    inbound: InboundMessage,
    parsed: ParsedMail,
    recipients: list[str],
    sender: str | None,
    deps: PipelineDeps,
    notices: NoticeSink,
) -> Outcome:
    from routing.answers import AnswerContext, handle_citizen_followup, handle_department_reply

    now = deps.clock.now()
    assigned = (inbound.info or {}).get("assign_to")
    if assigned:
        appeal_id = session.scalars(select(Appeal.id).where(Appeal.reg_no == assigned)).first()
        method, reason = "admin", f"assigned:{assigned}"
        if appeal_id is None:
            return Outcome("held", "unmatched-reply", role="reply")
    else:
        match = match_reply(session, parsed, recipients, deps.codec, deps.reg_pattern, sender)
        if match.bad_token:
            event(session, now, "reply-held", inbound_id=inbound.id, reason="bad-token")
            return Outcome("held", "bad-token", role="reply")
        if match.appeal_id is None:
            inbound.info = {**(inbound.info or {}), "guesses": list(match.guesses)}
            return Outcome("held", "unmatched-reply", role="reply")
        appeal_id, method, reason = match.appeal_id, match.method, match.reason
    appeal = session.get(Appeal, appeal_id)
    assert appeal is not None
    role = sender_role(appeal, sender) if sender else "other"
    if assigned and role == "other":
        role = "department"  # an admin assigned it: they vouch for the sender
    event(
        session,
        now,
        "reply-matched",
        appeal_id=appeal.id,
        inbound_id=inbound.id,
        method=method,
        reason=reason,
        role=role,
    )
    if role == "other":
        # Not the assigned department and not the citizen: an admin decides (issue 3).
        return Outcome("held", "unknown-sender", appeal.id, role="reply")
    ctx = AnswerContext(
        session=session,
        inbound=inbound,
        parsed=parsed,
        appeal=appeal,
        notices=notices,
        calendar=deps.calendar,
        now=now,
        view=lambda a: appeal_view(a, a.department, deps.config),
        relay_mode=deps.relay_mode,
        event=lambda type_, **kw: event(session, now, type_, **kw),
    )
    if role == "department" and appeal.state not in ("registered", "routed", "answered"):
        # The appeal already has its final answer (or left us): a second "answer" is held
        # for a person. This also ends loops with careless auto-responders.
        event(
            session,
            now,
            "reply-held",
            appeal_id=appeal.id,
            inbound_id=inbound.id,
            reason="appeal-closed",
        )
        return Outcome("held", "appeal-closed", appeal.id, role="reply")
    if role == "department":
        result = handle_department_reply(ctx, actor=sender or "admin")
    else:
        result = handle_citizen_followup(ctx)
    return Outcome(result.state, result.reason, appeal.id, role=role)


def _threaded_under_ours(parsed: ParsedMail, deps: PipelineDeps) -> bool:
    domain = "@" + deps.config.screening.message_id_domain.lower() + ">"
    return any(r.lower().endswith(domain) for r in (*parsed.in_reply_to, *parsed.references))
