"""What a citizen's reply to one of our letters does, by the state of its appeal.

The letters invite these replies: the acknowledgement ("reply to add to your appeal"), the
final answer ("if you disagree you may appeal against it", Law 393/96-ВР Art. 16), the
returned letter (what Art. 5 requires is missing) and the not-considered one (Art. 8: an
anonymous appeal is considered once its author is known). So:

- open appeal: a follow-up, forwarded to the department (`routing.answers`);
- closed appeal (final answer given):
  - a pure "thank you": recorded on the appeal, nothing is registered;
  - anything else: a new appeal, linked to the first (`repeat_status` "repeated",
    `related_appeal_id`), flagged `complaint` when it disagrees with the decision; numbered,
    with its own term (Art. 20), routed to the first appeal's department, acknowledged and
    forwarded with the first appeal's number. While such a new appeal is open, further
    replies to the old answer are its follow-ups rather than yet another appeal;
- returned (Art. 5) or not considered as anonymous (Art. 8): when the reply supplies the
  missing name and address the appeal is re-opened with a new term counted from the day
  the complete data arrived, acknowledged and forwarded; otherwise the returned letter
  goes out again naming what is still missing;
- a duplicate: the reply belongs to the appeal it duplicates;
- anything else (not considered as repeated, forwarded to another body): held for a
  person, who decides; the law does not allow ignoring it.

Whatever the state, a reply that only asks about the appeal ("статус", "Який статус?",
"status please", or a `#status` line) is no addition: it gets a letter with the state,
the department, the due date and what happened so far, in plain words and without anything
staff keep for themselves (answers' drafts, reasons of re-routing, model figures, staff
addresses) (`is_status_request`, `citizen/status`).

A new appeal is a new acknowledgement and a new forward, so a careless answering machine
(no Auto-Submitted, replying to From with "Re: <subject>") would otherwise keep registering
appeals for ever: every department answer brings its reply, every reply a new appeal. Two
guards stop that without losing anything (the message is held for a person, who can assign
it with `appeals holding-pen assign`): a reply to a final answer registers a new appeal
only when it came the way a mail client's Reply sends it (our Reply-To token or threaded
under our Message-ID), not when only the number in its subject matched; and at most
`MAX_FOLLOWUP_APPEALS_PER_DAY` such appeals per citizen in 24 hours.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import saferegex
from models import Appeal, AppealEvent, Department, InboundMessage
from routing import requirements
from routing.answers import AnswerContext, handle_citizen_followup
from routing.attachments import FileDecision, listing, refs, review
from routing.characteristics import subject_of
from routing.citizen import CitizenInfo, Evidence, extract_citizen
from routing.config import PipelineDeps
from routing.deadlines import compute_due
from routing.departments import RoutingDecision
from routing.duplicates import RepeatVerdict
from routing.letters import letter
from routing.lifecycle import (
    OPEN_STATES,
    Outcome,
    move,
    original_attachments,
    original_listing,
    plan_reminders_again,
    record_event,
)
from routing.mail import ParsedMail
from routing.numbering import Kind
from routing.ports import NoticeSink
from routing.quotes import ReplyParts, split_reply
from routing.registration import Placement, assess, dispose, persist, place
from routing.screening import may_auto_reply_to
from routing.threads import chain_of
from routing.views import appeal_view, viewer

# Thanks in the languages citizens write in; a reply is "pure thanks" when every word of it
# is one of these, a filler word of a thank-you note, a closing phrase, a mobile footer or
# the citizen's own name. Negations ("не") are deliberately absent: "дякую, але нічого не
# зроблено" is not thanks.
_THANKS = saferegex.compile(
    r"^(?:дяку\w*|подяк\w*|дяка|спасиб\w*|благодар\w*|thank\w*|thx|ty|merci)$", saferegex.IGNORECASE
)
# fmt: off
_THANKS_FILLER = frozenset(
    {
        # Ukrainian
        "щиро", "дуже", "велике", "величезне", "красно", "вам", "вас", "тобі", "вашу", "ваш",
        "вашій", "за", "на", "і", "й", "та", "а", "що", "ще", "раз", "відповідь", "відповіді",
        "відповіли", "оперативну", "оперативність", "оперативно", "швидку", "швидко", "допомогу",
        "роботу", "увагу", "розгляд", "вирішення", "питання", "проблему", "проблема", "вирішено",
        "вирішили", "зроблено", "все", "усе", "зрозуміло", "добре", "гаразд", "ок", "окей",
        "отримала", "отримав", "отримали", "лист", "листа",
        # Russian
        "большое", "огромное", "ответ", "помощь", "оперативность", "всё", "понятно", "хорошо",
        "получила", "получил",
        # English
        "ok", "okay", "you", "very", "much", "so", "for", "the", "your", "answer", "reply",
        "help", "all", "good", "fine", "received", "lot", "many",
        # closing phrases and mobile footers ("Sent from my iPhone", "Надіслано з iPhone")
        "з", "повагою", "пошаною", "уважением", "с", "best", "kind", "regards", "cheers", "sent",
        "from", "my", "iphone", "ipad", "android", "samsung", "galaxy", "outlook", "mail", "get",
        "ios", "mobile", "надіслано", "відправлено", "мого", "мій", "телефону", "смартфона",
        "отправлено", "из", "моего", "телефона",
    }
)
# fmt: on
# Disagreement with the decision (a complaint, скарга) rather than a further request.
_DISAGREES = saferegex.compile(
    r"не\s*(?:згод|згід|погоджу|погодж|задоволен|задовольн|влаштову|приймаю)"
    r"|незгод|оскарж|скарг|протиправн|неправомірн"
    r"|не\s*(?:соглас|удовлетвор|устраива)|несоглас|обжал|жалоб"
    r"|disagree|do\s+not\s+agree|don'?t\s+agree|not\s+satisfied|dissatisfied|complain"
    r"|appeal\s+against",
    saferegex.IGNORECASE,
)
_WORD = saferegex.compile(r"[\w'’ʼ-]+")
# A status request: one of these words, with at most a few polite words around it.
_STATUS_WORDS = frozenset({"статус", "статусу", "статуса", "status", "стан"})
# fmt: off
_STATUS_FILLER = frozenset(
    {
        "який", "яка", "який-небудь", "мого", "моєї", "мій", "моя", "мене", "мені", "звернення",
        "заяви", "скарги", "запиту", "по", "щодо", "будь", "ласка", "прошу", "повідомте",
        "підкажіть", "скажіть", "уточніть", "дізнатися", "хочу", "що", "з", "ним", "із", "а",
        "каков", "какой", "моего", "обращения", "пожалуйста", "узнать", "подскажите",
        "what", "is", "the", "of", "my", "appeal", "please", "request", "check", "on", "its",
        "добрий", "день", "вечір", "ранок", "здравствуйте", "привіт", "hello", "hi", "дякую",
        "спасибо", "thanks", "thank", "you",
    }
)
# fmt: on
_REG_NO = saferegex.compile(r"[a-zа-яіїєґ]{1,3}-\d{4}-\d+")
_STATUS_LINE = saferegex.compile(
    r"^\s*#(?:status|статус)(?:\W|$)", saferegex.IGNORECASE | saferegex.MULTILINE
)
# Events a citizen's status letter tells, in the template's words (`citizen/status`):
# what was done with the appeal, never what staff wrote or why an admin moved it.
STATUS_EVENTS = (
    "registered",
    "redirected",
    "followup",
    "extended",
    "answer-relayed",
    "forwarded-external",
    "passed-to-holder",
    "returned-incomplete",
    "not-considered",
    "reopened",
    "duplicate",
    "followup-registered",
)
# A person rarely contests more than a couple of answers a day; a mail loop does it every
# few seconds (Mailman's max_autoresponses_per_day is the same idea).
MAX_FOLLOWUP_APPEALS_PER_DAY = 3


def is_pure_thanks(text: str, *known: str | None) -> bool:
    """True for "Дякую!", "Щиро дякую за відповідь.\\nОксана Бондар\\nSent from my iPhone"
    and the like; `known` are the citizen's name, address and phone, which a signature
    repeats and which are no content of their own."""
    for part in known:
        if part:
            text = text.replace(part, " ")
    words = [w.strip("'’ʼ-").lower() for w in _WORD.findall(text)]
    words = [w for w in words if w and not w.isdigit()]
    names = {w.lower() for part in known if part for w in _WORD.findall(part)}
    if not words or len(words) > 40 or not any(_THANKS.match(w) for w in words):
        return False
    return all(_THANKS.match(w) or w in _THANKS_FILLER or w in names for w in words)


def is_status_request(text: str, *known: str | None) -> bool:
    """True for "статус", "Статус?", "Який статус мого звернення?", "status please" and for
    any reply with a `#status` line; `text` is the reply with quotes stripped, `known` the
    citizen's name and the like, which a signature repeats."""
    if _STATUS_LINE.search(text):
        return True
    for part in known:
        if part:
            text = text.replace(part, " ")
    names = {w.lower() for part in known if part for w in _WORD.findall(part)}
    words = [w.strip("'’ʼ-").lower() for w in _WORD.findall(text)]
    words = [w for w in words if w and not w.isdigit() and w not in names]
    if not words or len(words) > 10 or not any(w in _STATUS_WORDS for w in words):
        return False
    # Nearly alone: a registration number in the text is digits and letters (A-2026-...).
    return all(
        w in _STATUS_WORDS
        or w in _STATUS_FILLER
        or w in _THANKS_FILLER
        or len(w) <= 2
        or _REG_NO.fullmatch(w)
        for w in words
    )


