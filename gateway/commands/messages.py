"""Read-only views for admins: a dry run of one message, the status board, requeue.

`check_message` has no side effects: it parses, screens, classifies and routes in memory
and writes nothing, so an admin can see why a message was (or would be) handled as it was,
and how it travelled (the Received chain read by mail-parser, with each hop's delay: when
a citizen says they wrote before a deadline, the hop into the council's MTA is the
receipt that counts).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select

from gateway.app import App
from gateway.intake.parsing import parse
from models import Appeal, InboundMessage, MailboxCursor, OutboundMessage
from routing import street_learning
from routing.citizen import extract_citizen
from routing.departments import decide_route
from routing.features import (
    all_recipients,
    appeal_district,
    appeal_text,
    model_text,
    routing_context,
)
from routing.lifecycle import requeue_inbound
from routing.mail import Envelope
from routing.numbering import detect_kind
from routing.screening import screen


def parse_summary(parsed: Any) -> dict[str, Any]:
    try:
        from gateway.intake.parsing import to_dict  # richer summary when the parser provides one

        return to_dict(parsed)
    except ImportError:
        return {
            "charset": parsed.charset,
            "subject": parsed.subject,
            "from": str(parsed.from_addr) if parsed.from_addr else None,
            "text": parsed.text[:2000],
            "attachments": [
                {"name": a.filename, "type": a.content_type, "size": a.size, "sha256": a.sha256}
                for a in parsed.attachments
            ],
            "defects": list(parsed.defects),
        }


# A dry run for an admin, not the worker's path: the chain is bounded so that a letter with
# thousands of forged Received lines cannot keep the command busy.
_MAX_HOPS = 30
_MAX_RECEIVED_CHARS = 1000


def delivery_path(received: tuple[str, ...]) -> list[dict[str, Any]]:
    """The Received chain (RFC 5321 §4.4), the oldest hop first, as mail-parser reads it:
    from, by, with, id, the hop's date in UTC and its delay after the previous hop. A
    chain mail-parser cannot read is reported as such, never an error of the command."""
    if not received:
        return []
    from mailparser.utils import receiveds_parsing  # only this command needs it

    chain = [value[:_MAX_RECEIVED_CHARS] for value in received[:_MAX_HOPS]]
    try:
        hops = receiveds_parsing(chain)
    except Exception as exc:  # mail-parser's own reading of a broken chain
        return [{"error": f"Received chain not readable: {type(exc).__name__}"}]
    keep = ("hop", "from", "by", "with", "id", "date_utc", "delay")
    return [{k: hop[k] for k in keep if k in hop} for hop in hops]


def check_message(app: App, raw: bytes) -> dict[str, Any]:
    try:
        parsed = parse(raw)
    except Exception as exc:
        return {"parse": {"error": f"{type(exc).__name__}: {exc}"}}
    cfg = app.pipeline_config()
    env = Envelope(source="check", mail_from=None, rcpt_tos=())
    verdict = screen(parsed, env, cfg.screening)
    report: dict[str, Any] = {
        "parse": parse_summary(parsed),
        "delivery": delivery_path(parsed.header_all("received")),
        "screening": {
            "action": verdict.action,
            "rule": verdict.rule,
            "reason": verdict.reason,
            "hits": list(verdict.hits),
        },
    }
    recipients = all_recipients(parsed, env)
    kind, how = detect_kind(parsed.text, parsed.subject, recipients, cfg.registration)
    report["kind"] = {"kind": kind, "by": how}
    _, text = appeal_text(parsed)
    citizen = extract_citizen(parsed, text)
    # What registration would record, with how each value was found (the admin's own file:
    # this goes to the terminal, never to a log).
    report["citizen"] = {
        "name": citizen.name,
        "address": citizen.address,
        "phones": list(citizen.phones),
        "location": citizen.location,
        "evidence": {k: asdict(e) for k, e in citizen.evidence.items()},
    }
    with app.sessions() as session:
        found = appeal_district(
            citizen.address,
            text,
            cfg.routing,
            learned=lambda keys: street_learning.observations(session, keys),
        )
    district = found.district
    report["district"] = {"district": district, "by": found.how, "confidence": found.confidence}
    # A dry run does not look up the citizen's earlier appeals: "repeat" is assumed false.
    context = routing_context(district, None, parsed.date or app.clock.now(), cfg.timezone)
    report["context"] = asdict(context)
    prediction = app.classify(model_text(parsed), context)
    report["prediction"] = asdict(prediction) if prediction else None
    with app.sessions() as session:
        decision = decide_route(session, recipients, prediction, cfg.routing, district, kind)
    report["routing"] = asdict(decision)
    return report


def status(app: App) -> dict[str, Any]:
    with app.sessions() as s:
        inbound = dict(
            s.execute(
                select(InboundMessage.state, func.count()).group_by(InboundMessage.state)
            ).all()
        )
        held = dict(
            s.execute(
                select(InboundMessage.reason, func.count())
                .where(InboundMessage.state == "held")
                .group_by(InboundMessage.reason)
            ).all()
        )
        oldest = s.scalar(
            select(func.min(InboundMessage.received_at)).where(
                InboundMessage.state.in_(("received", "processing"))
            )
        )
        outbound = dict(
            s.execute(
                select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)
            ).all()
        )
        appeals = dict(s.execute(select(Appeal.state, func.count()).group_by(Appeal.state)).all())
        failures = [
            {"id": o.id, "kind": o.kind, "attempts": o.attempts, "error": o.last_error}
            for o in s.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.state == "failed")
                .order_by(OutboundMessage.id.desc())
                .limit(10)
            )
        ]
        mailboxes = [
            {
                "name": c.name,
                "last_uid": c.last_uid,
                "failures": c.failures,
                "last_error": c.last_error,
                "last_success_at": c.last_success_at,
            }
            for c in s.scalars(select(MailboxCursor))
        ]
    return {
        "inbound": inbound,
        "held_by_reason": held,
        "queue": {
            "unprocessed": inbound.get("received", 0) + inbound.get("processing", 0),
            "oldest_unprocessed": oldest,
            "outbox_pending": outbound.get("queued", 0) + outbound.get("sending", 0),
        },
        "outbound": outbound,
        "appeals": appeals,
        "outbox_failures": failures,
        "mailboxes": mailboxes,
    }


def requeue(app: App, inbound_id: int) -> bool:
    with app.sessions.begin() as s:
        row = s.get(InboundMessage, inbound_id)
        if row is None or row.state not in ("held", "discarded") or row.erased_at is not None:
            return False
        requeue_inbound(row)
    app.wakeup_worker.set()
    return True
