"""Registering a new appeal, in three stages:

- `assess` (pure): what the message is: its text, the citizen, the kind, the legal
  deadline, what is missing, how many signed, a privileged category, the fingerprint;
- `persist`: the appeal row with its number, classification, department and attachments,
  and the `registered` / `classified` events;
- `dispose`: what the law says happens next: not considered (anonymous or repeated, Art.
  8), returned as incomplete (Art. 5), a duplicate of an open appeal, a member of a mass
  appeal, or acknowledged to the citizen and forwarded to the department.

`register_new` runs them in the worker's transaction for one inbound message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifier.types import Prediction
from models import Appeal, Attachment, Department, InboundMessage
from routing import characteristics, duplicates, reception, requirements, street_learning
from routing.attachments import FileDecision, listing, refs, review
from routing.citizen import CitizenInfo, extract_citizen
from routing.config import PipelineConfig, PipelineDeps
from routing.deadlines import (
    Due,
    WorkCalendar,
    compute_due,
    detect_privileged_category,
    priority_for,
    return_incomplete_deadline,
)
from routing.departments import RoutingDecision, decide_route
from routing.features import appeal_district, appeal_text, model_text, routing_context
from routing.letters import letter
from routing.lifecycle import OPEN_STATES, Outcome, move, new_appeal, record_event
from routing.mail import ParsedMail
from routing.numbering import Kind, allocate_number, detect_kind, is_urgent_request
from routing.ports import NoticeSink
from routing.screening import may_auto_reply_to
from routing.streets import NO_DISTRICT, Resolution
from routing.threads import chain_of
from routing.views import appeal_view

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assessment:
    """What a new message is, read from the message alone (no database)."""

    body: str  # the new text without quoted history or signature
    text: str  # the same with its signature
    citizen: CitizenInfo
    kind: Kind
    kind_how: str
    urgent: bool
    due: Due
    completeness: requirements.Completeness
    signatories: int
    privileged: str | None
    fingerprint: str
    files: tuple[FileDecision, ...] = ()


def assess(
    parsed: ParsedMail, recipients: list[str], received_at: datetime, deps: PipelineDeps
) -> Assessment:
    body, text = appeal_text(parsed)
    citizen = extract_citizen(parsed, text)
    kind, kind_how = detect_kind(text, parsed.subject, recipients, deps.config.registration)
    urgent = kind == "info_request" and is_urgent_request(text, parsed.subject)
    return Assessment(
        body=body,
        text=text,
        citizen=citizen,
        kind=kind,
        kind_how=kind_how,
        urgent=urgent,
        due=compute_due(kind, received_at, deps.calendar, urgent=urgent),
        completeness=requirements.check(citizen.name, citizen.address, citizen.email, body or text),
        signatories=requirements.signatories(text),
        privileged=detect_privileged_category(text),
        fingerprint=duplicates.fingerprint(body or text),
        files=tuple(review(parsed.attachments, deps.config.attachments)),
    )


@dataclass(frozen=True)
class Placement:
    """Where the appeal goes, which needs the database: its repeat status among earlier
    appeals, the model's prediction and the routing decision."""

    repeat: duplicates.RepeatVerdict
    district: str | None
    prediction: Prediction | None
    decision: RoutingDecision
    department: Department
    found: Resolution = NO_DISTRICT  # how the district was (or was not) found


def place(
    session: Session,
    facts: Assessment,
    parsed: ParsedMail,
    recipients: list[str],
    received_at: datetime,
    deps: PipelineDeps,
) -> Placement:
    cfg = deps.config
    repeat = duplicates.classify(
        session,
        citizen_email=facts.citizen.email,
        fp=facts.fingerprint,
        now=deps.clock.now(),
        window_days=cfg.policies.duplicate_window_days,
        mass_threshold=cfg.policies.mass_threshold,
    )
    found = appeal_district(
        facts.citizen.address,
        facts.text,
        cfg.routing,
        learned=lambda keys: street_learning.observations(session, keys),
    )
    district = found.district
    # Classified once the district and the repeat status are known: both are part of what
    # a model trained with context features reads.
    prediction = (
        deps.classify(
            model_text(parsed),
            routing_context(district, repeat.status, received_at, cfg.timezone),
        )
        if deps.classify is not None
        else None
    )
    decision = decide_route(session, recipients, prediction, cfg.routing, district, facts.kind)
    dept = session.scalars(
        select(Department).where(Department.code == decision.department_code)
    ).one()
    return Placement(repeat, district, prediction, decision, dept, found)