def disagrees(text: str) -> bool:
    """The reply contests the answer: a complaint about the decision (Art. 16)."""
    return bool(_DISAGREES.search(text))


@dataclasses.dataclass(frozen=True)
class _Reply:
    """One citizen reply and where it is processed."""

    session: Session
    inbound: InboundMessage
    parsed: ParsedMail
    recipients: list[str]
    deps: PipelineDeps
    notices: NoticeSink
    now: datetime
    parts: ReplyParts

    def event(self, type_: str, appeal: Appeal, **data: Any) -> None:
        record_event(
            self.session, self.now, type_, appeal_id=appeal.id, inbound_id=self.inbound.id, **data
        )

    def files(self) -> list[FileDecision]:
        """The reply's files under the same rules as any letter's (`routing.attachments`)."""
        return review(self.parsed.attachments, self.deps.config.attachments)

    def may_write_to(self, appeal: Appeal) -> bool:
        return bool(appeal.citizen_email) and may_auto_reply_to(
            appeal.citizen_email or "", self.deps.config.screening
        )

    def thread(self) -> list[str]:
        return chain_of(self.parsed)


def handle_citizen_reply(
    session: Session,
    inbound: InboundMessage,
    parsed: ParsedMail,
    recipients: list[str],
    appeal: Appeal,
    deps: PipelineDeps,
    notices: NoticeSink,
    *,
    method: str = "token",
) -> Outcome:
    """A matched reply from the appeal's citizen (see the module docstring); `method` is
    how it was matched (`routing.replies`: token, thread, subject, admin)."""
    reply = _Reply(
        session,
        inbound,
        parsed,
        recipients,
        deps,
        notices,
        deps.clock.now(),
        split_reply(parsed.text, parsed.html),
    )
    if appeal.state == "duplicate" and appeal.related_appeal_id is not None:
        # The duplicate letter said the text was joined to the first appeal: so is the reply.
        original = session.get(Appeal, appeal.related_appeal_id)
        if original is not None:
            reply.event("followup-to-original", appeal, original=original.id)
            appeal = original
    sender = parsed.from_addr.name if parsed.from_addr else None
    if not parsed.attachments and is_status_request(
        reply.parts.new_text, appeal.citizen_name, sender
    ):
        return _status(reply, appeal)
    if appeal.state in OPEN_STATES:
        return _forward(reply, appeal)
    if appeal.state == "closed":
        return _after_final_answer(reply, appeal, method)
    if appeal.state == "returned" or (
        appeal.state == "not_considered" and _not_considered_why(session, appeal) == "anonymous"
    ):
        return _supplement(reply, appeal)
    reply.event("followup", appeal, chars=len(reply.parts.new_text), state=appeal.state)
    return Outcome("held", "followup-needs-person", appeal.id, role="citizen")


