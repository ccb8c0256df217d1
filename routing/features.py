"""What the classifier and the router read from a message: its recipients, its text without
quoted history, the district it names and the context features. Built by one function
each, used by registration, by `appeals check-message` and by training, so that the three
always see the same thing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from classifier.context import Context
from routing.departments import RoutingConfig
from routing.mail import Envelope, ParsedMail
from routing.quotes import split_reply
from routing.streets import (
    AddressResolver,
    LearnedStreets,
    Resolution,
    StreetRegister,
)


def all_recipients(parsed: ParsedMail, envelope: Envelope) -> list[str]:
    """Envelope recipients first, then the header ones, de-duplicated, lower-cased."""
    seen: dict[str, None] = {}
    for a in envelope.rcpt_tos:
        seen.setdefault(a.strip().lower(), None)
    for name in ("delivered-to", "x-original-to"):
        for v in parsed.header_all(name):
            seen.setdefault(v.strip().strip("<>").lower(), None)
    for addr in (*parsed.to, *parsed.cc):
        seen.setdefault(addr.email.lower(), None)
    return list(seen)


# An attached message is shown whole, but a forwarded archive of a whole thread or an
# Outlook item with a pasted report should not make the appeal text unbounded.
MAX_ATTACHED_TEXT = 20000


def model_text(parsed: ParsedMail) -> str:
    """What the classifier reads: the subject, the whole text and attached messages."""
    return f"{parsed.subject}\n{parsed.text}\n{attached_messages_text(parsed)}".strip()


def attached_messages_text(parsed: ParsedMail) -> str:
    """The messages attached to the letter (a message/rfc822 part, an Outlook .msg), each
    with its sender, date and subject: citizens forward a utility's answer or an earlier
    letter "as attachment" and write little or nothing themselves."""
    blocks = []
    for fwd in parsed.forwarded:
        text = fwd.text.strip()
        if len(text) > MAX_ATTACHED_TEXT:
            text = text[:MAX_ATTACHED_TEXT].rstrip() + "\n[...]"
        head = [
            f"{label} {value}"
            for label, value in (("Від:", fwd.from_), ("Дата:", fwd.date), ("Тема:", fwd.subject))
            if value
        ]
        blocks.append(
            f"----- Вкладений лист ({fwd.filename}) -----\n"
            + "\n".join(head)
            + (f"\n\n{text}" if text else "")
            + "\n----- Кінець вкладеного листа -----"
        )
    return "\n\n".join(blocks)


def appeal_text(parsed: ParsedMail) -> tuple[str, str]:
    """(body, text): the appeal's new text without quoted history (people forward earlier
    correspondence), and the same with its signature, which the fingerprint leaves out,
    followed by the messages attached to the letter."""
    parts = split_reply(parsed.text, parsed.html)
    body = parts.new_text.strip()
    text = "\n\n".join(x for x in (body, parts.signature.strip()) if x) or parsed.text.strip()
    attached = attached_messages_text(parsed)
    return body, "\n\n".join(x for x in (text, attached) if x)


def appeal_district(
    address: str | None,
    text: str,
    cfg: RoutingConfig,
    learned: LearnedStreets | None = None,
) -> Resolution:
    """The district of the citizen's address (or of a street the text names), by the
    council's street register, then by what history taught (`learned`), then a district
    the letter names as a district. A resolution under `min_district_confidence` names no
    district, but keeps how it was reached for the event log."""
    resolver = cfg.resolver or AddressResolver(StreetRegister(), cfg.districts)
    found = resolver.resolve(text, address, learned)
    if found.district is not None and found.confidence < cfg.min_district_confidence:
        return Resolution(None, found.confidence, f"unsure-{found.how}", found.street, found.house)
    return found


def routing_context(
    district: str | None, repeat_status: str | None, received_at: datetime, timezone: str
) -> Context:
    """What a context-trained model reads besides the text. The worker builds it when it
    routes and training builds it from the stored appeal, so the two always agree."""
    return Context(
        district=district,
        repeat=repeat_status == "repeated",
        month=received_at.astimezone(ZoneInfo(timezone)).month,
    )
