"""Recognise machine-generated mail: bounces, delay warnings, auto-replies and their kin.

`classify_machine_mail` looks at a parsed message (and its SMTP envelope when known) and
says whether a machine wrote it and what kind of machine mail it is. For bounces it also
says which outbound message and which recipient the bounce is about, so the pipeline can
mark that delivery as failed.

Why this matters: the gateway acknowledges every appeal automatically. Acknowledging an
auto-reply or a bounce starts a mail loop (RFC 3834 §2), and registering one as a citizen's
appeal wastes a registration number and an official's time. On the other hand a citizen's
appeal must never be mistaken for machine mail, because machine mail is not acknowledged
and may be discarded. So every heuristic here demands evidence from at least two
independent places (sender, subject, MIME structure, body) before it calls a message a
bounce; a human who writes "my letter was not delivered" does not become one.

Sources of the rules:
- DSN structure: RFC 3464 (message/delivery-status fields), RFC 6522 (multipart/report),
  RFC 3463 (enhanced status codes: class 2/4/5, X.2.2 "mailbox full").
- Auto-replies: RFC 3834 (Auto-Submitted), de-facto headers (Precedence, X-Autoreply,
  X-Autorespond, X-Auto-Response-Suppress), Exchange/Outlook, Lotus Domino and Gmail subject
  conventions in Ukrainian, Russian and English.
- Feedback reports: RFC 5965 (ARF). Read receipts: RFC 8098 (MDN).
- Non-standard bounces: texts of qmail, Exim, Postfix, Sendmail, Exchange, Domino and the
  big webmail providers, as seen in real bounce collections.

Pure code: standard library only, no I/O.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses
from typing import Literal

import saferegex
from routing.mail import Envelope, ParsedMail, repair_surrogates

# "list" is list or bulk mail: a machine distributed it, but a person may well have
# written it (see `bulk_evidence`); it is never treated as an auto-reply.
MachineKind = Literal["bounce", "delay", "autoreply", "challenge", "feedback", "mdn", "list"]


@dataclass(frozen=True)
class Failure:
    """One recipient the bounce reports on.

    `status` is an RFC 3463 enhanced code ("5.1.1"); when the bounce only gave a basic SMTP
    reply code or nothing at all it is generalised ("5.0.0", "4.0.0"). `permanent` is true
    for class-5 failures except "mailbox full" (X.2.2 or quota wording): a full mailbox is a
    property of the moment, not a sign that the address is wrong, so the address must not be
    marked dead for it. `recipient` is "" when the bounce does not say which address failed.
    """

    recipient: str
    status: str
    permanent: bool
    mailbox_full: bool
    diagnostic: str


@dataclass(frozen=True)
class MachineMail:
    """What kind of machine mail a message is, and why we think so.

    `reason` is the kebab-case name of the rule that decided ("dsn-report", "oof-subject").
    `failures` and `verp_token` are filled for bounces and delay warnings;
    `original_message_ids` (in "<local@domain>" form, the returned message's own Message-ID
    first) also for feedback reports and read receipts, so they can be attached to the
    appeal they are about.
    """

    kind: MachineKind
    reason: str
    failures: tuple[Failure, ...] = ()
    original_message_ids: tuple[str, ...] = ()
    verp_token: str | None = None


# --------------------------------------------------------------------------------------
# Vocabulary. Kept as module-level constants (immutable) so tests can see them.

#: Local parts used by mail systems for their own notifications.
DAEMON_LOCAL_PARTS = frozenset(
    {
        "mailer-daemon",
        "mailer_daemon",
        "mailerdaemon",
        "mail-daemon",
        "maildaemon",
        "postmaster",
        "mail.delivery.system",
        "mail-delivery-system",
        "mdaemon",
        "mailadmin",
    }
)

_DAEMON_NAME = saferegex.compile(
    r"mail\s*delivery\s*(system|subsystem|service)|mailer[-_ ]?daemon|postmaster"
    r"|delivery\s*status\s*notification|система\s+доставки|служба\s+доставки",
    saferegex.IGNORECASE,
)

# Subjects bounce generators use. A human can type any of these, so a subject alone is
# never enough (see _looks_like_text_bounce).
_BOUNCE_SUBJECT = saferegex.compile(
    r"undeliver(ed|able)|undelivered\s+mail|returned\s+mail|mail\s+delivery\s+fail"
    r"|delivery\s+(status\s+notification|failure|failed|has\s+failed|problem|notification)"
    r"|failure\s+notice|non[- ]?deliver|nondeliverable|could\s+not\s+be\s+delivered"
    r"|mail\s+system\s+error|returned\s+to\s+sender|delivery\s+report"
    r"|warning:\s+could\s+not\s+send|delayed\s+mail|message\s+delayed|delivery\s+delay"
    r"|permanent\s+error|rejected:|message\s+you\s+sent\s+(was|has\s+been)\s+blocked"
    r"|nie\s+dostarczono|niedostarczon"
    r"|недоставлен|не\s+доставлен|не\s+може\s+бути\s+доставлен|не\s+может\s+быть\s+доставлен"
    r"|возвращ[её]нное\s+сообщение|ошибка\s+доставки|помилка\s+доставки",
    saferegex.IGNORECASE,
)

_FORWARD_PREFIX = saferegex.compile(
    r"^\s*(fwd?|fw|пересл|пересылка|переслано|tr)\s*[:\]]", saferegex.IGNORECASE
)

# Phrases bounce generators write in the notification part.
_BOUNCE_BODY = saferegex.compile(
    r"could\s+not\s+be\s+delivered|couldn't\s+be\s+delivered|was\s+not\s+delivered"
    r"|delivery\s+(to\s+the\s+following\s+recipients?\s+)?(has\s+)?failed"
    r"|following\s+address(\(es\)|es)?\s+failed|permanent\s+(fatal\s+)?errors?"
    r"|user\s+unknown|unknown\s+user|no\s+such\s+(user|mailbox|recipient|address)"
    r"|mailbox\s+(unavailable|not\s+found|does\s+not\s+exist|is\s+disabled|disabled)"
    r"|recipient\s+address\s+rejected|address\s+rejected|does\s+not\s+exist"
    r"|this\s+is\s+the\s+qmail-send\s+program|i'm\s+afraid\s+i\s+wasn't\s+able\s+to\s+deliver"
    r"|unable\s+to\s+deliver|undeliverable|delivery\s+status\s+notification"
    r"|message\s+could\s+not\s+be\s+sent|returned\s+mail|host\s+unknown"
    r"|not\s+yet\s+been\s+delivered|will\s+continue\s+to\s+(retry|try)|still\s+being\s+retried"
    r"|rejected\s+(your|the)\s+message|message\s+(was\s+)?rejected|mail\s+loop\s+detected"
    r"|not\s+a\s+valid\s+(user|recipient|address|mailbox)"
    r"|сообщение\s+не\s+(может\s+быть\s+)?доставлено|не\s+удалось\s+доставить"
    r"|повідомлення\s+не\s+(може\s+бути\s+)?доставлено|не\s+вдалося\s+доставити",
    saferegex.IGNORECASE,
)

_DELAY_BODY = saferegex.compile(
    r"warning\s+only|not\s+yet\s+been\s+delivered|still\s+being\s+retried|delivery\s+delay"
    r"|will\s+(continue\s+to\s+)?(retry|try)(?:\W|$)|has\s+been\s+delayed|delayed\s+mail"
    r"|do\s+not\s+need\s+to\s+resend|message\s+delayed|temporarily\s+deferred",
    saferegex.IGNORECASE,
)

# An RFC 3463 code, "5.1.1": not inside a longer dotted number (an IP address, a version).
# RE2 has no look-around, so the neighbouring characters are matched and the code is in
# the groups; callers use the groups' positions, never the match's.
_ENHANCED_CODE = saferegex.compile(r"(?:^|[^\d.])([245])\.(\d{1,3})\.(\d{1,3})\.*(?:[^\d.]|$)")
_BASIC_CODE = saferegex.compile(r"(?:^|[\s:(])([45][0-5]\d)[\s-]", saferegex.MULTILINE)

_QUOTA = saferegex.compile(
    r"quota|mailbox\s+(is\s+)?full|mailbox\s+size|over\s*quota|exceed\w*\s+(the\s+)?storage"
    r"|insufficient\s+(system\s+)?storage|storage\s+(space\s+)?(limit|exceeded)"
    r"|too\s+many\s+messages|ящик\s+переполнен|превышен\w*\s+(лимит|квот|размер)"
    r"|скриньк\w*\s+переповнен|перевищен\w*\s+(ліміт|квот|розмір)",
    saferegex.IGNORECASE,
)

# Challenge-response systems ask the sender to prove they are human. Answering them from
# an automatic mailbox is pointless, and they are not delivery failures.
_CHALLENGE_DOMAINS = frozenset(
    {"boxbe.com", "bluebottle.com", "spamarrest.com", "mailblocks.com", "sendio.com"}
)
_CHALLENGE_TEXT = saferegex.compile(
    r"requires\s+confirmation|not\s+pre-?approved|x-boxbe-notice|sender\s+verification"
    r"|have\s+your\s+address\s+added\s+to|added\s+to\s+(the\s+)?(recipient's\s+)?"
    r"(allowed|approved|white)\s*-?list|verify\s+(that\s+)?you\s+are\s+(a\s+)?(human|real)"
    r"|confirm\s+(that\s+)?you\s+are\s+(a\s+)?(human|real)|challenge[- ]response"
    r"|please\s+confirm\s+your\s+(e-?mail|message)",
    saferegex.IGNORECASE,
)

# Out-of-office subjects. Words that also open ordinary complaints ("Відсутній ліфт",
# "Нет на месте мусорного бака") only count as a prefix followed by a colon, which is how
# Outlook and Exchange put them.
_OOF_SUBJECT = saferegex.compile(
    r"auto(matic)?[- _]?(reply|response|respond|answer)|autoreply|autoresponder"
    r"|^\s*AUTO\s*:|автоответ|автоматическ\w*\s+ответ|автоматичн\w*\s+відповід|автовідповід"
    r"|автоматична\s+відповідь|вне\s+офиса|поза\s+офісом"
    r"|^\s*(нет\s+на\s+месте|відсутн\w*|немає\s+на\s+місці|в\s+отпуске|у\s+відпустці)\s*:"
    r"|automatyczna\s+odpowied",
    saferegex.IGNORECASE,
)

# "Out of office" is an auto-reply, "out of office hours" a citizen's complaint: the
# phrase is found with its optional "hours" and only counts without it (RE2 has no (?!...)).
_OUT_OF_OFFICE = saferegex.compile(r"out\s+of\s+(?:the\s+)?office(\s+hours)?", saferegex.IGNORECASE)


def _out_of_office_subject(subject: str) -> bool:
    return any(m.group(1) is None for m in _OUT_OF_OFFICE.finditer(subject))


_MESSAGE_ID = saferegex.compile(r"<([^<>\s@]+@[^<>\s]+)>")
_MESSAGE_ID_LINE = saferegex.compile(
    r"^[\s>|]*(?:message-id|original-message-id|x-original-message-id)\s*:\s*(<[^<>\s]+>)",
    saferegex.IGNORECASE | saferegex.MULTILINE,
)
_ADDRESS = saferegex.compile(r"<?([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?")

_BLANK_LINE = saferegex.compile(r"\r?\n\s*\r?\n")
_FOLD = saferegex.compile(r"\s*\r?\n\s+")

# Marks where a returned copy of the original message starts inside a plain-text bounce.
_RETURNED_MARKER = saferegex.compile(
    r"^\s*-*\s*(this\s+is\s+a\s+copy\s+of\s+the\s+message|below\s+this\s+line\s+is\s+a\s+copy"
    r"|original\s+message\s+(follows|headers)"
    r"|unsent\s+message\s+below|returned\s+message|message\s+headers\s+follow"
    r"|-+\s*original\s+message\s*-+|headers\s+of\s+the\s+original|copy\s+of\s+the\s+original)",
    saferegex.IGNORECASE | saferegex.MULTILINE,
)


# --------------------------------------------------------------------------------------
# MIME helpers


def _load(raw: bytes) -> Message | None:
    try:
        return email.message_from_bytes(raw, policy=policy.compat32)
    except Exception:  # the stdlib parser is lenient; this is a last-resort guard
        return None


def _part_text(part: Message) -> str:
    """Decoded text of a leaf part, whatever its declared charset (which may be wrong)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        # Diagnostics from here are stored and mailed to the admin: no lone surrogates.
        return repair_surrogates(payload.decode(charset, errors="replace"))
    except LookupError:
        return payload.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class _Structure:
    """The message cut into what the notifier wrote and what it returned to us."""

    report_type: str  # "" unless the top level is multipart/report
    notification_text: str  # text/* parts outside returned messages
    returned_headers: tuple[Message, ...]  # headers of returned messages
    returned_text: str  # text found inside returned messages / after a return marker
    dsn_parts: tuple[Message, ...]
    has_feedback_part: bool
    has_mdn_part: bool