def _status(reply: _Reply, appeal: Appeal) -> Outcome:
    """The citizen asked where their appeal stands: a letter, nothing registered."""
    rows = reply.session.scalars(
        select(AppealEvent)
        .where(AppealEvent.appeal_id == appeal.id, AppealEvent.type.in_(STATUS_EVENTS))
        .order_by(AppealEvent.at, AppealEvent.id)
    )
    tz = ZoneInfo(reply.deps.config.timezone)
    events = []
    for e in rows:
        data = e.data or {}
        new_due = data.get("new_due")
        events.append(
            {
                "at": e.at.astimezone(tz).strftime("%d.%m.%Y") if e.at else "",
                "type": e.type,
                # Only facts the citizen was told anyway: final or interim, the new term.
                "final": bool(data.get("final")),
                "new_due": date.fromisoformat(str(new_due)).strftime("%d.%m.%Y") if new_due else "",
            }
        )
    reply.event("status-requested", appeal, events=len(events))
    if reply.may_write_to(appeal):
        reply.notices.add(
            "citizen/status",
            to=[appeal.citizen_email or ""],
            context={
                **appeal_view(appeal, appeal.department, reply.deps.config),
                "status": {"state": appeal.state, "result": appeal.result, "events": events},
            },
            appeal_id=appeal.id,
            language=appeal.language,
            reply_token_for=appeal.id,
            thread_with=reply.thread(),
        )
    return Outcome("processed", "status-request", appeal.id, role="citizen")


