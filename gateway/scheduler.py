"""The scheduler tick: reminders and escalations, the admin's digest of held and failed
mail (`gateway.alerts`), and the retention purge of personal data (lease recovery needs
no tick: the claim queries take expired leases by themselves).
`appeals tick` runs one tick (cron or a systemd timer); `appeals run` ticks every
`reminders.tick_seconds`."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from gateway.alerts import send_digest
from gateway.app import App
from routing.reminder_scan import ScanResult, scan
from routing.reminders import ReminderPlan
from routing.retention import Erased, purge
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
    purge_personal_data(app)
    return result


def purge_personal_data(app: App, limit: int = 500) -> Erased:
    """Retention (routing.retention): erase what is past its term, in one transaction."""
    with app.sessions.begin() as s:
        done = purge(s, app.clock.now(), app.retention_rules(), app.rawstore.erase, limit)
    if done:
        log.info(
            "retention: erased %d appeal(s), %d file(s), %d raw message(s), %d letter(s)",
            done.appeals,
            done.attachments,
            done.inbound,
            done.outbound,
        )
    return done