def _walk(msg: Message) -> _Structure:
    texts: list[str] = []
    returned: list[Message] = []
    returned_texts: list[str] = []
    dsn: list[Message] = []
    flags = {"feedback": False, "mdn": False}

    def visit(part: Message, inside_returned: bool) -> None:
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                returned.append(inner)
                for sub in _leaves(inner):
                    if sub.get_content_maintype() == "text":
                        returned_texts.append(_part_text(sub))
            return
        if ctype in ("text/rfc822-headers", "message/rfc822-headers", "text/global-headers"):
            text = _part_text(part)
            returned.append(HeaderParser().parsestr(text.lstrip("\r\n")))
            returned_texts.append(text)
            return
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            dsn.append(part)
            return
        if ctype in ("message/feedback-report", "message/disposition-notification"):
            flags["feedback" if ctype == "message/feedback-report" else "mdn"] = True
            # Keep their fields (Original-Message-ID, RFC 8098 §3.2.5) for correlation.
            returned_texts.append(_report_part_text(part))
            return
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                for child in children:
                    if isinstance(child, Message):
                        visit(child, inside_returned)
            return
        if part.get_content_maintype() == "text":
            (returned_texts if inside_returned else texts).append(_part_text(part))

    visit(msg, False)
    notification = "\n".join(texts)
    # Plain-text bounces (qmail, old Exim) append the original after a marker line.
    marker = _RETURNED_MARKER.search(notification)
    if marker is not None:
        returned_texts.append(notification[marker.start() :])
        notification = notification[: marker.start()]
    report_type = ""
    if msg.get_content_type() == "multipart/report":
        param = msg.get_param("report-type")
        if isinstance(param, tuple):  # RFC 2231 encoded parameter
            param = param[2]
        report_type = str(param or "").strip().lower()
    return _Structure(
        report_type=report_type,
        notification_text=notification,
        returned_headers=tuple(returned),
        returned_text="\n".join(returned_texts),
        dsn_parts=tuple(dsn),
        has_feedback_part=flags["feedback"],
        has_mdn_part=flags["mdn"],
    )