def persist(
    session: Session,
    inbound: InboundMessage,
    parsed: ParsedMail,
    facts: Assessment,
    where: Placement,
    cfg: PipelineConfig,
    now: datetime,
    web: bool = False,
) -> Appeal:
    year = inbound.received_at.astimezone(ZoneInfo(cfg.timezone)).year
    reg_no, seq = allocate_number(session, facts.kind, year, cfg.registration)
    citizen, due, pred, repeat = facts.citizen, facts.due, where.prediction, where.repeat
    missing = facts.completeness.missing
    earlier = (
        session.scalar(
            select(func.count(Appeal.id)).where(
                Appeal.citizen_email == citizen.email,
                Appeal.fingerprint != facts.fingerprint,
            )
        )
        if citizen.email
        else 0
    )
    traits = characteristics.characterise(
        text=facts.body or facts.text,
        subject=parsed.subject,
        sender=parsed.from_addr.email if parsed.from_addr else inbound.mail_from,
        repeat_status=repeat.status,
        signatories=facts.signatories,
        anonymous=facts.completeness.anonymous,
        privileged_category=facts.privileged,
        topic_label=pred.label if pred else None,
        cfg=cfg.registry,
        earlier_from_same_citizen=int(earlier or 0),
        web=web,
    )
    appeal = new_appeal(
        reg_no=reg_no,
        reg_year=year,
        reg_seq=seq,
        kind=facts.kind,
        urgent=facts.urgent,
        received_at=inbound.received_at,
        receipt_date=due.receipt_date,
        due_date=due.due_date,
        due_at=due.due_at,
        topic=pred.label if pred else None,
        confidence=pred.score if pred else None,
        model_version=pred.model_version if pred else None,
        department_id=where.department.id,
        citizen_name=citizen.name,
        citizen_email=citizen.email,
        citizen_address=citizen.address,
        citizen_phone=citizen.phone,
        subject=parsed.subject[:2000],
        text=facts.text,
        fingerprint=facts.fingerprint,
        repeat_status=repeat.status,
        related_appeal_id=repeat.related_id,
        mass_group=repeat.mass_group,
        collective=facts.signatories > 1,
        signatories=facts.signatories,
        anonymous=facts.completeness.anonymous,
        privileged_category=facts.privileged,
        district=where.district,
        priority=priority_for(facts.privileged),
        inbound_id=inbound.id,
        # How each contact field was found, for the forward's contact block.
        flags={**({"missing": list(missing)} if missing else {}), "contacts": citizen.as_flags()},
        receipt_form=traits.form,
        appeal_sign=traits.sign,
        appeal_type=traits.type,
        subject_kind=traits.subject,
        topic_code=traits.topic_code,
        characteristic_sources=traits.sources,
    )
    session.add(appeal)
    # Every letter to the citizen answers this one (routing.threads): the conversation it
    # was part of is kept beside its Message-ID.
    conversation = chain_of(parsed)[:-1]
    if conversation:
        inbound.info = {**(inbound.info or {}), "references": conversation}
    session.flush()
    for file in facts.files:
        att = file.info
        session.add(
            Attachment(
                inbound_id=inbound.id,
                appeal_id=appeal.id,
                filename=att.filename[:512],
                original_name=att.display_name[:512],
                content_type=att.content_type[:255],
                size=att.size,
                sha256=att.sha256,
                status=file.status,
                reason=file.reason,
                inside=att.inside,
                unpacked_from=att.unpacked_from,
            )
        )
    _record_registration(session, appeal, inbound, facts, where, now)
    return appeal


def _record_registration(
    session: Session,
    appeal: Appeal,
    inbound: InboundMessage,
    facts: Assessment,
    where: Placement,
    now: datetime,
) -> None:
    record_event(
        session,
        now,
        "registered",
        appeal_id=appeal.id,
        inbound_id=inbound.id,
        reg_no=appeal.reg_no,
        kind=facts.kind,
        kind_by=facts.kind_how,
        urgent=facts.urgent,
        receipt_date=facts.due.receipt_date.isoformat(),
        due_date=facts.due.due_date.isoformat(),
        due_rule=facts.due.rule,
        repeat_status=where.repeat.status,
        related=where.repeat.related_id,
        collective=appeal.collective,
        signatories=facts.signatories,
        privileged=facts.privileged,
        missing=list(facts.completeness.missing),
        anonymous=facts.completeness.anonymous,
    )
    record_event(
        session,
        now,
        "classified",
        appeal_id=appeal.id,
        topic=appeal.topic,
        score=appeal.confidence,
        model_version=appeal.model_version,
        top_k=[list(x) for x in where.prediction.top_k] if where.prediction else [],
    )


