"""The per-message pipeline, dispatch only: screen -> machine mail | duplicate delivery |
reply | new appeal.

`process` runs inside the worker's transaction for one inbound message: the appeal row,
its events and the outbox rows it causes commit together or not at all (a transactional
outbox). It returns an `Outcome` saying in which terminal state the inbound message ends
(processed, held or discarded, always with a reason).

Where each stage lives: screening (`routing.screening`), bounces (`routing.bounce_handling`),
replies (`routing.replies`, then `routing.answers`), new appeals (`routing.registration`).
Not here: parsing (gateway.intake.parsing), classification itself (classifier), rendering
and sending (gateway.outbound).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Appeal, Department, InboundMessage
from routing.bounce_handling import handle_bounce
from routing.config import PipelineConfig, PipelineDeps, Policies
from routing.features import all_recipients
from routing.held_answers import tell_staff_held
from routing.lifecycle import Outcome, record_event
from routing.mail import Envelope, ParsedMail
from routing.ports import NoticeSink
from routing.registration import register_new
from routing.replies import handle_reply, looks_like_reply, match_reply, threaded_under_ours
from routing.screening import Verdict, list_author, screen
from routing.trust import claims_department
from routing.views import viewer

__all__ = ["Outcome", "PipelineConfig", "PipelineDeps", "Policies", "process"]


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
        record_event(
            session,
            now,
            "screened",
            inbound_id=inbound.id,
            action=verdict.action,
            rule=verdict.rule,
            hits=list(verdict.hits),
            reason=verdict.reason,
        )
    loop_mark = (
        parsed.header(deps.config.screening.loop_header)
        if deps.config.screening.loop_header
        else None
    )
    if loop_mark is not None and verdict.rule != "own-echo":
        # Our loop header without our MAC for this Message-ID: a writer copied or invented
        # it. It decides nothing (T12); the event lets an admin see the attempt.
        record_event(session, now, "control-header-ignored", inbound_id=inbound.id, header="loop")
    recipients = all_recipients(parsed, envelope)
    sender = parsed.reply_to or parsed.from_addr
    # Who wrote it is From, never Reply-To: anyone can name any address there, and a role
    # (department or citizen) must not be granted by a header the writer chose freely.
    author = parsed.from_addr
    sender_email = author.email.lower() if author else None
    if verdict.action != "accept":
        return _machine_mail(
            session, inbound, parsed, verdict, recipients, sender_email, deps, now, notices
        )

    duplicate_of = _same_message_seen(session, inbound, parsed)
    if duplicate_of is not None:
        # The same message received twice (sent to two of our addresses, or fetched from
        # two mailboxes): it is one message.
        record_event(session, now, "duplicate-delivery", inbound_id=inbound.id, first=duplicate_of)
        return Outcome("discarded", "duplicate-delivery", role="duplicate")

    assigned = (inbound.info or {}).get("assign_to")
    if assigned or looks_like_reply(
        parsed, recipients, deps.codec, deps.config.screening.message_id_domain, deps.reg_pattern
    ):
        outcome = handle_reply(session, inbound, parsed, recipients, sender_email, deps, notices)
        # A new mail that merely mentions a number but matches nothing is a new appeal,
        # unless it came to the reply domain or is threaded under our mail.
        mere_mention = (
            outcome.reason == "unmatched-reply"
            and not assigned
            and not any(deps.codec.is_reply_domain(r) for r in recipients)
            and not threaded_under_ours(parsed, deps.config.screening.message_id_domain)
        )
        if not mere_mention:
            # A staff member whose answer was held hears why (own domains only).
            tell_staff_held(
                session,
                inbound,
                outcome,
                sender_email,
                parsed.subject or "",
                deps.config.alerts,
                notices,
                now,
                dict(deps.config.instance),
            )
            return outcome
    if verdict.bulk is not None:
        # List or bulk mail is a person's appeal when a person wrote it (a letter relayed
        # by a residents' list, one signer's letter from a petition site); the citizen is
        # that person, never the list. A digest or newsletter names nobody: a person
        # looks at it (held), it is not dropped.
        person = list_author(parsed, deps.config.screening)
        if person is None:
            record_event(
                session, now, "bulk-mail-held", inbound_id=inbound.id, evidence=verdict.bulk
            )
            return Outcome("held", "bulk-no-author")
        if person != sender:
            # Answers go to the person (citizen.extract_citizen reads Reply-To first).
            parsed = replace(parsed, reply_to=person)
        sender = person
    claimed = claims_department(
        session.scalars(select(Department).where(Department.active.is_(True))).all(),
        author.email if author else None,
    )
    if claimed is not None and not (inbound.info or {}).get("approved"):
        # New mail in a department's name is not an appeal: a department answers through
        # its forward, and an out-of-office or a forwarding rule at the department must
        # never become a string of registered appeals (T11). A person looks at it (an
        # admin can assign it to an appeal or approve it as a new one).
        record_event(
            session, now, "from-department-held", inbound_id=inbound.id, department=claimed
        )
        return Outcome("held", "from-department")
    # Nothing a person could answer: no address to answer to, or no content at all.
    # Held for a person rather than dropped: the law does not allow silently ignoring mail.
    if sender is None:
        return Outcome("held", "no-sender")
    if not (inbound.info or {}).get("approved") and _burst(session, sender.email, deps, now):
        # An answering machine that writes fresh mail to our From for every letter we send
        # it registers an appeal, gets an acknowledgement, and writes again. A person does
        # not write that often; a loop does, and it must stop at once, not when the daily
        # cap of automatic letters is reached (T11).
        record_event(session, now, "loop-guard-held", inbound_id=inbound.id)
        return Outcome("held", "sender-burst")
    if not parsed.text.strip() and not parsed.attachments:
        return Outcome("held", "empty")
    return register_new(session, inbound, parsed, recipients, deps, notices, bulk=verdict.bulk)


def _machine_mail(
    session: Session,
    inbound: InboundMessage,
    parsed: ParsedMail,
    verdict: Verdict,
    recipients: list[str],
    sender_email: str | None,
    deps: PipelineDeps,
    now: datetime,
    notices: NoticeSink,
) -> Outcome:
    """Mail that screening did not accept as a person's: discarded, held, a bounce, or an
    auto-reply (never acknowledged; attached to its appeal when it matches one)."""
    if verdict.action == "discard":
        return Outcome("discarded", verdict.rule, role="machine")
    if verdict.action == "hold":
        return Outcome("held", verdict.rule)
    if verdict.action == "bounce":
        if verdict.machine is None:
            return Outcome("discarded", "bounce-unlinked", role="bounce")
        result = handle_bounce(
            session,
            verdict.machine,
            bounce_prefix=f"bounces{deps.codec.delimiter}",
            admin_email=deps.config.instance.get("admin_email", ""),
            notices=notices,
            event=lambda type_, **kw: record_event(
                session, now, type_, inbound_id=inbound.id, **kw
            ),
            view=viewer(deps.config),
        )
        return Outcome("discarded", result.reason, result.appeal_id, role="bounce")
    # An auto-reply.
    match = match_reply(session, parsed, recipients, deps.codec, deps.reg_pattern, sender_email)
    if match.appeal_id is None:
        return Outcome("discarded", verdict.rule, role="autoreply")
    record_event(
        session,
        now,
        "auto-reply",
        appeal_id=match.appeal_id,
        inbound_id=inbound.id,
        method=match.method,
        rule=verdict.rule,
    )
    return Outcome("discarded", verdict.rule, match.appeal_id, role="autoreply")


def _burst(session: Session, address: str, deps: PipelineDeps, now: datetime) -> bool:
    limit = deps.config.trust.max_new_appeals_per_hour
    if not limit:
        return False
    recent = session.scalar(
        select(func.count(Appeal.id)).where(
            func.lower(Appeal.citizen_email) == address.strip().lower(),
            Appeal.received_at >= now - timedelta(hours=1),
        )
    )
    return (recent or 0) >= limit


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