def _report_part_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # compat32 parses these report parts as header blocks
        return "\n".join(
            f"{k}: {v}" for block in payload if isinstance(block, Message) for k, v in block.items()
        )
    return _part_text(part)


def _leaves(msg: Message) -> Iterator[Message]:
    if msg.is_multipart():
        payload = msg.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    yield from _leaves(sub)
    else:
        yield msg


def _dsn_blocks(part: Message) -> list[dict[str, str]]:
    """The header blocks of a message/delivery-status part (RFC 3464 §2.1), lower-case keys."""
    payload = part.get_payload()
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list) and all(isinstance(p, Message) for p in payload):
        for block in payload:
            assert isinstance(block, Message)
            blocks.append({k.lower(): _unfold(str(v)) for k, v in block.items()})
        # compat32 stops a block at the first blank line; a DSN whose blocks are
        # separated oddly still leaves its fields in some block, so nothing is lost.
        return [b for b in blocks if b]
    text = _part_text(part)
    for chunk in _BLANK_LINE.split(text):
        parsed = HeaderParser().parsestr(chunk.strip("\r\n") + "\n")
        block = {k.lower(): _unfold(str(v)) for k, v in parsed.items()}
        if block:
            blocks.append(block)
    return blocks


def _unfold(value: str) -> str:
    return _FOLD.sub(" ", value).strip()


