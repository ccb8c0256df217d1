"""Reminder plan (interim minimal version; replaced by the full pure module)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from routing.deadlines import WorkCalendar


@dataclass(frozen=True)
class ReminderPlan:
    before_due_days: tuple[int, ...] = (5, 1, 0)
    overdue_every_days: int = 3
    escalate_after_overdue_days: int = 7
    window_start: time = time(9, 0)
    window_end: time = time(18, 0)
    working_days_only: bool = True


@dataclass(frozen=True)
class ReminderStep:
    key: str
    kind: str
    planned_for: date


def planned_steps(plan: ReminderPlan, due_date: date, until: date) -> list[ReminderStep]:
    steps = [
        ReminderStep("due-0" if d == 0 else f"before-{d}", "reminder", due_date - timedelta(days=d))
        for d in plan.before_due_days
    ]
    n = plan.overdue_every_days
    while due_date + timedelta(days=n) <= until:
        steps.append(ReminderStep(f"overdue-{n}", "overdue", due_date + timedelta(days=n)))
        n += plan.overdue_every_days
    esc = due_date + timedelta(days=plan.escalate_after_overdue_days)
    steps.append(ReminderStep(f"escalate-{plan.escalate_after_overdue_days}", "escalation", esc))
    return [s for s in steps if s.planned_for <= until]


def within_window(now: datetime, plan: ReminderPlan, cal: WorkCalendar, tz: ZoneInfo) -> bool:
    local = now.astimezone(tz)
    if plan.working_days_only and not cal.is_working_day(local.date()):
        return False
    return plan.window_start <= local.time() < plan.window_end


def steps_due(
    plan: ReminderPlan,
    *,
    due_date: date,
    now: datetime,
    cal: WorkCalendar,
    tz: ZoneInfo,
    already_sent: set[str],
) -> list[ReminderStep]:
    if not within_window(now, plan, cal, tz):
        return []
    today = now.astimezone(tz).date()
    due = [s for s in planned_steps(plan, due_date, today) if s.key not in already_sent]
    # Catch-up: of the overdue steps only the latest one is sent.
    overdue = [s for s in due if s.kind == "overdue"]
    rest = [s for s in due if s.kind != "overdue"]
    before = [s for s in rest if s.kind == "reminder"]
    if before:
        rest = [s for s in rest if s.kind != "reminder"] + [
            max(before, key=lambda s: s.planned_for)
        ]
    return rest + ([max(overdue, key=lambda s: s.planned_for)] if overdue else [])
