"""Screening: the first decision about an inbound message, as one ordered table of rules.

Each rule is small, named and described; `screen` runs all of them, records every rule that
matched (the pipeline writes the hits into the message's event), and the first decisive
match wins. The order is the policy:

1. own-echo   – our own mail coming back (loop header, our Message-ID, our From): discard.
2. bounce     – delivery failures and delay warnings about our outbound mail: "bounce"
                (the pipeline marks the delivery failed; never acknowledged).
3. machine    – auto-replies, challenge-response, ARF feedback, read receipts:
                "autoreply" (attached to a matched appeal as an auto-reply, else discarded;
                never acknowledged, RFC 3834 §2).
4. bulk-mail  – list and bulk mail (Precedence: bulk/list, List-Id, List-Unsubscribe):
                not decisive. It marks the verdict (`Verdict.bulk`) and the rules below
                still decide; accepted bulk mail is handled as human mail that is never
                answered automatically (RFC 3834 §2), because people's letters reach us
                through lists and campaign tools.
5. spam       – the upstream filter's verdict: hold, never discard (a citizen's appeal
                misjudged as spam must stay recoverable; design invariant 2).
6. defective  – oversize, or so broken that nothing readable is left: hold with the reason.
7. accept     – everything else is treated as human mail.

Discarding is reserved for mail a machine wrote (design invariant 2): a doubtful human
message is held, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Literal

import saferegex
from routing.machine_mail import MachineMail, bulk_evidence, classify_machine_mail
from routing.mail import Address, Envelope, ParsedMail

Action = Literal["accept", "discard", "hold", "bounce", "autoreply"]


@dataclass(frozen=True)
class ScreeningContext:
    """What screening needs to know about this installation (mapped from settings).

    `our_addresses` are the gateway's own mailboxes, lower-case. `message_id_domain` is the
    right-hand side of the Message-IDs we generate. `known_outbound_message_id` answers
    "did we send a message with this Message-ID?" (an outbox lookup), when available.
    """

    our_addresses: frozenset[str] = frozenset()
    # Domains only the gateway sends from (the reply/bounce domain): From one of them is
    # our own mail, whatever the local part.
    our_domains: frozenset[str] = frozenset()
    message_id_domain: str = ""
    loop_header: str = "X-Appeal-Gateway"
    spam_flag_header: str = "X-Spam-Flag"
    spam_score_header: str = "X-Spam-Status"
    spam_threshold: float = 5.0
    max_size: int = 25 * 1024 * 1024
    known_outbound_message_id: Callable[[str], bool] | None = field(default=None, compare=False)
    # (loop header value, Message-ID) -> whether the header's MAC is ours (routing.tokens).
    # None: the header alone marks our mail (installations and tests without a key).
    loop_mark_valid: Callable[[str, str | None], bool] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Verdict:
    """The decision. `bulk` says why the message is list or bulk mail ("precedence:bulk"),
    None otherwise: whatever the action, such mail is never answered automatically."""

    action: Action
    rule: str
    reason: str
    machine: MachineMail | None = None
    hits: tuple[str, ...] = ()
    bulk: str | None = None


@dataclass(frozen=True)
class Rule:
    """One screening rule. `check` returns a Verdict when the rule matches, else None.

    A rule that is not `decisive` only marks the message: its match is listed in the hits
    and its reason kept (`Verdict.bulk`), and the next rules still decide."""

    name: str
    description: str
    check: Callable[[ParsedMail, Envelope | None, ScreeningContext], Verdict | None]
    decisive: bool = True


# --------------------------------------------------------------------------------------
# Addresses


_NO_REPLY_LOCAL = saferegex.compile(
    r"^(mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|(.*[-_.])?no[-_.]?reply"
    r"|do[-_.]?not[-_.]?reply|dont[-_.]?reply|(.*[-_.])?bounces?|(.*[-_.])?auto[-_.]?reply"
    r"|listserv|majordomo|.*-request|.*-owner|owner-.*)$",
    saferegex.IGNORECASE,
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


_MAILTO = saferegex.compile(r"<mailto:([^>?\s]+)", saferegex.IGNORECASE)
_LIST_ID = saferegex.compile(r"<([^<>\s]+)>\s*$")


def _list_addresses(parsed: ParsedMail) -> set[str]:
    """The list's own addresses: List-Post and the other RFC 2369 mailto: links, and the
    address a List-Id names (RFC 2919 ids are usually "<name>.<domain>" for
    name@domain)."""
    found = {
        m.group(1).lower()
        for name in ("list-post", "list-unsubscribe", "list-subscribe", "list-help", "list-owner")
        for value in parsed.header_all(name)
        for m in _MAILTO.finditer(value)
    }
    for value in parsed.header_all("list-id"):
        m = _LIST_ID.search(value)
        if m:
            found.add(m.group(1).lower())
    return found


def _is_list_address(email_addr: str, lists: set[str]) -> bool:
    e = email_addr.strip().lower()
    local, _, domain = e.rpartition("@")
    return e in lists or (bool(local) and f"{local}.{domain}" in lists)


def list_author(parsed: ParsedMail, ctx: ScreeningContext) -> Address | None:
    """The person who wrote a list or bulk message, or None when no person is named.

    Reply-To, then From, then the author headers a list adds when it rewrites From to its
    own address (Google Groups' X-Original-From / X-Original-Sender, for senders whose
    domain publishes a strict DMARC policy). The list itself, its robots and no-reply
    addresses are not an author: a digest or a newsletter has none, and an answer sent to
    a list address would publish a citizen's matter to all its members.
    """
    lists = _list_addresses(parsed)
    candidates: list[Address] = [a for a in (parsed.reply_to, parsed.from_addr) if a is not None]
    for name in ("x-original-from", "x-original-sender"):
        for display, addr in getaddresses(list(parsed.header_all(name))):
            if "@" in addr:
                local, domain = addr.rsplit("@", 1)
                candidates.append(Address(display, f"{local}@{domain.lower()}"))
    for cand in candidates:
        if not _is_list_address(cand.email, lists) and may_auto_reply_to(cand.email, ctx):
            return cand
    return None


# --------------------------------------------------------------------------------------
# Rules


_ID_DOMAIN = saferegex.compile(r"@([^>\s]+)")


def _message_id_domain(mid: str) -> str:
    m = _ID_DOMAIN.search(mid)
    return m.group(1).lower() if m else ""


def _own_echo(
    parsed: ParsedMail, envelope: Envelope | None, ctx: ScreeningContext
) -> Verdict | None:
    mark = parsed.header(ctx.loop_header) if ctx.loop_header else None
    if mark is not None and (
        ctx.loop_mark_valid is None or ctx.loop_mark_valid(mark, parsed.message_id)
    ):
        return Verdict("discard", "own-echo", "loop-header")
    mid = parsed.message_id or ""
    # A Message-ID on our domain is only a look: anyone can write one. Where our mail is
    # marked with a MAC (loop_mark_valid), the mark and our From decide (docs/security.md
    # T12); the look alone decides only where there is no mark to check.
    if (
        mid
        and ctx.loop_mark_valid is None
        and ctx.message_id_domain
        and _message_id_domain(mid) == ctx.message_id_domain.lower()
    ):
        return Verdict("discard", "own-echo", "our-message-id-domain")
    if mid and ctx.known_outbound_message_id is not None and ctx.known_outbound_message_id(mid):
        return Verdict("discard", "own-echo", "our-outbound-message-id")
    if parsed.from_addr is not None and is_our_address(parsed.from_addr.email, ctx):
        return Verdict("discard", "own-echo", "from-our-address")
    if parsed.from_addr is not None and _domain_of(parsed.from_addr.email) in ctx.our_domains:
        return Verdict("discard", "own-echo", "from-our-domain")
    return None


def _domain_of(addr: str) -> str:
    return addr.rsplit("@", 1)[-1].strip().strip(">").lower() if "@" in addr else ""


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
    if m is not None and m.kind not in ("bounce", "delay", "list"):
        return Verdict("autoreply", "machine-mail", f"{m.kind}:{m.reason}", m)
    return None


def _bulk(parsed: ParsedMail, envelope: Envelope | None, ctx: ScreeningContext) -> Verdict | None:
    evidence = bulk_evidence(parsed)
    if evidence is None:
        return None
    return Verdict("accept", "bulk-mail", evidence, bulk=evidence)


_SCORE = saferegex.compile(
    r"(?:^|[\s,;])(?:score|hits)\s*=\s*(-?\d+(?:\.\d+)?)", saferegex.IGNORECASE
)
_LEADING_NUMBER = saferegex.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*$")


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
        "auto-reply, challenge-response, feedback report or receipt",
        _machine,
    ),
    Rule(
        "bulk-mail",
        "list or bulk mail: never answered automatically, the next rules decide",
        _bulk,
        decisive=False,
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
    """Run the rule table; the first decisive match decides, `hits` names every rule that
    matched (marking rules included).

    The default "accept" rule only counts as a hit when no other decisive rule matched.
    """
    first: Verdict | None = None
    hits: list[str] = []
    bulk: str | None = None
    for rule in rules:
        verdict = rule.check(parsed, envelope, ctx)
        if verdict is None:
            continue
        if rule.name == "accept" and first is not None:
            continue
        hits.append(rule.name)
        if not rule.decisive:
            bulk = bulk or verdict.bulk or verdict.reason
            continue
        if first is None:
            first = verdict
    if first is None:  # a custom table without a default rule
        first = Verdict("accept", "accept", "no-rule-matched")
    return Verdict(first.action, first.rule, first.reason, first.machine, tuple(hits), bulk)