@dataclass(frozen=True)
class CitizenLetters:
    """Letters to the citizen of one new appeal: none when there is no address we may
    write to automatically (bounces, no-reply addresses, our own domains), and none for
    list or bulk mail (`withheld`), where each letter not sent is recorded with why."""

    appeal: Appeal
    parsed: ParsedMail
    view: dict[str, Any]
    notices: NoticeSink
    ok: bool
    withheld: Callable[[str], None] | None = None

    def __call__(self, kind: str, extra: dict[str, Any] | None = None) -> None:
        if not self.ok:
            return
        if self.withheld is not None:
            self.withheld(kind)
            return
        self.notices.add(
            letter(kind, self.appeal.kind),
            to=[self.appeal.citizen_email or ""],
            context={**self.view, **(extra or {})},
            appeal_id=self.appeal.id,
            language=self.appeal.language,
            reply_token_for=self.appeal.id,
            thread_with=chain_of(self.parsed),
        )


def dispose(
    session: Session,
    appeal: Appeal,
    parsed: ParsedMail,
    facts: Assessment,
    where: Placement,
    deps: PipelineDeps,
    notices: NoticeSink,
    bulk: str | None = None,
) -> Outcome:
    cfg, now = deps.config, deps.clock.now()
    view = appeal_view(appeal, where.department, cfg)
    tell = CitizenLetters(
        appeal,
        parsed,
        view,
        notices,
        bool(appeal.citizen_email) and may_auto_reply_to(appeal.citizen_email, cfg.screening),
        _withhold(session, appeal, bulk, now) if bulk else None,
    )
    policies, repeat = cfg.policies, where.repeat
    # Art. 8: anonymous appeals are not considered (a setting).
    if facts.completeness.anonymous and policies.anonymous_policy == "not_considered":
        return _not_considered(session, appeal, now, "anonymous", tell)
    # Art. 5: incomplete appeals go back with an explanation within 10 days; we answer at
    # once, and the event records the legal latest date.
    if facts.completeness.missing and policies.incomplete_policy == "return":
        return _return_incomplete(session, appeal, facts, deps.calendar, now, tell)
    if repeat.status == "duplicate":
        move(appeal, "duplicate", now)
        original = session.get(Appeal, repeat.related_id)
        record_event(session, now, "duplicate", appeal_id=appeal.id, original=repeat.related_id)
        tell("citizen/duplicate", {"original": {"reg_no": original.reg_no if original else ""}})
        return Outcome("processed", "duplicate", appeal.id)
    # A complaint about the decision on the first appeal is not a repeated appeal in the
    # sense of Art. 8 (the same issue raised again): the citizen has a right to it.
    complaint = appeal.appeal_type == "complaint" and bool((appeal.flags or {}).get("followup_of"))
    if (
        repeat.status == "repeated"
        and not complaint
        and policies.repeated_policy == "not_considered"
    ):
        return _not_considered(session, appeal, now, "repeated", tell)
    dept = where.department
    record_event(
        session,
        now,
        "routed",
        appeal_id=appeal.id,
        department=dept.code,
        rule=where.decision.rule,
        reason=where.decision.reason,
        # Which step of the chain decided, and how the district was found (never the
        # citizen's address itself: the event log is no place for personal data).
        path=where.decision.path,
        district=where.district,
        district_by=where.found.how,
        district_confidence=where.found.confidence,
    )
    files = listing(facts.files, cfg.attachments)
    not_taken = [f for f in files if not f["forwarded"]]
    tell("citizen/ack", {"refused": not_taken})
    if not_taken:
        # A letter of its own: what was not accepted, why, and how to send it after all.
        tell(
            "citizen/attachments_refused",
            {"refused": not_taken, "limits": cfg.attachments.as_view(), "followup": False},
        )
        record_event(
            session,
            now,
            "attachments-refused",
            appeal_id=appeal.id,
            files=[
                {"file": f["file"], "size": f["size"], "reason": f["reason"]} for f in not_taken
            ],
        )
    if repeat.status == "mass":
        _join_mass_group(session, appeal, repeat, now)
        leader = session.get(Appeal, repeat.mass_leader_id) if repeat.mass_leader_id else None
        if leader is not None and leader.state in OPEN_STATES and leader.id != appeal.id:
            # The department already has this text: it answers the group once, and the
            # answer goes to every member (routing.answers.relay_answer).
            appeal.department_id = leader.department_id
            return Outcome("processed", "mass-member", appeal.id)
    notices.add(
        letter("department/assigned", appeal.kind),
        to=[dept.email],
        context={
            **view,
            "repeat": {"status": repeat.status, "size": repeat.mass_size},
            "attachments": files,
        },
        appeal_id=appeal.id,
        language="uk",
        reply_token_for=appeal.id,
        attachments=refs(facts.files),
        automatic=True,
    )
    log.info("registered appeal %s -> %s by %s", appeal.reg_no, dept.code, where.decision.rule)
    return Outcome("processed", "registered", appeal.id)


