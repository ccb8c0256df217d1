"""The scheduler tick: reminders and escalations, the admin's digest of held and failed
mail (`gateway.alerts`), and the retention purge of raw mail (lease recovery needs no
tick: the claim queries take expired leases by themselves).
`appeals tick` runs one tick (cron or a systemd timer); `appeals run` ticks every
`reminders.tick_seconds`."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from gateway.alerts import send_digest
from gateway.app import App
from routing.reminder_scan import ScanResult, scan
from routing.reminders import ReminderPlan
from routing.views import appeal_view

log = logging.getLogger(__name__)


def reminder_plan(app: App) -> ReminderPlan:
    return app.settings.reminders


def tick(app: App) -> ScanResult:
    cfg = app.pipeline_config()
    result = scan(
        app.sessions,
        app.clock,
        reminder_plan(app),
        app.calendar(),
        ZoneInfo(app.settings.deadlines.timezone),
        app.notifier,
        view=lambda a: appeal_view(a, a.department, cfg),
        admin_email=app.settings.instance.admin_email,
    )
    if result.sent:
        log.info(
            "tick: %d candidate(s), %d reminder(s) queued, %d skipped",
            result.scanned,
            result.sent,
            result.skipped,
        )
        app.wakeup_sender.set()
    try:
        send_digest(app)
    except Exception:
        # Reminders and the purge must not stop because the digest failed; the next tick
        # tries again (the items stay unlisted until a digest is queued).
        log.exception("tick: the admin's digest failed")
    purge_raw(app)
    return result


def purge_raw(app: App, limit: int = 1000) -> int:
    """Retention: erase raw messages older than `retention.raw_days` (personal data is kept
    only as long as needed to consider the appeal). Rows stay, marked `erased_at`; message
    bytes shared by a newer row (the same sha256) are never erased early."""
    from datetime import timedelta

    from sqlalchemy import select

    from models import InboundMessage

    cutoff = app.clock.now() - timedelta(days=app.settings.retention.raw_days)
    erased = 0
    with app.sessions.begin() as s:
        rows = list(
            s.scalars(
                select(InboundMessage)
                .where(
                    InboundMessage.received_at < cutoff,
                    InboundMessage.erased_at.is_(None),
                    InboundMessage.state.in_(("processed", "discarded")),
                )
                .order_by(InboundMessage.id)
                .limit(limit)
            )
        )
        for row in rows:
            app.rawstore.erase(row.raw_sha256)
            row.raw_pending = None  # in case the worker never got to write the file
            row.erased_at = app.clock.now()
            erased += 1
    if erased:
        log.info("retention: erased %d raw message(s)", erased)
    return erased
