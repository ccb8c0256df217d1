"""What a matched reply does to its appeal.

From the assigned department: the new text of the reply (quoted history and signature
stripped, `routing.quotes`) is the answer. Staff commands on its first lines change what
happens (they are documented in the forward's footer):

- none: a final answer; relayed to the citizen; the appeal is closed and its reminders stop;
- `#interim`: an interim answer; relayed; the appeal stays open;
- `#extend <days> <reason>`: the term is extended within the legal limit (45 days in total
  for appeals, Law 393/96-ВР Art. 20; 20 working days for information requests, Law
  2939-VI Art. 20) and the citizen is told; a refused extension is explained to staff;
- `#redirect <department>`: wrong department; re-routed, forwarded again, the citizen told;
  the correction is kept as a training label;
- `#external <address> <reason>`: outside the council's competence; forwarded to the
  competent body and the citizen told (Art. 7: within 5 days);
- `#result <вирішено|роз'яснено|відмовлено>` beside a final answer: its result of
  consideration for the register (resolved / explained / refused); without it a final
  answer is recorded as explained, with source "default";
- anything else starting with `#`: answered with the list of commands; nothing changes.

From the citizen: a follow-up, attached to the appeal and forwarded to the department.
With `replies.relay = "review"`, department answers wait for an admin instead of going out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Appeal, Department, InboundMessage
from routing.attachments import AttachmentLimits, FileDecision, listing, refs, review
from routing.characteristics import parse_result
from routing.deadlines import ExtensionRefused, WorkCalendar, extend
from routing.lifecycle import (
    OPEN_STATES,
    LifecycleError,
    RerouteRequest,
    move,
    original_attachments,
    record_answer,
    reroute,
)
from routing.mail import ParsedMail
from routing.numbering import as_kind
from routing.ports import NoticeSink
from routing.quotes import extract_commands, split_reply

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ReplyResult:
    state: Literal["processed", "held", "discarded"]  # where the inbound message ends
    reason: str


@dataclass
class AnswerContext:
    session: Session
    inbound: InboundMessage
    parsed: ParsedMail
    appeal: Appeal
    notices: NoticeSink
    calendar: WorkCalendar
    now: Any
    view: Callable[[Appeal], dict[str, Any]]
    relay_mode: str
    event: Callable[..., None]
    limits: AttachmentLimits = field(default_factory=AttachmentLimits)


def _refused_names(decisions: list[FileDecision]) -> str:
    return ", ".join(d.info.display_name for d in decisions if not d.forwarded)


def handle_department_reply(ctx: AnswerContext, actor: str) -> ReplyResult:
    parts = split_reply(ctx.parsed.text, ctx.parsed.html)
    commands, text = extract_commands(parts.new_text)
    # The staff member's signature (name, position, phone) belongs to an official answer.
    if text and parts.signature:
        text = f"{text}\n\n{parts.signature}"
    appeal = ctx.appeal
    thread = [ctx.parsed.message_id] if ctx.parsed.message_id else []
    # `#result <вирішено|роз'яснено|відмовлено>` qualifies a final answer and may stand
    # beside other commands; it is taken out before the one command that decides.
    result: tuple[str, str] | None = None
    for c in [c for c in commands if c.name.lower() == "result"]:
        code = parse_result(" ".join(c.args))
        if code is None:
            _help(ctx, actor, "#result: вирішено, роз'яснено або відмовлено", thread)
            return ReplyResult("processed", "bad-command")
        result = (code, "staff")
        commands.remove(c)
    if not commands:
        return _answer(ctx, actor, text, final=True, result=result)
    cmd = commands[0]
    name = cmd.name.lower()
    if name == "interim":
        return _answer(ctx, actor, text, final=False)
    if name == "extend":
        return _extend(ctx, actor, cmd.args, thread)
    if name == "redirect":
        return _redirect(ctx, actor, cmd.args, thread)
    if name == "external":
        return _external(ctx, actor, cmd.args, text, thread)
    ctx.event("command-unknown", appeal_id=appeal.id, actor=actor, command=name)
    _help(ctx, actor, f"невідома команда #{name}", thread)
    return ReplyResult("processed", "unknown-command")


def _answer(
    ctx: AnswerContext,
    actor: str,
    text: str,
    *,
    final: bool,
    result: tuple[str, str] | None = None,
) -> ReplyResult:
    appeal = ctx.appeal
    if not text.strip() and not ctx.parsed.attachments:
        _help(ctx, actor, "відповідь порожня", [])
        return ReplyResult("processed", "empty-answer")
    kind = "final" if final else "interim"
    ctx.event(
        "answer-received",
        appeal_id=appeal.id,
        actor=actor,
        kind=kind,
        inbound=ctx.inbound.id,
        chars=len(text),
        # Kept with the appeal (not in logs): a department it is re-routed to gets the
        # whole history, interim answers included.
        text=text.strip(),
    )
    if ctx.relay_mode == "review" and not (ctx.inbound.info or {}).get("approved"):
        # Waits for an admin (`appeals holding-pen approve ID`); nothing goes out yet.
        ctx.inbound.info = {**(ctx.inbound.info or {}), "answer_kind": kind}
        return ReplyResult("held", "answer-review")
    files = relay_answer(
        ctx.session,
        appeal,
        ctx.inbound,
        ctx.parsed,
        text,
        final=final,
        notices=ctx.notices,
        view=ctx.view,
        now=ctx.now,
        event=ctx.event,
        result=result,
        limits=ctx.limits,
    )
    not_passed = _refused_names(files)
    if not_passed:
        # The answer went out; staff learn which of its files did not, to send them
        # another way (smaller, fewer, or not as a program).
        _help(ctx, actor, f"відповідь надіслано, але без файлів: {not_passed}", [])
    return ReplyResult("processed", f"answer-{kind}")


def relay_answer(
    session: Session,
    appeal: Appeal,
    inbound: InboundMessage,
    parsed: ParsedMail,
    text: str,
    *,
    final: bool,
    notices: NoticeSink,
    view: Callable[[Appeal], dict[str, Any]],
    now: Any,
    event: Callable[..., None],
    result: tuple[str, str] | None = None,
    limits: AttachmentLimits | None = None,
) -> list[FileDecision]:
    """Returns the decisions on the answer's files: the same rules as for citizens' files
    (a program is not passed on to a citizen either)."""
    files = review(parsed.attachments, limits or AttachmentLimits())
    context = {**view(appeal), "answer": {"text": text.strip(), "final": final}}
    if appeal.citizen_email:
        notices.add(
            "citizen/answer",
            to=[appeal.citizen_email],
            context=context,
            appeal_id=appeal.id,
            language=appeal.language,
            reply_token_for=appeal.id,
            attachments=refs(files),
            automatic=False,
        )
    members = [appeal]
    if appeal.mass_group:
        # A mass appeal is answered once; the answer goes to every member of the group.
        members += list(
            session.scalars(
                select(Appeal).where(
                    Appeal.mass_group == appeal.mass_group,
                    Appeal.id != appeal.id,
                    Appeal.state.in_(OPEN_STATES),
                )
            )
        )
    for member in members:
        if member is not appeal and member.citizen_email:
            notices.add(
                "citizen/answer",
                to=[member.citizen_email],
                context={**view(member), "answer": {"text": text.strip(), "final": final}},
                appeal_id=member.id,
                language=member.language,
                reply_token_for=member.id,
                attachments=refs(files),
                automatic=False,
            )
        record_answer(member, now, final=final, result=result)
        event(
            "answer-relayed",
            appeal_id=member.id,
            final=final,
            inbound=inbound.id,
            via_group=member is not appeal,
        )
    return files


def _extend(ctx: AnswerContext, actor: str, args: list[str], thread: list[str]) -> ReplyResult:
    appeal = ctx.appeal
    try:
        days = int(args[0])
        reason = " ".join(args[1:]).strip()
        if days <= 0 or not reason:
            raise ValueError
    except (IndexError, ValueError):
        _help(ctx, actor, "формат: #extend <кількість днів> <причина>", thread)
        return ReplyResult("processed", "bad-command")
    today = ctx.now.astimezone(ZoneInfo(ctx.calendar.rules.timezone)).date()
    try:
        new_due = extend(
            as_kind(appeal.kind),
            appeal.receipt_date,
            appeal.due_date,
            days,
            ctx.calendar,
            requested_on=today,
        )
    except ExtensionRefused as exc:
        ctx.event("extension-refused", appeal_id=appeal.id, actor=actor, days=days, why=str(exc))
        _help(ctx, actor, f"продовження неможливе: {exc}", thread)
        return ReplyResult("processed", "extension-refused")
    old = appeal.due_date
    appeal.due_date = new_due
    appeal.due_at = None
    appeal.extended_days = (new_due - appeal.receipt_date).days
    ctx.event(
        "extended",
        appeal_id=appeal.id,
        actor=actor,
        old_due=old.isoformat(),
        new_due=new_due.isoformat(),
        reason=reason,
    )
    if appeal.citizen_email:
        ctx.notices.add(
            "citizen/extended",
            to=[appeal.citizen_email],
            context={**ctx.view(appeal), "extension": {"reason": reason}},
            appeal_id=appeal.id,
            language=appeal.language,
            reply_token_for=appeal.id,
        )
    return ReplyResult("processed", "extended")


def _redirect(ctx: AnswerContext, actor: str, args: list[str], thread: list[str]) -> ReplyResult:
    appeal = ctx.appeal
    code = args[0].strip().lower() if args else ""
    dept = ctx.session.scalars(
        select(Department).where(Department.code == code, Department.active.is_(True))
    ).first()
    if dept is None:
        _help(ctx, actor, f"невідомий підрозділ «{code}»", thread)
        return ReplyResult("processed", "bad-command")
    # An optional topic after the code labels the topic as well.
    topic = args[1].strip().lower() if len(args) > 1 else None
    try:
        reroute(
            ctx.session,
            appeal,
            dept,
            RerouteRequest(actor=actor, source="redirect", topic=topic),
            now=ctx.now,
            notices=ctx.notices,
            view=ctx.view,
        )
    except LifecycleError:
        _help(ctx, actor, "звернення вже закрите, перенаправити неможливо", thread)
        return ReplyResult("processed", "bad-command")
    return ReplyResult("processed", "redirected")


def _external(
    ctx: AnswerContext, actor: str, args: list[str], text: str, thread: list[str]
) -> ReplyResult:
    appeal = ctx.appeal
    address = args[0].strip("<>") if args else ""
    reason = " ".join(args[1:]).strip()
    if not _EMAIL.match(address) or not reason:
        _help(ctx, actor, "формат: #external <адреса органу> <причина>", thread)
        return ReplyResult("processed", "bad-command")
    context = {**ctx.view(appeal), "external": {"address": address, "reason": reason}}
    ctx.notices.add(
        "external/forward",
        to=[address],
        context=context,
        appeal_id=appeal.id,
        attachments=original_attachments(ctx.session, appeal),
        automatic=False,
    )
    if appeal.citizen_email:
        ctx.notices.add(
            "citizen/forwarded",
            to=[appeal.citizen_email],
            context=context,
            appeal_id=appeal.id,
            language=appeal.language,
            reply_token_for=appeal.id,
        )
    move(appeal, "forwarded_external", ctx.now)
    ctx.event("forwarded-external", appeal_id=appeal.id, actor=actor, reason=reason)
    return ReplyResult("processed", "forwarded-external")


def _help(ctx: AnswerContext, actor: str, problem: str, thread: list[str]) -> None:
    ctx.notices.add(
        "department/command_help",
        to=[actor],
        context={**ctx.view(ctx.appeal), "problem": problem},
        appeal_id=ctx.appeal.id,
        reply_token_for=ctx.appeal.id,
        thread_with=thread,
    )


def handle_citizen_followup(ctx: AnswerContext) -> ReplyResult:
    appeal = ctx.appeal
    parts = split_reply(ctx.parsed.text, ctx.parsed.html)
    ctx.event(
        "followup",
        appeal_id=appeal.id,
        inbound=ctx.inbound.id,
        chars=len(parts.new_text),
        text=parts.reply_text.strip(),
    )
    dept = appeal.department
    if dept is not None and appeal.state in OPEN_STATES:
        files = review(ctx.parsed.attachments, ctx.limits)
        shown = listing(files, ctx.limits)
        ctx.notices.add(
            "department/followup",
            to=[dept.email],
            context={
                **ctx.view(appeal),
                "followup": {"text": parts.reply_text},
                "attachments": shown,
            },
            appeal_id=appeal.id,
            reply_token_for=appeal.id,
            attachments=refs(files),
        )
        not_taken = [f for f in shown if not f["forwarded"]]
        if not_taken and appeal.citizen_email:
            ctx.notices.add(
                "citizen/attachments_refused",
                to=[appeal.citizen_email],
                context={
                    **ctx.view(appeal),
                    "refused": not_taken,
                    "limits": ctx.limits.as_view(),
                    "followup": True,
                },
                appeal_id=appeal.id,
                language=appeal.language,
                reply_token_for=appeal.id,
            )
    return ReplyResult("processed", "followup")