def register_new(
    session: Session,
    inbound: InboundMessage,
    parsed: ParsedMail,
    recipients: list[str],
    deps: PipelineDeps,
    notices: NoticeSink,
    *,
    bulk: str | None = None,
) -> Outcome:
    """Register a new appeal. `bulk` is screening's evidence that the message came as list
    or bulk mail: it is registered like any other, and nothing is sent back automatically."""
    facts = assess(parsed, recipients, inbound.received_at, deps)
    where = place(session, facts, parsed, recipients, inbound.received_at, deps)
    # The internet reception's own submissions (their MAC verified) are "web_form".
    keys = (deps.codec.key, *(p.key for p in deps.codec.previous))
    web = reception.is_web_submission(parsed, keys)
    appeal = persist(session, inbound, parsed, facts, where, deps.config, deps.clock.now(), web=web)
    if web and (parsed.header("Content-Language") or "").strip().lower() == "en":
        # The citizen used the form's English version: their letters in English too.
        appeal.language = "en"
    if bulk:
        appeal.flags = {**(appeal.flags or {}), "bulk_mail": bulk}
    return dispose(session, appeal, parsed, facts, where, deps, notices, bulk)


def _withhold(session: Session, appeal: Appeal, bulk: str, now: datetime) -> Callable[[str], None]:
    """Records, instead of sending it, a letter the citizen would get automatically."""

    def record(kind: str) -> None:
        # RFC 3834 §2: an automatic responder must not answer list or bulk mail. The
        # department gets the appeal as usual and is told that the citizen was not.
        record_event(
            session,
            now,
            "citizen-letter-withheld",
            appeal_id=appeal.id,
            letter=kind,
            why="bulk-mail",
            evidence=bulk,
        )

    return record


def _not_considered(
    session: Session, appeal: Appeal, now: datetime, why: str, tell: CitizenLetters
) -> Outcome:
    move(appeal, "not_considered", now)
    record_event(session, now, "not-considered", appeal_id=appeal.id, why=why)
    tell("citizen/not_considered", {"why": why})
    return Outcome("processed", f"not-considered-{why}", appeal.id)


def _return_incomplete(
    session: Session,
    appeal: Appeal,
    facts: Assessment,
    calendar: WorkCalendar,
    now: datetime,
    tell: CitizenLetters,
) -> Outcome:
    move(appeal, "returned", now)
    missing = facts.completeness.missing
    latest = return_incomplete_deadline(facts.due.receipt_date, calendar)
    record_event(
        session,
        now,
        "returned-incomplete",
        appeal_id=appeal.id,
        missing=list(missing),
        latest=latest.isoformat(),
    )
    tell("citizen/returned", {"missing": [requirements.MISSING_LABELS[m] for m in missing]})
    return Outcome("processed", "returned-incomplete", appeal.id)


def _join_mass_group(
    session: Session, appeal: Appeal, repeat: duplicates.RepeatVerdict, now: datetime
) -> None:
    members = session.scalars(
        select(Appeal).where(Appeal.fingerprint == appeal.fingerprint, Appeal.mass_group.is_(None))
    )
    for m in members:
        m.mass_group = repeat.mass_group
        m.repeat_status = "mass" if m.id != repeat.mass_leader_id else m.repeat_status
    record_event(
        session,
        now,
        "mass-appeal",
        appeal_id=appeal.id,
        group=repeat.mass_group,
        size=repeat.mass_size,
        leader=repeat.mass_leader_id,
    )