def _forward(reply: _Reply, appeal: Appeal) -> Outcome:
    """A follow-up of an open appeal: to its department, as it always was."""
    ctx = AnswerContext(
        session=reply.session,
        inbound=reply.inbound,
        parsed=reply.parsed,
        appeal=appeal,
        notices=reply.notices,
        calendar=reply.deps.calendar,
        now=reply.now,
        view=viewer(reply.deps.config),
        relay_mode=reply.deps.relay_mode,
        limits=reply.deps.config.attachments,
        event=lambda type_, **kw: record_event(reply.session, reply.now, type_, **kw),
    )
    result = handle_citizen_followup(ctx)
    return Outcome(result.state, result.reason, appeal.id, role="citizen")


def _after_final_answer(reply: _Reply, first: Appeal, method: str) -> Outcome:
    text = reply.parts.reply_text
    if not text.strip() and not reply.parsed.attachments:
        reply.event("followup", first, chars=0, state=first.state)
        return Outcome("processed", "followup-empty", first.id, role="citizen")
    sender = reply.parsed.from_addr.name if reply.parsed.from_addr else None
    known = (first.citizen_name, first.citizen_address, first.citizen_phone, sender)
    if not reply.parsed.attachments and is_pure_thanks(text, *known):
        reply.event("citizen-thanks", first, chars=len(text))
        return Outcome("processed", "followup-thanks", first.id, role="citizen")
    pending = reply.session.scalars(
        select(Appeal)
        .where(
            Appeal.related_appeal_id == first.id,
            Appeal.citizen_email == first.citizen_email,
            Appeal.state.in_(OPEN_STATES),
        )
        .order_by(Appeal.id.desc())
    ).first()
    if pending is not None:
        # The citizen's earlier reply to this answer is already being considered: this one
        # adds to it rather than starting yet another appeal.
        reply.event("followup-to-pending", first, pending=pending.id)
        return _forward(reply, pending)
    complaint = disagrees(text)
    if method == "subject":
        # Not a Reply from a mail client: a letter written by hand with the number in its
        # subject, or an answering machine's "Re:". A person decides (module docstring).
        reply.event("followup-held", first, why="matched-by-subject", complaint=complaint)
        return Outcome("held", "followup-unthreaded", first.id, role="citizen")
    since = reply.now - timedelta(days=1)
    recent = reply.session.scalar(
        select(func.count(Appeal.id)).where(
            Appeal.citizen_email == first.citizen_email,
            Appeal.related_appeal_id.is_not(None),
            Appeal.repeat_status == "repeated",
            Appeal.received_at >= since,
        )
    )
    # An admin who assigns the held message has decided: the guard is for machines.
    if method != "admin" and (recent or 0) >= MAX_FOLLOWUP_APPEALS_PER_DAY:
        reply.event("followup-held", first, why="too-many-today", complaint=complaint)
        return Outcome("held", "followup-loop-guard", first.id, role="citizen")
    return _register_followup(reply, first, complaint=complaint)