# --------------------------------------------------------------------------------------
# Status codes and failures


def _status_from_text(text: str) -> str | None:
    m = _ENHANCED_CODE.search(text)
    if m:
        return ".".join(m.groups())
    b = _BASIC_CODE.search(text)
    if b:
        return f"{b.group(1)[0]}.0.0"
    return None


def _make_failure(recipient: str, status: str, diagnostic: str) -> Failure:
    parts = status.split(".")
    full = (len(parts) == 3 and parts[1:] == ["2", "2"]) or bool(_QUOTA.search(diagnostic))
    return Failure(
        recipient=recipient,
        status=status,
        permanent=status.startswith("5") and not full,
        mailbox_full=full,
        diagnostic=diagnostic[:500],
    )


def _address_from_field(value: str) -> str:
    # "rfc822; user@example.org" (RFC 3464 §2.3.2); some MTAs omit the type.
    addr = value.split(";", 1)[1] if ";" in value else value
    return addr.strip().strip("<>").strip()


def _dsn_failures(blocks: list[dict[str, str]]) -> tuple[list[Failure], list[str]]:
    """Failures (failed or delayed recipients) and the list of Action values seen."""
    failures: list[Failure] = []
    actions: list[str] = []
    for block in blocks:
        if not any(k in block for k in ("final-recipient", "original-recipient", "action")):
            continue
        recipient = _address_from_field(
            block.get("final-recipient") or block.get("original-recipient") or ""
        )
        diagnostic = block.get("diagnostic-code", "")
        status_field = block.get("status", "")
        status = _status_from_text(status_field) or _status_from_text(diagnostic)
        # Postfix reports "5.0.0" while the remote server's reply says "550 5.7.1":
        # the specific code is the more useful one, if it is of the same class.
        detailed = _status_from_text(diagnostic)
        if status and detailed and status.endswith(".0.0") and detailed[0] == status[0]:
            status = detailed
        action = block.get("action", "").split(";")[0].strip().lower()
        if not action and status:
            action = {"5": "failed", "4": "delayed", "2": "delivered"}.get(status[0], "")
        if not action and not status:
            continue
        actions.append(action)
        if action in ("failed", "delayed"):
            default = "5.0.0" if action == "failed" else "4.0.0"
            failures.append(_make_failure(recipient, status or default, diagnostic))
    return failures, actions


