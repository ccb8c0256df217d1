"""The scheduler tick: reminders and escalations (and lease recovery, which the claim
queries already do by themselves). `appeals tick` runs one tick (cron or a systemd
timer); `appeals run` ticks every `reminders.tick_seconds`."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from gateway.app import App
from routing.pipeline import appeal_view
from routing.reminder_scan import ScanResult, scan
from routing.reminders import ReminderPlan

log = logging.getLogger(__name__)


def reminder_plan(app: App) -> ReminderPlan:
    r = app.settings.reminders
    return ReminderPlan(
        before_due_days=tuple(r.before_due_days),
        overdue_every_days=r.overdue_every_days,
        escalate_after_overdue_days=r.escalate_after_overdue_days,
        window_start=r.window_start,
        window_end=r.window_end,
        working_days_only=r.working_days_only,
    )


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
        log.info("tick: %d candidate(s), %d reminder(s) queued", result.scanned, result.sent)
        app.wakeup_sender.set()
    return result