def _register_followup(reply: _Reply, first: Appeal, *, complaint: bool) -> Outcome:
    """A new appeal out of a reply to a final answer: repeated (the classifier's повторне)
    or a complaint about the decision, linked to the first appeal."""
    deps, session = reply.deps, reply.session
    received = reply.inbound.received_at
    facts = assess(reply.parsed, reply.recipients, received, deps)
    citizen = _merge_citizen(facts.citizen, first)
    body = facts.body or facts.text
    facts = dataclasses.replace(
        facts,
        citizen=citizen,
        # The same kind of item as the first (a complaint about an answer to an information
        # request is about that request), with its own legal term from today.
        kind=cast(Kind, first.kind),
        kind_how="followup",
        urgent=first.urgent,
        due=compute_due(cast(Kind, first.kind), received, deps.calendar, urgent=first.urgent),
        # The issue is the first appeal's; the reply need not restate it (Art. 5 asks for the
        # essence of the issue, which the reference to the first appeal gives).
        completeness=requirements.check(
            citizen.name, citizen.address, citizen.email, f"{body}\n{first.text}"
        ),
    )
    dept = first.department
    if dept is not None and dept.active:
        where = Placement(
            repeat=RepeatVerdict("repeated", first.id),
            district=first.district,
            prediction=None,
            decision=RoutingDecision(dept.code, "followup", f"followup-of:{first.reg_no}"),
            department=dept,
        )
    else:
        # The first department is gone: routed like any new appeal, but still linked.
        placed = place(session, facts, reply.parsed, reply.recipients, received, deps)
        where = dataclasses.replace(placed, repeat=RepeatVerdict("repeated", first.id))
    appeal = persist(session, reply.inbound, reply.parsed, facts, where, deps.config, reply.now)
    if where.prediction is None:
        # Not classified on its own few words: the topic is the first appeal's, and so is
        # its code in the register (with the first one's source).
        appeal.topic = first.topic
        if first.topic_code:
            appeal.topic_code = first.topic_code
            first_source = (first.characteristic_sources or {}).get("topic_code", "rule")
            appeal.characteristic_sources = {
                **(appeal.characteristic_sources or {}),
                "topic_code": first_source,
            }
    appeal.flags = {**(appeal.flags or {}), "followup_of": first.reg_no}
    if complaint:
        # The Classifier's type (Art. 3): a complaint about the decision on the first
        # appeal, whatever words the short reply used.
        appeal.appeal_type = "complaint"
        appeal.characteristic_sources = {
            **(appeal.characteristic_sources or {}),
            "type": "rule",
        }
    record_event(
        session,
        reply.now,
        "followup-registered",
        appeal_id=appeal.id,
        inbound_id=reply.inbound.id,
        first=first.id,
        first_reg_no=first.reg_no,
        complaint=complaint,
        topic=appeal.topic,
    )
    reply.event("followup-registered-as", first, reg_no=appeal.reg_no, complaint=complaint)
    outcome = dispose(session, appeal, reply.parsed, facts, where, deps, reply.notices)
    return dataclasses.replace(outcome, reason=f"followup-{outcome.reason}", role="appeal")