def _text_failures(
    text: str, excluded: set[str], failed_header: tuple[str, ...], delay: bool
) -> list[Failure]:
    """Recipients and codes from a plain-text bounce.

    Each address in the notification is paired with the first status code written after it
    and before the next address (Postfix "<a@b>: host x said: 550 5.1.1 ...", Exim
    "a@b\\n  SMTP error ... 550 ...", qmail "<a@b>:\\nRemote host said: 550 ...").
    """
    default = "4.0.0" if delay else "5.0.0"
    hits = [
        (m.start(), m.end(), m.group(1))
        for m in _ADDRESS.finditer(text)
        if m.group(1).lower() not in excluded and not _is_daemon_address(m.group(1))
    ]
    found: dict[str, Failure] = {}
    for i, (_start, end, addr) in enumerate(hits):
        stop = hits[i + 1][0] if i + 1 < len(hits) else len(text)
        window = text[end : min(stop, end + 800)]
        status = _status_from_text(window)
        if status is None:
            continue
        line = _line_with_code(window) or window.strip()[:200]
        found.setdefault(addr.lower(), _make_failure(addr, status, line))
    for addr in failed_header:
        if addr.lower() not in found:
            status = _status_from_text(text) or default
            found[addr.lower()] = _make_failure(addr, status, _line_with_code(text) or "")
    if not found:
        status = _status_from_text(text)
        quota = _QUOTA.search(text)
        if status or quota:
            diag = _line_with_code(text) or (quota.group(0) if quota else "")
            return [_make_failure("", status or default, diag)]
        return []
    return list(found.values())


def _line_with_code(text: str) -> str | None:
    m = _ENHANCED_CODE.search(text) or _BASIC_CODE.search(text)
    if not m:
        return None
    start = text.rfind("\n", 0, m.start(1)) + 1
    end = text.find("\n", m.start(1))
    return _unfold(text[start : end if end != -1 else len(text)])[:300]


# --------------------------------------------------------------------------------------
# Correlation with our outbound mail


