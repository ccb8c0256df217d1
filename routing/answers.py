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
- `#external <address> <reason>` (appeals): outside the council's competence; forwarded to
  the competent body and the citizen told (Art. 7: within 5 days);
- `#holder <address> <reason>` (information requests): we do not hold the information;
  the request goes to its holder and the requester is told (Law 2939-VI Art. 22 §3: within
  5 working days);
- `#result <вирішено|роз'яснено|відмовлено>` beside a final answer: its result of
  consideration for the register (resolved / explained / refused); without it a final
  answer is recorded as explained, with source "default";
- `#type <скарга|пропозиція|заява>`, `#sign <первинне|повторне|...>`, `#subject
  <індивідуальне|колективне|анонімне>`, `#form <...>`, `#category <учасник бойових дій|
  особа з інвалідністю|...|немає>`, `#topic-code <код>`: correct a characteristic of the
  register (`routing.corrections`, source "staff"). Alone they answer nothing and may be
  sent after the appeal is closed; beside an answer they apply to it as well;
- anything else starting with `#`: answered with the list of commands; nothing changes.

Every command carried out is confirmed to the staff member who gave it and to the
department's mailbox (`department/confirmed`); one that is not gets the help letter
(`department/command_help`) with the reason as a code, which the templates put into words
in the letter's language.

