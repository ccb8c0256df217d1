"""Screening: the first decision about an inbound message, as one ordered table of rules.

Each rule is small, named and described; `screen` runs all of them, records every rule that
matched (the pipeline writes the hits into the message's event), and the first decisive
match wins. The order is the policy:

1. own-echo   – our own mail coming back (loop header, our Message-ID, our From): discard.
2. bounce     – delivery failures and delay warnings about our outbound mail: "bounce"
                (the pipeline marks the delivery failed; never acknowledged).
3. machine    – auto-replies, challenge-response, ARF feedback, read receipts, list mail:
                "autoreply" (attached to a matched appeal as an auto-reply, else discarded;
                never acknowledged, RFC 3834 §2).
4. spam       – the upstream filter's verdict: hold, never discard (a citizen's appeal
                misjudged as spam must stay recoverable; design invariant 2).
5. defective  – oversize, or so broken that nothing readable is left: hold with the reason.
6. accept     – everything else is treated as human mail.

Discarding is reserved for mail a machine wrote (design invariant 2): a doubtful human
message is held, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from routing.machine_mail import MachineMail, classify_machine_mail
from routing.mail import Envelope, ParsedMail

Action = Literal["accept", "discard", "hold", "bounce", "autoreply"]


@dataclass(frozen=True)
class ScreeningContext:
    """What screening needs to know about this installation (mapped from settings).

    `our_addresses` are the gateway's own mailboxes, lower-case. `message_id_domain` is the
    right-hand side of the Message-IDs we generate. `known_outbound_message_id` answers
    "did we send a message with this Message-ID?" (an outbox lookup), when available.
    """

    our_addresses: frozenset[str] = frozenset()
    message_id_domain: str = ""
    loop_header: str = "X-Appeal-Gateway"
    spam_flag_header: str = "X-Spam-Flag"
    spam_score_header: str = "X-Spam-Status"
    spam_threshold: float = 5.0
    max_size: int = 25 * 1024 * 1024
    known_outbound_message_id: Callable[[str], bool] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Verdict:
    action: Action
    rule: str
    reason: str
    machine: MachineMail | None = None
    hits: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One screening rule. `check` returns a Verdict when the rule matches, else None."""

    name: str
    description: str
    check: Callable[[ParsedMail, Envelope | None, ScreeningContext], Verdict | None]


# --------------------------------------------------------------------------------------
# Addresses


_NO_REPLY_LOCAL = re.compile(
    r"^(mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|(.*[-_.])?no[-_.]?reply"
    r"|do[-_.]?not[-_.]?reply|dont[-_.]?reply|(.*[-_.])?bounces?|(.*[-_.])?auto[-_.]?reply"
    r"|listserv|majordomo|.*-request|.*-owner|owner-.*)$",
    re.IGNORECASE,
)


def _bare(addr: str) -> str:
    addr = addr.strip().strip("<>").strip().lower()
    if "@" not in addr:
        return addr
    local, domain = addr.rsplit("@", 1)
    # Subaddresses of our mailboxes (VERP return paths, reply tokens) are still ours.
    return f"{local.split('+', 1)[0]}@{domain}"


def is_our_address(addr: str | None, ctx: ScreeningContext) -> bool:
    """True when `addr` is one of the gateway's own mailboxes (subaddresses included)."""
    if not addr:
        return False
    bare = _bare(addr)
    return bare in ctx.our_addresses or addr.strip().strip("<>").lower() in ctx.our_addresses


def may_auto_reply_to(address: str | None, ctx: ScreeningContext) -> bool:
    """Whether an automatic message (acknowledgement, notice) may be sent to `address`.

    Never to an empty or malformed address, never to ourselves (a loop), never to mail
    systems, list robots or no-reply mailboxes (RFC 3834 §2: do not answer automata).
    """
    if not address:
        return False
    addr = address.strip().strip("<>").strip()
    if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
        return False
    if is_our_address(addr, ctx):
        return False
    local = addr.rsplit("@", 1)[0].split("+", 1)[0]  # bounces+token@ is still a robot
    return not _NO_REPLY_LOCAL.match(local)


# --------------------------------------------------------------------------------------
# Rules


def _message_id_domain(mid: str) -> str:
    m = re.search(r"@([^>\s]+)", mid)
    return m.group(1).lower() if m else ""


def _own_echo(
    parsed: ParsedMail, envelope: Envelope | None, ctx: ScreeningContext
) -> Verdict | None:
    if ctx.loop_header and parsed.header(ctx.loop_header) is not None:
        return Verdict("discard", "own-echo", "loop-header")
    mid = parsed.message_id or ""
    if mid and ctx.message_id_domain and _message_id_domain(mid) == ctx.message_id_domain.lower():
        return Verdict("discard", "own-echo", "our-message-id-domain")
    if mid and ctx.known_outbound_message_id is not None and ctx.known_outbound_message_id(mid):
        return Verdict("discard", "own-echo", "our-outbound-message-id")
    if parsed.from_addr is not None and is_our_address(parsed.from_addr.email, ctx):
        return Verdict("discard", "own-echo", "from-our-address")
    return None