def _original_message_ids(parsed: ParsedMail, structure: _Structure) -> tuple[str, ...]:
    own = _normalise_id(parsed.message_id or "")
    ids: list[str] = []
    for headers in structure.returned_headers:
        mid = headers.get("Message-ID")
        if mid:
            ids.append(_normalise_id(str(mid)))
    for m in _MESSAGE_ID_LINE.finditer(structure.returned_text):
        ids.append(_normalise_id(m.group(1)))
    for m in _MESSAGE_ID_LINE.finditer(structure.notification_text):
        ids.append(_normalise_id(m.group(1)))
    # Exchange and Gmail NDRs thread themselves onto the failed message.
    ids.extend(_normalise_id(x) for x in parsed.in_reply_to)
    ids.extend(_normalise_id(x) for x in parsed.references)
    seen: dict[str, None] = {}
    for mid in ids:
        if mid and mid != own:
            seen.setdefault(mid, None)
    return tuple(seen)


def _normalise_id(value: str) -> str:
    m = _MESSAGE_ID.search(value)
    if m:
        return f"<{m.group(1)}>"
    value = value.strip()
    return f"<{value}>" if value and "@" in value and " " not in value else ""


def _verp_token(parsed: ParsedMail, envelope: Envelope | None) -> str | None:
    """The token of a VERP-style return address: `local+TOKEN@domain` (RFC 5233 subaddress).

    Our outbound mail uses a per-message envelope sender, so the bounce comes back to an
    address that says which message and recipient it was. The envelope recipient is the
    reliable place; Delivered-To / X-Original-To / To are the fallbacks for IMAP delivery.
    """
    candidates: list[str] = list(envelope.rcpt_tos) if envelope else []
    for name in ("delivered-to", "x-original-to", "envelope-to"):
        candidates.extend(parsed.header_all(name))
    candidates.extend(a.email for a in parsed.to)
    for value in candidates:
        for _, addr in getaddresses([value]):
            local = addr.rsplit("@", 1)[0]
            if "+" in local:
                token = local.split("+", 1)[1]
                if token:
                    return token
    return None


# --------------------------------------------------------------------------------------
# Sender evidence


def _is_daemon_address(addr: str) -> bool:
    local = addr.strip().strip("<>").rsplit("@", 1)[0].lower()
    return local in DAEMON_LOCAL_PARTS


def _daemon_sender(parsed: ParsedMail) -> bool:
    if parsed.from_addr is not None:
        if _is_daemon_address(parsed.from_addr.email):
            return True
        if _DAEMON_NAME.search(parsed.from_addr.name or ""):
            return True
    # Some bounces carry a From the parser cannot turn into an address ("Webshield SMTP
    # Mail Service"); the text of From and the Return-Path still name the daemon.
    if any(_DAEMON_NAME.search(v) for v in parsed.header_all("from")):
        return True
    return any(
        _is_daemon_address(addr)
        for _, addr in getaddresses(list(parsed.header_all("return-path")))
        if addr
    )


def _null_sender(parsed: ParsedMail, envelope: Envelope | None) -> bool:
    """True when the message came with the null reverse-path (RFC 5321 §4.5.5)."""
    if envelope is not None and envelope.source == "smtp":
        return not envelope.mail_from or envelope.mail_from.strip() in ("<>", "")
    if envelope is not None and envelope.mail_from is not None:
        # Pipe delivery that was told the sender; None there means "not told", which is
        # not evidence of anything, so it falls through to the Return-Path header.
        return envelope.mail_from.strip() in ("<>", "")
    paths = parsed.header_all("return-path")
    return bool(paths) and paths[-1].strip() in ("<>", "")


def _from_domain(parsed: ParsedMail) -> str:
    if parsed.from_addr is None:
        return ""
    return parsed.from_addr.email.rsplit("@", 1)[-1].lower()


# --------------------------------------------------------------------------------------
# The classifier


