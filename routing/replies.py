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

Who may answer (Alaveteli's gatekeeper): the assigned department's addresses and domains
answer (`routing.answers`); the citizen's mail is a follow-up, a new appeal or the missing
data of a returned one, by the appeal's state (`routing.followups`); anyone else is held
for an admin.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Appeal, Department, InboundMessage, OutboundMessage
from routing.answers import AnswerContext, handle_department_reply, only_corrections
from routing.config import PipelineDeps
from routing.followups import handle_citizen_reply
from routing.lifecycle import Outcome, awaits_answer, record_event
from routing.mail import ParsedMail
from routing.ports import NoticeSink
from routing.tokens import ReplyAddressCodec
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


def _ids(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        out += re.findall(r"<[^<>\s]+>", v) or ([v.strip()] if v.strip() else [])
    return out


def match_reply(
    session: Session,
    parsed: ParsedMail,
    recipients: Sequence[str],
    codec: ReplyAddressCodec,
    reg_pattern: re.Pattern[str],
    sender: str | None,
) -> ReplyMatch:
    bad = False
    for rcpt in recipients:
        check = codec.decode(rcpt)
        if check is None:
            continue
        known = (
            session.get(Appeal, check.appeal_id)
            if check.valid and check.appeal_id is not None
            else None
        )
        if known is not None:
            return ReplyMatch(known.id, "token", f"token:{known.id}", audience=check.audience)
        bad = True
    if bad:
        return ReplyMatch(None, "none", "bad-token", bad_token=True)
    refs = _ids([*parsed.in_reply_to, *parsed.references])
    if refs:
        found = session.scalars(
            select(OutboundMessage.appeal_id).where(
                OutboundMessage.message_id.in_(refs), OutboundMessage.appeal_id.is_not(None)
            )
        ).first()
        if found is not None:
            return ReplyMatch(found, "thread", "in-reply-to")
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
    reg_pattern: re.Pattern[str] | None = None,
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
    match = match_reply(session, parsed, recipients, deps.codec, deps.reg_pattern, sender)
    if match.bad_token:
        record_event(session, now, "reply-held", inbound_id=inbound.id, reason="bad-token")
        return Outcome("held", "bad-token", role="reply")
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
    if (inbound.info or {}).get("assign_to") and role == "other":
        role = "department"  # an admin assigned it: they vouch for the sender
    record_event(
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
        # Neither the assigned department nor the citizen: an admin decides.
        return Outcome("held", "unknown-sender", appeal.id, role="reply")
    if role == "department" and token_audience == "citizen":
        # A "department" answer sent to the address from the citizen's own letter: the
        # department's staff answer the forward, so this is someone writing as them.
        record_event(
            session,
            now,
            "reply-held",
            appeal_id=appeal.id,
            inbound_id=inbound.id,
            reason="department-via-citizen-token",
        )
        return Outcome("held", "department-via-citizen-token", appeal.id, role="reply")
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
        event=lambda type_, **kw: record_event(session, now, type_, **kw),
        limits=deps.config.attachments,
    )
    result = handle_department_reply(ctx, actor=sender or "admin")
    return Outcome(result.state, result.reason, appeal.id, role=role)