def _merge_citizen(new: CitizenInfo, first: Appeal) -> CitizenInfo:
    """The same citizen as the first appeal (the reply came from its address): what the
    short reply does not repeat is taken from the first appeal, what it states anew wins."""
    name = new.name if requirements.full_name_given(new.name) else first.citizen_name or new.name
    earlier = (first.flags or {}).get("contacts") or {}
    evidence = dict(new.evidence)
    for key, mine, theirs in (
        ("name", name == new.name, first.citizen_name),
        ("address", bool(new.address), first.citizen_address),
        ("phone", bool(new.phone), first.citizen_phone),
    ):
        if not mine and theirs:
            # As sure as it was in the first appeal, and said to come from there.
            sure = (earlier.get(key) or {}).get("sure", "likely")
            evidence[key] = Evidence("first-appeal", sure)
    return dataclasses.replace(
        new,
        name=name,
        email=new.email or first.citizen_email,
        address=new.address or first.citizen_address,
        phone=new.phone or first.citizen_phone,
        name_source=new.name_source if name == new.name else "first-appeal",
        location=new.location or earlier.get("location"),
        evidence=evidence,
    )


def _not_considered_why(session: Session, appeal: Appeal) -> str | None:
    event = session.scalars(
        select(AppealEvent)
        .where(AppealEvent.appeal_id == appeal.id, AppealEvent.type == "not-considered")
        .order_by(AppealEvent.id.desc())
    ).first()
    return (event.data or {}).get("why") if event is not None else None


def _supplement(reply: _Reply, appeal: Appeal) -> Outcome:
    """A reply to the returned (Art. 5) or not-considered anonymous (Art. 8) letter."""
    text = reply.parts.reply_text
    found = extract_citizen(reply.parsed, text)
    known = (appeal.citizen_name, appeal.citizen_address, appeal.citizen_phone)
    if not reply.parsed.attachments and is_pure_thanks(text, *known, found.name):
        reply.event("citizen-thanks", appeal, chars=len(text))
        return Outcome("processed", "followup-thanks", appeal.id, role="citizen")
    name = found.name if requirements.full_name_given(found.name) else appeal.citizen_name
    address = found.address or appeal.citizen_address
    phone = found.phone or appeal.citizen_phone
    supplied = [
        field
        for field, old, new in (
            ("name", appeal.citizen_name, name),
            ("address", appeal.citizen_address, address),
            ("phone", appeal.citizen_phone, phone),
        )
        if new and new != old
    ]
    combined = f"{appeal.text}\n\n{text}".strip() if text.strip() else appeal.text
    check = requirements.check(name, address, appeal.citizen_email, combined)
    appeal.citizen_name, appeal.citizen_address, appeal.citizen_phone = name, address, phone
    if supplied:
        contacts = dict((appeal.flags or {}).get("contacts") or {})
        for key in supplied:
            sure = found.evidence[key].sure if key in found.evidence else "likely"
            contacts[key] = {"how": "supplement", "sure": sure}
        appeal.flags = {**(appeal.flags or {}), "contacts": contacts}
    if text.strip():
        appeal.text = _with_supplement(appeal.text, text, reply.now, reply.deps)
    policies = reply.deps.config.policies
    # The same rules as at registration (routing.registration.dispose): what still blocks
    # consideration under the settings in force.
    anonymous_blocks = check.anonymous and policies.anonymous_policy == "not_considered"
    incomplete_blocks = bool(check.missing) and policies.incomplete_policy == "return"
    blocking = check.missing if anonymous_blocks or incomplete_blocks else ()
    if blocking:
        appeal.anonymous = check.anonymous
        appeal.flags = {**(appeal.flags or {}), "missing": list(check.missing)}
        reply.event("supplement-incomplete", appeal, supplied=supplied, missing=list(blocking))
        if reply.may_write_to(appeal):
            view = appeal_view(appeal, appeal.department, reply.deps.config)
            reply.notices.add(
                letter("citizen/returned", appeal.kind),
                to=[appeal.citizen_email or ""],
                context={
                    **view,
                    "missing": [requirements.MISSING_LABELS[m] for m in blocking],
                    "again": True,
                },
                appeal_id=appeal.id,
                language=appeal.language,
                reply_token_for=appeal.id,
                thread_with=reply.thread(),
            )
        return Outcome("processed", "followup-still-incomplete", appeal.id, role="citizen")
    return _reopen(reply, appeal, supplied, check)