def classify_machine_mail(parsed: ParsedMail, envelope: Envelope | None) -> MachineMail | None:
    """Say what kind of machine mail `parsed` is, or None for (apparently) human mail.

    Order matters: report types first (they are unambiguous), then challenge-response (which
    often dresses up as a DSN), then bounces, then auto-reply headers and subjects, and
    list and bulk markers last because auto-replies relayed through a list carry them too.
    A successful-delivery DSN (Action: delivered/relayed/expanded) is reported as kind
    "mdn" with reason "dsn-success": like a read receipt it is a receipt, not a failure.
    """
    msg = parsed.mime if isinstance(parsed.mime, Message) else _load(parsed.raw)
    structure = (
        _walk(msg)
        if msg is not None
        else _Structure("", parsed.text, (), "", (), has_feedback_part=False, has_mdn_part=False)
    )

    if structure.report_type == "feedback-report" or structure.has_feedback_part:
        return MachineMail(
            "feedback", "arf-report", original_message_ids=_original_message_ids(parsed, structure)
        )
    if structure.report_type == "disposition-notification" or structure.has_mdn_part:
        return MachineMail(
            "mdn", "mdn-report", original_message_ids=_original_message_ids(parsed, structure)
        )

    challenge = _challenge(parsed, structure)
    if challenge is not None:
        return challenge

    bounce = _dsn_bounce(parsed, envelope, structure)
    if bounce is None:
        bounce = _text_bounce(parsed, envelope, structure)
    if bounce is not None:
        return bounce

    return _autoreply(parsed, envelope)


def _challenge(parsed: ParsedMail, structure: _Structure) -> MachineMail | None:
    domain = _from_domain(parsed)
    if domain in _CHALLENGE_DOMAINS or any(domain.endswith("." + d) for d in _CHALLENGE_DOMAINS):
        return MachineMail("challenge", "challenge-sender")
    dsn_text = " ".join(
        " ".join(b.values()) for part in structure.dsn_parts for b in _dsn_blocks(part)
    )
    machine = _daemon_sender(parsed) or bool(structure.dsn_parts) or _auto_headers(parsed)
    if machine and _CHALLENGE_TEXT.search(structure.notification_text + "\n" + dsn_text):
        return MachineMail("challenge", "challenge-text")
    return None


def _dsn_bounce(
    parsed: ParsedMail, envelope: Envelope | None, structure: _Structure
) -> MachineMail | None:
    if not structure.dsn_parts:
        return None
    failures: list[Failure] = []
    actions: list[str] = []
    for part in structure.dsn_parts:
        f, a = _dsn_failures(_dsn_blocks(part))
        failures.extend(f)
        actions.extend(a)
    if not actions:
        return None  # a delivery-status part with no usable fields: try the text rules
    ids = _original_message_ids(parsed, structure)
    token = _verp_token(parsed, envelope)
    reason = "dsn-report"
    if "failed" in actions:
        return MachineMail("bounce", reason, tuple(failures), ids, token)
    if "delayed" in actions:
        return MachineMail("delay", "dsn-delay", tuple(failures), ids, token)
    return MachineMail("mdn", "dsn-success", (), ids, token)


def _text_bounce(
    parsed: ParsedMail, envelope: Envelope | None, structure: _Structure
) -> MachineMail | None:
    subject = parsed.subject or ""
    forwarded = bool(_FORWARD_PREFIX.search(subject))
    failed_header = tuple(
        addr for _, addr in getaddresses(list(parsed.header_all("x-failed-recipients"))) if addr
    )
    subject_hit = bool(_BOUNCE_SUBJECT.search(subject)) and not forwarded
    body_hit = bool(_BOUNCE_BODY.search(structure.notification_text))
    sender_hit = _daemon_sender(parsed) or _null_sender(parsed, envelope)
    returned = bool(structure.returned_headers) or bool(structure.returned_text)
    code_hit = _status_from_text(structure.notification_text) is not None

    if failed_header and (sender_hit or subject_hit or body_hit):
        reason = "failed-recipients-header"  # Exim adds it to its bounces only
    elif sender_hit and subject_hit:
        reason = "daemon-bounce-subject"
    elif sender_hit and body_hit and (code_hit or returned or parsed.in_reply_to):
        reason = "daemon-bounce-text"
    elif subject_hit and body_hit and code_hit and returned and not forwarded:
        # No daemon sender (some Exchange and Domino servers send NDRs "from" the
        # postmaster's display name or the original recipient), but subject, wording,
        # a status code and the returned message all agree.
        reason = "bounce-structure"
    else:
        return None

    text = structure.notification_text
    delay = bool(_DELAY_BODY.search(subject + "\n" + text)) and not _ENHANCED_FAIL.search(text)
    excluded = {a.email.lower() for a in (*parsed.to, *parsed.cc)}
    if parsed.from_addr is not None:
        excluded.add(parsed.from_addr.email.lower())
    if envelope is not None:
        excluded.update(r.lower() for r in envelope.rcpt_tos)
    failures = _text_failures(text, excluded, failed_header, delay)
    if delay and any(f.status.startswith("5") for f in failures):
        delay = False
    ids = _original_message_ids(parsed, structure)
    token = _verp_token(parsed, envelope)
    if delay:
        return MachineMail("delay", "text-delay", tuple(failures), ids, token)
    return MachineMail("bounce", reason, tuple(failures), ids, token)


