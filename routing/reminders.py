"""The reminder plan: which steps an open appeal's department gets, and when. Pure.

For a due date D the plan is:
- `before-N` reminders on D-N for each N in `before_due_days` (`due-0` is the one on D);
- `overdue-K` reminders on D+K, D+2K, ... while the appeal is open (K = `overdue_every_days`);
- one `escalate-M` on D+M to the department head and the admin (M =
  `escalate_after_overdue_days`).

Steps are sent only inside the sending window (working hours, and working days when
`working_days_only`). A step that falls outside the window is sent at the next opening, never
skipped. Catch-up (after a weekend, a holiday or downtime): every pending escalation is sent,
but of several pending reminders of the same kind only the latest one goes out — "due in
1 day" after "due in 5 days" on the same morning would be noise, and the latest one carries
the current state. The steps it supersedes are not sent later. The scan records what was
sent per due date, so an extension starts a fresh plan.
"""

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

    def __post_init__(self) -> None:
        if self.overdue_every_days < 1 or self.escalate_after_overdue_days < 1:
            raise ValueError("overdue_every_days: it and escalate_after_overdue_days must be >= 1")
        if any(n < 0 for n in self.before_due_days):
            raise ValueError("before_due_days: days before the due date, none below 0")


@dataclass(frozen=True)
class ReminderStep:
    key: str  # stable within one due date: before-5, due-0, overdue-3, escalate-7
    kind: str  # reminder | overdue | escalation
    planned_for: date


def planned_steps(plan: ReminderPlan, due_date: date, until: date) -> list[ReminderStep]:
    """Every step of the plan for `due_date` planned on or before `until`, in date order."""
    steps = [
        ReminderStep("due-0" if n == 0 else f"before-{n}", "reminder", due_date - timedelta(days=n))
        for n in sorted(set(plan.before_due_days), reverse=True)
    ]
    k = plan.overdue_every_days
    while due_date + timedelta(days=k) <= until:
        steps.append(ReminderStep(f"overdue-{k}", "overdue", due_date + timedelta(days=k)))
        k += plan.overdue_every_days
    m = plan.escalate_after_overdue_days
    steps.append(ReminderStep(f"escalate-{m}", "escalation", due_date + timedelta(days=m)))
    return sorted((s for s in steps if s.planned_for <= until), key=lambda s: s.planned_for)


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
    """The steps to send now (empty outside the window), after the catch-up rule."""
    if not within_window(now, plan, cal, tz):
        return []
    today = now.astimezone(tz).date()
    planned = planned_steps(plan, due_date, today)
    # A step counts as done once a later step of its kind has been sent: the catch-up below
    # sends only the latest reminder of a kind, and the ones it passed over must not follow
    # on the next tick (they are not recorded, only superseded).
    last_sent = {s.kind: i for i, s in enumerate(planned) if s.key in already_sent}
    pending = [
        s
        for i, s in enumerate(planned)
        if s.key not in already_sent and (s.kind == "escalation" or i > last_sent.get(s.kind, -1))
    ]
    latest: dict[str, ReminderStep] = {}
    out = []
    for step in pending:
        if step.kind == "escalation":
            out.append(step)
        else:
            latest[step.kind] = step  # date order: the last one wins
    return out + list(latest.values())