def _bounce(parsed: ParsedMail, envelope: Envelope | None, ctx: ScreeningContext) -> Verdict | None:
    m = classify_machine_mail(parsed, envelope)
    if m is not None and m.kind in ("bounce", "delay"):
        return Verdict("bounce", "bounce", m.reason, m)
    return None


def _machine(
    parsed: ParsedMail, envelope: Envelope | None, ctx: ScreeningContext
) -> Verdict | None:
    # Classified again rather than cached: rules stay independent and pure, and the cost
    # (one more stdlib parse of the raw bytes) is small next to the database work after.
    m = classify_machine_mail(parsed, envelope)
    if m is not None and m.kind not in ("bounce", "delay"):
        return Verdict("autoreply", "machine-mail", f"{m.kind}:{m.reason}", m)
    return None


_SCORE = re.compile(r"(?:^|[\s,;])(?:score|hits)\s*=\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_LEADING_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*$")


def _spam_score(value: str) -> float | None:
    m = _SCORE.search(value) or _LEADING_NUMBER.match(value)
    return float(m.group(1)) if m else None


def _spam(parsed: ParsedMail, envelope: Envelope | None, ctx: ScreeningContext) -> Verdict | None:
    # The headers are only trustworthy if the upstream filter strips them from incoming
    # mail before adding its own (SpamAssassin/rspamd do); that is a deployment matter.
    flag = (parsed.header(ctx.spam_flag_header) or "").strip().lower()
    if flag.startswith("yes") or flag == "true":
        return Verdict("hold", "spam", "spam-flag")
    status = parsed.header(ctx.spam_score_header)
    if status is not None:
        score = _spam_score(status)
        if score is not None:
            if score >= ctx.spam_threshold:
                return Verdict("hold", "spam", f"spam-score {score:g} >= {ctx.spam_threshold:g}")
        elif status.strip().lower().startswith("yes"):
            return Verdict("hold", "spam", "spam-status")
    return None


def _readable(parsed: ParsedMail) -> bool:
    return bool(parsed.text.strip() or (parsed.html or "").strip() or parsed.attachments)


def _defective(
    parsed: ParsedMail, envelope: Envelope | None, ctx: ScreeningContext
) -> Verdict | None:
    if ctx.max_size and parsed.size > ctx.max_size:
        return Verdict("hold", "defective", f"oversize {parsed.size} > {ctx.max_size}")
    corrupt = [d for d in parsed.defects if d.startswith("corrupt:")]
    if corrupt:
        # The body text itself could not be decoded (e.g. invalid base64): what we would
        # register is noise, so a person looks at the raw message instead.
        return Verdict("hold", "defective", "corrupt-body")
    if _readable(parsed):
        return None
    if parsed.from_addr is None:
        return Verdict("hold", "defective", "no-sender-no-content")
    if parsed.defects:
        # Nothing readable came out AND the parser complained: the structure defeated it
        # (e.g. a multipart whose boundary never occurs). A missing final boundary or a
        # bad charset label with readable text is common in real mail and is accepted.
        return Verdict("hold", "defective", "unparseable-structure")
    return None


def _accept(parsed: ParsedMail, envelope: Envelope | None, ctx: ScreeningContext) -> Verdict | None:
    return Verdict("accept", "accept", "human-mail")


RULES: tuple[Rule, ...] = (
    Rule("own-echo", "our own outbound mail came back (loop): discard", _own_echo),
    Rule("bounce", "delivery failure or delay report about our mail", _bounce),
    Rule(
        "machine-mail",
        "auto-reply, challenge-response, feedback report, receipt or list mail",
        _machine,
    ),
    Rule("spam", "upstream spam filter says spam: hold for a human", _spam),
    Rule("defective", "oversize or unreadable: hold for a human", _defective),
    Rule("accept", "human mail: go on to registration", _accept),
)


def screen(
    parsed: ParsedMail,
    envelope: Envelope | None,
    ctx: ScreeningContext,
    rules: tuple[Rule, ...] = RULES,
) -> Verdict:
    """Run the rule table; the first match decides, `hits` names every rule that matched.

    The default "accept" rule only counts as a hit when nothing else matched.
    """
    first: Verdict | None = None
    hits: list[str] = []
    for rule in rules:
        verdict = rule.check(parsed, envelope, ctx)
        if verdict is None:
            continue
        if rule.name == "accept" and first is not None:
            continue
        hits.append(rule.name)
        if first is None:
            first = verdict
    if first is None:  # a custom table without a default rule
        first = Verdict("accept", "accept", "no-rule-matched")
    return Verdict(first.action, first.rule, first.reason, first.machine, tuple(hits))