_ENHANCED_FAIL = saferegex.compile(r"(?:^|[^\d.])5\.\d{1,3}\.\d{1,3}(?:\W|$)|(?:^|\W)5[0-5]\d[ -]")


def _auto_headers(parsed: ParsedMail) -> bool:
    value = (parsed.header("auto-submitted") or "").split(";")[0].strip().lower()
    return bool(value) and value != "no"


def _autoreply(parsed: ParsedMail, envelope: Envelope | None) -> MachineMail | None:
    if _auto_headers(parsed):
        return MachineMail("autoreply", "auto-submitted-header")
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if parsed.header(name) is not None:
            return MachineMail("autoreply", f"{name}-header")
    if _exchange_oof(parsed):
        return MachineMail("autoreply", "exchange-oof")
    if _OOF_SUBJECT.search(parsed.subject or "") or _out_of_office_subject(parsed.subject or ""):
        return MachineMail("autoreply", "oof-subject")
    precedence = (parsed.header("precedence") or "").strip().lower()
    # "junk" and "auto_reply" are what vacation programs put on their own replies.
    # "bulk" is not among them: campaign tools and newsletters set it on letters people
    # wrote, so it only marks the message as list/bulk mail (below).
    if precedence in ("junk", "auto_reply", "auto-reply"):
        return MachineMail("autoreply", "precedence-header")
    if parsed.header("x-auto-response-suppress") is not None:
        return MachineMail("autoreply", "x-auto-response-suppress-header")
    if _daemon_sender(parsed):
        return MachineMail("autoreply", "daemon-sender")
    if _null_sender(parsed, envelope):
        return MachineMail("autoreply", "null-return-path")
    bulk = bulk_evidence(parsed)
    if bulk is not None:
        return MachineMail("list", bulk)
    return None


def bulk_evidence(parsed: ParsedMail) -> str | None:
    """Why `parsed` is list or bulk mail ("precedence:bulk+list-unsubscribe"), or None.

    List and bulk headers say how a message was distributed, not who wrote it: a person's
    letter relayed by a mailing list (RFC 2919 List-Id), a letter a petition site sends
    for each signer (RFC 2369 List-Unsubscribe, Precedence: bulk), or a newsletter. So this
    is no evidence of an auto-reply; what it does decide is that no automatic answer goes
    back (RFC 3834 §2: responders must not answer list or bulk mail).
    """
    found: list[str] = []
    precedence = (parsed.header("precedence") or "").strip().lower()
    if precedence in ("bulk", "list"):
        found.append(f"precedence:{precedence}")
    for name in ("list-id", "list-unsubscribe", "list-post"):
        if parsed.header(name) is not None:
            found.append(name)
    return "+".join(found) or None


def _exchange_oof(parsed: ParsedMail) -> bool:
    # Exchange marks mail its own rules generated (including OOF) with these; the
    # X-POST-MessageClass header is a gateway appliance's "Autoresponder" class.
    if parsed.header("x-ms-exchange-inbox-rules-loop") is not None:
        return True
    source = (parsed.header("x-ms-exchange-generated-message-source") or "").lower()
    if "mailbox rules agent" in source or "oof" in source:
        return True
    msg_class = " ".join(
        parsed.header_all("x-ms-exchange-organization-messageclass")
        + parsed.header_all("x-post-messageclass")
        + parsed.header_all("content-class")
    ).lower()
    return (
        "autorespon" in msg_class
        or "ipm.note.rules.oofrequest" in msg_class
        or ("oof" in msg_class.split("."))
    )