def _with_supplement(text: str, added: str, now: datetime, deps: PipelineDeps) -> str:
    """The appeal's text with the citizen's addition below it, dated: the department reads
    the appeal as it now stands, and a later re-routing forwards all of it."""
    day = now.astimezone(deps.calendar.tz).strftime("%d.%m.%Y")
    return f"{text}\n\nДоповнення заявника від {day}:\n{added.strip()}"


def _reopen(
    reply: _Reply, appeal: Appeal, supplied: list[str], check: requirements.Completeness
) -> Outcome:
    deps, now = reply.deps, reply.now
    old_state, old_due = appeal.state, appeal.due_date
    # The term runs from the day the complete appeal arrived: that is when it became an
    # appeal the law requires to be considered (Art. 5, Art. 20).
    due = compute_due(
        cast(Kind, appeal.kind), reply.inbound.received_at, deps.calendar, urgent=appeal.urgent
    )
    appeal.receipt_date, appeal.due_date, appeal.due_at = due.receipt_date, due.due_date, due.due_at
    plan_reminders_again(appeal, now)
    appeal.extended_days = 0
    appeal.anonymous = check.anonymous
    appeal.subject_kind = subject_of(appeal.signatories, check.anonymous)
    flags = {k: v for k, v in (appeal.flags or {}).items() if k != "missing"}
    if check.missing:
        flags["missing"] = list(check.missing)  # allowed by the settings, still recorded
    flags["reopened"] = {"from": old_state, "on": due.receipt_date.isoformat()}
    appeal.flags = flags
    move(appeal, "routed", now)
    dept: Department | None = appeal.department
    reply.event(
        "reopened",
        appeal,
        from_state=old_state,
        supplied=supplied,
        old_due=old_due.isoformat(),
        receipt_date=due.receipt_date.isoformat(),
        due_date=due.due_date.isoformat(),
        due_rule=due.rule,
    )
    view = appeal_view(appeal, dept, deps.config)
    files = reply.files()
    shown = listing(files, deps.config.attachments)
    not_taken = [f for f in shown if not f["forwarded"]]
    if reply.may_write_to(appeal):
        reply.notices.add(
            letter("citizen/ack", appeal.kind),
            to=[appeal.citizen_email or ""],
            context={**view, "refused": not_taken},
            appeal_id=appeal.id,
            language=appeal.language,
            reply_token_for=appeal.id,
            thread_with=reply.thread(),
        )
    if dept is None:
        return Outcome("processed", "followup-reopened", appeal.id, role="citizen")
    record_event(
        reply.session,
        now,
        "routed",
        appeal_id=appeal.id,
        department=dept.code,
        rule="reopened",
        reason=f"completed-after:{old_state}",
    )
    reply.notices.add(
        letter("department/assigned", appeal.kind),
        to=[dept.email],
        context={
            **view,
            "repeat": {"status": appeal.repeat_status, "size": 1},
            # The files of the first letter and of the one that completed it.
            "attachments": [*original_listing(reply.session, appeal), *shown],
        },
        appeal_id=appeal.id,
        language="uk",
        reply_token_for=appeal.id,
        attachments=[*original_attachments(reply.session, appeal), *refs(files)],
        automatic=True,
    )
    return Outcome("processed", "followup-reopened", appeal.id, role="citizen")
