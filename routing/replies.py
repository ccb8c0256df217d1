"""Matching replies to their appeals, and deciding who may answer.

Staff answer from their normal mail clients; citizens reply to our acknowledgements. A
reply is matched in this order (first hit wins; the method is recorded on the event):

1. `token`: our per-appeal reply address among the recipients (envelope, Delivered-To,
   X-Original-To, To, Cc) with a valid HMAC (`routing.tokens`). An address that carries a
   token whose MAC does not verify is never trusted: the message is held (`bad-token`),
   because someone altered or forged it.
2. `thread`: `In-Reply-To` or `References` naming a Message-ID we sent.
3. `subject`: a registration number in the subject, accepted only when the sender is the
   assigned department or the appeal's citizen (a guess, recorded as such).
4. Otherwise the holding pen (`unmatched-reply`) with the best guesses for an admin.

Who may answer (docs/security.md): the role is decided from From, never Reply-To (T1). A
From of the assigned department's addresses or domains answers (`routing.answers`) only
when the sender is verified as the department (`routing.trust`, T2-T6) and the reply came
through the department's own letter (its token, or threaded under a letter we sent the
department, T7); otherwise it is held with the reason and the department is told at its
configured mailbox, never the sender (T8). The citizen's mail is a follow-up, a new
appeal or the missing data of a returned one, by the appeal's state (`routing.followups`);
anyone else is held for an admin. Every event done on the department's authority names
the verified actor and the evidence (T9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

import saferegex
from models import Appeal, Department, InboundMessage, OutboundMessage
from routing.answers import AnswerContext, handle_department_reply, only_corrections
from routing.config import PipelineDeps
from routing.followups import handle_citizen_reply
from routing.lifecycle import Outcome, awaits_answer, record_event
from routing.mail import ParsedMail
from routing.ports import NoticeSink
from routing.tokens import ReplyAddressCodec
from routing.trust import SenderCheck, verify_department_sender
from routing.views import viewer

Method = Literal["token", "thread", "subject", "admin", "none"]
Role = Literal["department", "citizen", "other"]


@dataclass(frozen=True)
class ReplyMatch:
    appeal_id: int | None
    method: Method
    reason: str = ""
    bad_token: bool = False
    guesses: tuple[str, ...] = field(default=())
    audience: str | None = None  # for a token match: whose letter's address it was


_ANGLE_ID = saferegex.compile(r"<[^<>\s]+>")


def _ids(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        out += _ANGLE_ID.findall(v) or ([v.strip()] if v.strip() else [])
    return out


def match_reply(
    session: Session,
    parsed: ParsedMail,
    recipients: Sequence[str],
    codec: ReplyAddressCodec,
    reg_pattern: saferegex.Pattern[str],
    sender: str | None,
    now: datetime | None = None,
) -> ReplyMatch:
    bad = False
    expired = False
    for rcpt in recipients:
        check = codec.decode(rcpt, now)
        if check is None:
            continue
        expired = expired or check.expired
        known = (
            session.get(Appeal, check.appeal_id)
            if check.valid and check.appeal_id is not None
            else None
        )
        if known is not None:
            return ReplyMatch(known.id, "token", f"token:{known.id}", audience=check.audience)
        bad = True
    if bad:
        reason = "expired-token" if expired else "bad-token"
        return ReplyMatch(None, "none", reason, bad_token=True)
    refs = _ids([*parsed.in_reply_to, *parsed.references])
    if refs:
        rows = session.execute(
            select(OutboundMessage.appeal_id, OutboundMessage.audience).where(
                OutboundMessage.message_id.in_(refs), OutboundMessage.appeal_id.is_not(None)
            )
        ).all()
        if rows:
            # Threaded under a letter the department got counts as the department's way
            # back; under the citizen's own letters it can only add to the appeal (T7).
            dept = next((r for r in rows if r.audience == "department"), None)
            first = dept or rows[0]
            audience = "department" if dept is not None else "citizen"
            return ReplyMatch(first.appeal_id, "thread", "in-reply-to", audience=audience)
    guesses: list[str] = []
    for reg_no in reg_pattern.findall(parsed.subject or ""):
        appeal = session.scalars(select(Appeal).where(Appeal.reg_no == reg_no.upper())).first()
        if appeal is None:
            continue
        guesses.append(appeal.reg_no)
        if sender and sender_role(appeal, sender) != "other":
            return ReplyMatch(appeal.id, "subject", f"subject:{appeal.reg_no}")
    return ReplyMatch(None, "none", "unmatched-reply", guesses=tuple(guesses))


def sender_role(appeal: Appeal, sender: str) -> Role:
    s = sender.strip().lower()
    dept: Department | None = appeal.department
    if dept is not None:
        if s == dept.email.lower() or s in {a.lower() for a in dept.staff_addresses}:
            return "department"
        domain = s.rsplit("@", 1)[-1]
        if domain in {d.lower() for d in dept.staff_domains}:
            return "department"
    if appeal.citizen_email and s == appeal.citizen_email.lower():
        return "citizen"
    return "other"


def looks_like_reply(
    parsed: ParsedMail,
    recipients: Sequence[str],
    codec: ReplyAddressCodec,
    message_id_domain: str,
    reg_pattern: saferegex.Pattern[str] | None = None,
) -> bool:
    """Mail that should go through reply matching rather than be registered as new: sent to
    the reply domain, threaded under our mail, or naming one of our registration numbers in
    the subject (a reply written by hand, or by a careless auto-responder)."""
    if any(codec.is_reply_domain(r) for r in recipients):
        return True
    if reg_pattern is not None and reg_pattern.search(parsed.subject or ""):
        return True
    domain = "@" + message_id_domain.lower() + ">"
    return any(r.lower().endswith(domain) for r in _ids([*parsed.in_reply_to, *parsed.references]))


def threaded_under_ours(parsed: ParsedMail, message_id_domain: str) -> bool:
    domain = "@" + message_id_domain.lower() + ">"
    return any(r.lower().endswith(domain) for r in (*parsed.in_reply_to, *parsed.references))


def _matched_appeal(
    session: Session,
    inbound: InboundMessage,
    parsed: ParsedMail,
    recipients: list[str],
    sender: str | None,
    deps: PipelineDeps,
    now: datetime,
) -> tuple[int, str, str, str | None] | Outcome:
    """(appeal id, method, reason, token audience) of the appeal the reply belongs to, or
    where the message ends when it belongs to none we may trust."""
    assigned = (inbound.info or {}).get("assign_to")
    if assigned:
        appeal_id = session.scalars(select(Appeal.id).where(Appeal.reg_no == assigned)).first()
        if appeal_id is None:
            return Outcome("held", "unmatched-reply", role="reply")
        return appeal_id, "admin", f"assigned:{assigned}", None
    match = match_reply(session, parsed, recipients, deps.codec, deps.reg_pattern, sender, now)
    if match.bad_token:
        record_event(session, now, "reply-held", inbound_id=inbound.id, reason=match.reason)
        return Outcome("held", match.reason, role="reply")
    if match.appeal_id is None:
        inbound.info = {**(inbound.info or {}), "guesses": list(match.guesses)}
        return Outcome("held", "unmatched-reply", role="reply")
    return match.appeal_id, match.method, match.reason, match.audience


def handle_reply(
    session: Session,
    inbound: InboundMessage,
    parsed: ParsedMail,
    recipients: list[str],
    sender: str | None,
    deps: PipelineDeps,
    notices: NoticeSink,
) -> Outcome:
    """A reply: match it, decide who wrote it, and hand it to `routing.answers`."""
    now = deps.clock.now()
    found = _matched_appeal(session, inbound, parsed, recipients, sender, deps, now)
    if isinstance(found, Outcome):
        return found
    appeal_id, method, reason, token_audience = found
    appeal = session.get(Appeal, appeal_id)
    assert appeal is not None
    role = sender_role(appeal, sender) if sender else "other"
    check: SenderCheck | None = None
    if (inbound.info or {}).get("assign_to") and role != "citizen":
        role = "department"  # an admin assigned it: they vouch for the sender
        by = str((inbound.info or {}).get("assigned_by") or "admin")
        check = SenderCheck(True, sender or by, (f"admin-assigned:{by}"[:120],))
    elif role == "department" and sender:
        check = _verify(appeal, inbound, parsed, sender, deps)
    record_event(
        session,
        now,
        "reply-matched",
        appeal_id=appeal.id,
        inbound_id=inbound.id,
        method=method,
        reason=reason,
        role=role,
        **_check_fields(check),
    )
    if role == "other":
        # Neither the assigned department nor the citizen: an admin decides.
        return Outcome("held", "unknown-sender", appeal.id, role="reply")
    if role == "department" and method != "admin" and token_audience != "department":
        # A "department" answer that did not come back through the department's own
        # letter: to the address from the citizen's letter, threaded under the citizen's
        # letter, or a number in the subject. Staff answer the forward; this is someone
        # writing as them, or at best a guess a person should confirm (T7).
        held_reason = (
            "department-via-citizen-token"
            if token_audience == "citizen"
            else "department-without-token"
        )
        record_event(
            session,
            now,
            "reply-held",
            appeal_id=appeal.id,
            inbound_id=inbound.id,
            reason=held_reason,
        )
        return Outcome("held", held_reason, appeal.id, role="reply")
    if role == "department" and check is not None and not check.verified:
        return _hold_unverified(session, inbound, appeal, check, deps, notices, now)
    if role == "department" and not awaits_answer(appeal) and not only_corrections(parsed):
        # The appeal already has its final answer (or left us): a second "answer" is held
        # for a person. This also ends loops with careless auto-responders.
        record_event(
            session,
            now,
            "reply-held",
            appeal_id=appeal.id,
            inbound_id=inbound.id,
            reason="appeal-closed",
        )
        return Outcome("held", "appeal-closed", appeal.id, role="reply")
    if role == "citizen":
        # What the reply does depends on the state of the appeal (open, answered, returned,
        # not considered): routing.followups.
        return handle_citizen_reply(
            session, inbound, parsed, recipients, appeal, deps, notices, method=method
        )
    ctx = AnswerContext(
        session=session,
        inbound=inbound,
        parsed=parsed,
        appeal=appeal,
        notices=notices,
        calendar=deps.calendar,
        now=now,
        view=viewer(deps.config),
        relay_mode=deps.relay_mode,
        event=_with_evidence(session, now, check),
        limits=deps.config.attachments,
        evidence=check.evidence if check is not None else (),
    )
    result = handle_department_reply(ctx, actor=check.actor if check else (sender or "admin"))
    return Outcome(result.state, result.reason, appeal.id, role=role)


def _check_fields(check: SenderCheck | None) -> dict[str, Any]:
    return {"verified": check.verified, "evidence": list(check.evidence)} if check else {}


def _verify(
    appeal: Appeal, inbound: InboundMessage, parsed: ParsedMail, sender: str, deps: PipelineDeps
) -> SenderCheck:
    assert appeal.department is not None  # sender_role said "department"
    return verify_department_sender(
        appeal.department, sender, inbound.mail_from, parsed, deps.config.trust, inbound.source
    )


def _with_evidence(session: Session, now: datetime, check: SenderCheck | None) -> Any:
    """The event writer for what is done on the department's authority: each event says
    who, verified how (T9)."""
    evidence = list(check.evidence) if check is not None else []

    def event(type_: str, **kw: Any) -> None:
        record_event(session, now, type_, **{"evidence": evidence, **kw})

    return event


def _hold_unverified(
    session: Session,
    inbound: InboundMessage,
    appeal: Appeal,
    check: SenderCheck,
    deps: PipelineDeps,
    notices: NoticeSink,
    now: datetime,
) -> Outcome:
    """Mail from a department address that is not verified as the department: held, never
    acted on, and the department told at its configured mailbox (never the sender, who
    may be the forger; T8)."""
    reason = f"unverified-sender:{check.reason}"[:60]
    record_event(
        session,
        now,
        "reply-held",
        appeal_id=appeal.id,
        inbound_id=inbound.id,
        reason=reason,
        evidence=list(check.evidence),
        ignored_authres=list(check.ignored),
    )
    dept = appeal.department
    if dept is not None:
        notices.add(
            "department/unverified_sender",
            to=[dept.email],
            context={
                **viewer(deps.config)(appeal),
                "held": {"reason": check.reason, "inbound_id": inbound.id},
            },
            appeal_id=appeal.id,
            reply_token_for=appeal.id,
        )
    return Outcome("held", reason, appeal.id, role="reply")