From the citizen, while the appeal is open: a follow-up, attached to the appeal and
forwarded to the department (`handle_citizen_followup`; `routing.followups` decides what a
citizen's reply to a finished appeal does).
With `replies.relay = "review"`, department answers wait for an admin instead of going out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import saferegex
from models import Appeal, Department, InboundMessage
from routing import corrections, street_learning
from routing.attachments import AttachmentLimits, FileDecision, listing, refs, review
from routing.characteristics import parse_result
from routing.deadlines import (
    ExtensionRefused,
    WorkCalendar,
    forward_deadline,
)
from routing.extensions import extend_term
from routing.greeting import opens_with_greeting
from routing.letters import letter
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
from routing.ports import NoticeSink
from routing.quotes import extract_commands, split_reply
from routing.threads import chain_of

_EMAIL = saferegex.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    # How the department's sender was verified (routing.trust), for the events that a
    # module other than `event` records (a redirect is recorded by routing.lifecycle).
    evidence: tuple[str, ...] = ()


def _refused_names(decisions: list[FileDecision]) -> str:
    return ", ".join(d.info.display_name for d in decisions if not d.forwarded)


def handle_department_reply(ctx: AnswerContext, actor: str) -> ReplyResult:
    parts = split_reply(ctx.parsed.text, ctx.parsed.html)
    commands, text = extract_commands(parts.new_text)
    # The staff member's signature (name, position, phone) belongs to an official answer.
    if text and parts.signature:
        text = f"{text}\n\n{parts.signature}"
    appeal = ctx.appeal
    # Letters back to staff answer the staff member's own message (RFC 5322 §3.6.4).
    thread = chain_of(ctx.parsed)
    # `#result <вирішено|роз'яснено|відмовлено>` qualifies a final answer and may stand
    # beside other commands; it is taken out before the one command that decides.
    result: tuple[str, str] | None = None
    for c in [c for c in commands if c.name.lower() == "result"]:
        code = parse_result(" ".join(c.args))
        if code is None:
            _help(ctx, actor, {"code": "result-format"}, thread)
            return ReplyResult("processed", "bad-command")
        result = (code, "staff")
        commands.remove(c)
    fixes = [c for c in commands if corrections.is_field(c.name)]
    if fixes:
        done = _correct(ctx, actor, fixes, thread)
        if done is not None:
            return done
        commands = [c for c in commands if c not in fixes]
        if not commands and result is None and not text.strip() and not ctx.parsed.attachments:
            # Only corrections: the register changes, nothing is answered.
            return ReplyResult("processed", "characteristics-set")
    if not commands:
        return _answer(ctx, actor, text, final=True, result=result)
    cmd = commands[0]
    name = cmd.name.lower()
    request = appeal.kind == "info_request"
    if name == "interim":
        return _answer(ctx, actor, text, final=False)
    if name == "extend":
        return _extend(ctx, actor, cmd.args, thread)
    if name == "redirect":
        return _redirect(ctx, actor, cmd.args, thread)
    if name == "external" and not request:
        return _external(ctx, actor, cmd.args, thread)
    if name == "holder" and request:
        return _holder(ctx, actor, cmd.args, thread)
    if name in ("external", "holder"):
        # Each law has its own way out: Art. 7 of Law 393/96-ВР forwards an appeal to the
        # competent body, Art. 22 §3 of Law 2939-VI passes a request to the holder.
        code = "command-for-appeals" if name == "external" else "command-for-requests"
        _help(ctx, actor, {"code": code, "command": name}, thread)
        return ReplyResult("processed", "bad-command")
    ctx.event("command-unknown", appeal_id=appeal.id, actor=actor, command=name)
    _help(ctx, actor, {"code": "unknown-command", "command": name}, thread)
    return ReplyResult("processed", "unknown-command")


def only_corrections(parsed: ParsedMail) -> bool:
    """The reply carries characteristic corrections and nothing else: allowed after the
    appeal is closed too (the register is corrected when the answer is long gone)."""
    commands, text = extract_commands(split_reply(parsed.text, parsed.html).new_text)
    return (
        bool(commands)
        and all(corrections.is_field(c.name) for c in commands)
        and not text.strip()
        and not parsed.attachments
    )


def _correct(
    ctx: AnswerContext, actor: str, fixes: list[Any], thread: list[str]
) -> ReplyResult | None:
    """All the corrections or none: a bad value gets the help letter and changes nothing."""
    parsed: list[corrections.Correction] = []
    for c in fixes:
        try:
            parsed.append(corrections.parse(c.name, " ".join(c.args)))
        except corrections.CorrectionError:
            command = c.name.lower().replace("_", "-")
            _help(ctx, actor, {"code": "characteristic-format", "command": command}, thread)
            return ReplyResult("processed", "bad-command")
    changes = [
        corrections.apply(ctx.session, ctx.appeal, p, actor=actor, via="email", now=ctx.now)
        for p in parsed
    ]
    names = ", #".join(p.field for p in parsed)
    _confirm(ctx, actor, {"command": names, "changes": changes}, thread)
    return None


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
        _help(ctx, actor, {"code": "empty-answer"}, [])
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
    if not final:
        _confirm(ctx, actor, {"command": "interim"}, chain_of(ctx.parsed))
    not_passed = _refused_names(files)
    if not_passed:
        # The answer went out; staff learn which of its files did not, to send them
        # another way (smaller, fewer, or not as a program).
        _help(ctx, actor, {"code": "files-not-sent", "files": not_passed}, [])
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
    # A department that opens with its own salutation ("Доброго дня, Маріє Іванівно!")
    # greets the citizen itself; the letter around it then adds none of its own.
    answer = {"text": text.strip(), "final": final, "greeted": opens_with_greeting(text)}
    context = {**view(appeal), "answer": answer}
    if appeal.citizen_email:
        notices.add(
            letter("citizen/answer", appeal.kind),
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
                letter("citizen/answer", member.kind),
                to=[member.citizen_email],
                context={**view(member), "answer": answer},
                appeal_id=member.id,
                language=member.language,
                reply_token_for=member.id,
                attachments=refs(files),
                automatic=False,
            )
        record_answer(member, now, final=final, result=result)
        if final:
            # The department the appeal was routed to answered it: its district held, and
            # the street register learns the address (routing.street_learning).
            street_learning.confirm(session, member, now)
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
        _help(ctx, actor, {"code": "extend-format"}, thread)
        return ReplyResult("processed", "bad-command")
    try:
        _, term = extend_term(
            appeal,
            days,
            reason,
            actor=actor,
            calendar=ctx.calendar,
            now=ctx.now,
            notices=ctx.notices,
            view=ctx.view,
            event=ctx.event,
        )
    except ExtensionRefused as exc:
        _help(ctx, actor, {"code": f"extend-{exc.code}", **exc.params}, thread)
        return ReplyResult("processed", "extension-refused")
    _confirm(ctx, actor, {"command": "extend", "term": term, "reason": reason}, thread)
    return ReplyResult("processed", "extended")


def _redirect(ctx: AnswerContext, actor: str, args: list[str], thread: list[str]) -> ReplyResult:
    appeal = ctx.appeal
    code = args[0].strip().lower() if args else ""
    dept = ctx.session.scalars(
        select(Department).where(Department.code == code, Department.active.is_(True))
    ).first()
    if dept is None:
        _help(ctx, actor, {"code": "unknown-department", "department": code}, thread)
        return ReplyResult("processed", "bad-command")
    # An optional topic after the code labels the topic as well.
    topic = args[1].strip().lower() if len(args) > 1 else None
    previous = appeal.department  # the confirmation goes to the department that asked
    try:
        reroute(
            ctx.session,
            appeal,
            dept,
            RerouteRequest(
                actor=actor,
                source="redirect",
                topic=topic,
                tell_old=False,
                evidence=ctx.evidence,
            ),
            now=ctx.now,
            notices=ctx.notices,
            view=ctx.view,
        )
    except LifecycleError:
        _help(ctx, actor, {"code": "redirect-closed"}, thread)
        return ReplyResult("processed", "bad-command")
    _confirm(ctx, actor, {"command": "redirect"}, thread, department=previous)
    return ReplyResult("processed", "redirected")


def _address_and_reason(args: list[str]) -> tuple[str, str] | None:
    address = args[0].strip("<>") if args else ""
    reason = " ".join(args[1:]).strip()
    return (address, reason) if _EMAIL.match(address) and reason else None


def _external(ctx: AnswerContext, actor: str, args: list[str], thread: list[str]) -> ReplyResult:
    appeal = ctx.appeal
    parsed = _address_and_reason(args)
    if parsed is None:
        _help(ctx, actor, {"code": "external-format"}, thread)
        return ReplyResult("processed", "bad-command")
    address, reason = parsed
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
    _confirm(ctx, actor, {"command": "external", "address": address, "reason": reason}, thread)
    return ReplyResult("processed", "forwarded-external")


def _holder(ctx: AnswerContext, actor: str, args: list[str], thread: list[str]) -> ReplyResult:
    """Law 2939-VI Art. 22 §3: a body that does not hold the information but knows who does
    passes the request to that holder within 5 working days and tells the requester."""
    appeal = ctx.appeal
    parsed = _address_and_reason(args)
    if parsed is None:
        _help(ctx, actor, {"code": "holder-format"}, thread)
        return ReplyResult("processed", "bad-command")
    address, reason = parsed
    today = ctx.now.astimezone(ZoneInfo(ctx.calendar.rules.timezone)).date()
    by = forward_deadline("info_request", appeal.receipt_date, ctx.calendar)
    context = {**ctx.view(appeal), "holder": {"address": address, "reason": reason}}
    ctx.notices.add(
        "external/info_holder",
        to=[address],
        context=context,
        appeal_id=appeal.id,
        attachments=original_attachments(ctx.session, appeal),
        automatic=False,
    )
    if appeal.citizen_email:
        ctx.notices.add(
            "citizen/info_passed",
            to=[appeal.citizen_email],
            context=context,
            appeal_id=appeal.id,
            language=appeal.language,
            reply_token_for=appeal.id,
        )
    move(appeal, "forwarded_external", ctx.now)
    # Late is still passed on (the requester is better served than by silence); the event
    # keeps the fact for the reports.
    late = today > by
    ctx.event(
        "passed-to-holder",
        appeal_id=appeal.id,
        actor=actor,
        reason=reason,
        deadline=by.isoformat(),
        late=late,
    )
    _confirm(
        ctx,
        actor,
        {
            "command": "holder",
            "address": address,
            "reason": reason,
            "forward_by": by.strftime("%d.%m.%Y"),
            "late": late,
        },
        thread,
    )
    return ReplyResult("processed", "passed-to-holder")


def _staff_recipients(actor: str, dept: Department | None) -> list[str]:
    """The staff member who wrote, and the department's mailbox when that is another
    address: the department's own record of what was done on its behalf."""
    out = [actor]
    if dept is not None and dept.email.lower() != actor.lower():
        out.append(dept.email)
    return out


def _confirm(
    ctx: AnswerContext,
    actor: str,
    confirmed: dict[str, Any],
    thread: list[str],
    *,
    department: Department | None = None,
) -> None:
    dept = department if department is not None else ctx.appeal.department
    ctx.notices.add(
        "department/confirmed",
        to=_staff_recipients(actor, dept),
        context={**ctx.view(ctx.appeal), "confirmed": confirmed},
        appeal_id=ctx.appeal.id,
        reply_token_for=ctx.appeal.id,
        thread_with=[m for m in thread if m],
    )


def _help(ctx: AnswerContext, actor: str, problem: dict[str, Any], thread: list[str]) -> None:
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
