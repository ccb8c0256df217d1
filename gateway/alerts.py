"""The admin's digest of mail that did not reach a normal end.

Every held inbound message (crashes included) and every letter that failed for good reaches
a person: the scheduler tick (`gateway.scheduler.tick`) sends `instance.admin_email` one
digest listing, for each, the sender, the subject, the reason and the exact `appeals`
command to act on it. At most one digest per `alerts.digest_every_minutes` (the time of
the last digest is the `created_at` of its outbox row); each lists what no digest has
listed yet (`alerted_at` on the rows, cleared by `routing.lifecycle.requeue_inbound`), at
most `alerts.digest_max_items`, and nothing is sent when nothing is new. The digest goes
through the outbox like every other letter. Letters to the admin that failed are left
out: the digest would go the same way, and would report its own failure for ever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from gateway.app import App
from gateway.intake.parsing import parse
from models import Appeal, InboundMessage, OutboundMessage

log = logging.getLogger(__name__)

KIND = "admin/held_digest"

# Held replies an admin gives to their appeal (or discards).
_REPLY_REASONS = frozenset(
    {
        "unmatched-reply",
        "unknown-sender",
        "bad-token",
        "department-via-citizen-token",
        "appeal-closed",
        "followup-needs-person",
        "followup-unthreaded",
        "followup-loop-guard",
    }
)
# Held because handling it failed: requeued once the cause is fixed.
_FAILED_REASONS = frozenset({"crash", "raw-missing", "unparseable"})


@dataclass(frozen=True)
class DigestResult:
    sent: bool
    held: int = 0
    failed: int = 0


def commands_for(reason: str, inbound_id: int, reg_no: str | None) -> list[str]:
    """The `appeals` commands that act on a held message, most likely first."""
    discard = f'appeals holding-pen discard {inbound_id} "<причина / reason>"'
    if reason == "answer-review":
        return [f"appeals holding-pen approve {inbound_id}", discard]
    if reason in _REPLY_REASONS:
        return [f"appeals holding-pen assign {inbound_id} {reg_no or '<REG-NO>'}", discard]
    if reason in _FAILED_REASONS:
        return [f"appeals holding-pen show {inbound_id}", f"appeals requeue {inbound_id}", discard]
    return [f"appeals holding-pen show {inbound_id}", discard]


def _sender_and_subject(app: App, inbound_id: int, envelope_sender: str) -> tuple[str, str]:
    """From and Subject as the message shows them, or the envelope sender when the bytes
    cannot be read (a message held as unparseable). Called with no session open: on
    SQLite every transaction takes the write lock, and reading the bytes opens another."""
    try:
        parsed = parse(app.ingest().raw(inbound_id))
    except Exception as exc:
        log.info("digest: inbound %d could not be read (%s)", inbound_id, type(exc).__name__)
        return envelope_sender, ""
    sender = str(parsed.from_addr) if parsed.from_addr else envelope_sender
    return sender, parsed.subject or ""


def _held_item(row: InboundMessage, reg_no: str | None, tz: ZoneInfo) -> dict[str, Any]:
    guesses = (row.info or {}).get("guesses") or []
    reg = reg_no or (guesses[0] if guesses else None)
    return {
        "id": row.id,
        "received": row.received_at.astimezone(tz).strftime("%d.%m.%Y %H:%M"),
        "sender": row.mail_from or "",  # until the message itself is read
        "subject": "",
        "reason": row.reason or "",
        "detail": (row.detail or "")[:300],
        "reg_no": reg_no or "",
        "commands": commands_for(row.reason or "", row.id, reg),
    }


def _failed_item(row: OutboundMessage, reg_no: str | None) -> dict[str, Any]:
    commands = [f"appeals appeal show {reg_no}"] if reg_no else []
    commands.append("appeals status")
    return {
        "id": row.id,
        "kind": row.kind,
        "recipients": ", ".join(row.failed_recipients or row.recipients or []),
        "subject": row.subject,
        "reason": (row.last_error or "")[:300],
        "reg_no": reg_no or "",
        "commands": commands,
    }


def send_digest(app: App) -> DigestResult:
    admin = app.settings.instance.admin_email
    cfg = app.settings.alerts
    if not admin:
        return DigestResult(False)
    now = app.clock.now()
    with app.sessions() as s:
        last = s.scalar(
            select(func.max(OutboundMessage.created_at)).where(OutboundMessage.kind == KIND)
        )
        if last is not None and now - last < timedelta(minutes=cfg.digest_every_minutes):
            return DigestResult(False)
        held_new = InboundMessage.state == "held", InboundMessage.alerted_at.is_(None)
        failed_new = (
            OutboundMessage.state == "failed",
            OutboundMessage.alerted_at.is_(None),
            OutboundMessage.audience != "admin",
        )
        held = list(
            s.scalars(
                select(InboundMessage)
                .where(*held_new)
                .order_by(InboundMessage.id)
                .limit(cfg.digest_max_items)
            )
        )
        failed = list(
            s.scalars(
                select(OutboundMessage)
                .where(*failed_new)
                .order_by(OutboundMessage.id)
                .limit(cfg.digest_max_items - len(held))
            )
        )
        if not held and not failed:
            return DigestResult(False)
        more_held = (s.scalar(select(func.count()).where(*held_new)) or 0) - len(held)
        more_failed = (s.scalar(select(func.count()).where(*failed_new)) or 0) - len(failed)
        appeal_ids = {r.appeal_id for r in held} | {r.appeal_id for r in failed}
        reg_nos: dict[int | None, str] = {
            appeal_id: reg_no
            for appeal_id, reg_no in s.execute(
                select(Appeal.id, Appeal.reg_no).where(
                    Appeal.id.in_([i for i in appeal_ids if i is not None])
                )
            )
        }
        tz = ZoneInfo(app.settings.deadlines.timezone)
        held_items = [_held_item(r, reg_nos.get(r.appeal_id), tz) for r in held]
        failed_items = [_failed_item(r, reg_nos.get(r.appeal_id)) for r in failed]
        held_ids = [r.id for r in held]
        failed_ids = [r.id for r in failed]
    for item in held_items:
        item["sender"], item["subject"] = _sender_and_subject(app, item["id"], item["sender"])
    with app.sessions.begin() as s:
        app.notifier(s).add(
            KIND,
            to=[admin],
            context={
                "instance": {
                    "name": app.settings.instance.name,
                    "name_en": app.settings.instance.name_en,
                },
                "held": held_items,
                "failed": failed_items,
                "more_held": max(more_held, 0),
                "more_failed": max(more_failed, 0),
                "since": last.astimezone(tz).strftime("%d.%m.%Y %H:%M") if last else "",
            },
            appeal_id=None,
            language=app.settings.instance.default_language,
        )
        for row in s.scalars(select(InboundMessage).where(InboundMessage.id.in_(held_ids))):
            row.alerted_at = now
        for out in s.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(failed_ids))):
            out.alerted_at = now
    log.info("digest: %d held and %d failed message(s) to the admin", len(held), len(failed))
    app.wakeup_sender.set()
    return DigestResult(True, len(held), len(failed))
