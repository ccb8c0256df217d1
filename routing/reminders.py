"""The reminder plan: which steps an open appeal's department gets, and when. Pure.

For a due date D the plan is:
- `before-N` reminders on D-N for each N in `before_due_days` (`due-0` is the one on D);
- `overdue-K` reminders on D+K, D+2K, ... while the appeal is open (K = `overdue_every_days`);
- one `escalate-M` on D+M to the department head and the admin (M =
  `escalate_after_overdue_days`).

Steps are sent only inside the sending window (working hours, and working days when
`working_days_only`). A step that falls outside the window is sent at the next opening,
unless its time has passed by then. Catch-up (after a weekend, a holiday or downtime) never
sends a step late:
- a reminder before the due date (`before-N`, `due-0`) is pointless once the date has gone:
  "N days left" with N below zero tells the department nothing the overdue reminder does
  not; after the due date it is skipped;
- of several reminders of the same kind only the latest one goes out — "due in 1 day" after
  "due in 5 days" on the same morning would be noise, and the latest one carries the current
  state; the earlier ones are skipped;
- every pending escalation is sent.
Skipped steps are recorded like sent ones (`StepsNow.skip`), so no later tick sends them.
The scan records steps per due date, so an extension starts a fresh plan.

`next_step_at` is when the plan next has something to do after today: the opening of the
window on the first sending day on or after the next planned step. The scan stores it per
appeal, so a tick reads only the appeals whose time has come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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


@dataclass(frozen=True)
class StepsNow:
    """What to do now: steps to send, and steps whose time has passed, to record as
    skipped so that no later tick sends them."""

    send: list[ReminderStep]
    skip: list[ReminderStep]


def steps_now(
    plan: ReminderPlan,
    *,
    due_date: date,
    now: datetime,
    cal: WorkCalendar,
    tz: ZoneInfo,
    recorded: set[str],
) -> StepsNow:
    """The steps to send now and the ones to skip (both empty outside the window), given
    the step keys already recorded (sent or skipped) for this due date."""
    if not within_window(now, plan, cal, tz):
        return StepsNow([], [])
    today = now.astimezone(tz).date()
    planned = planned_steps(plan, due_date, today)
    # The latest planned step of each kind: an earlier one of its kind is superseded,
    # whether the latest is still pending or was sent on an earlier tick.
    latest = {s.kind: s.key for s in planned}
    send: list[ReminderStep] = []
    skip: list[ReminderStep] = []
    for step in planned:
        if step.key in recorded:
            continue
        if step.kind == "escalation":
            send.append(step)
        elif step.kind == "reminder" and today > due_date:
            skip.append(step)  # a reminder before the due date, after it
        elif latest[step.kind] != step.key:
            skip.append(step)  # superseded by a later step of its kind
        else:
            send.append(step)
    return StepsNow(send, skip)


def steps_due(
    plan: ReminderPlan,
    *,
    due_date: date,
    now: datetime,
    cal: WorkCalendar,
    tz: ZoneInfo,
    recorded: set[str],
) -> list[ReminderStep]:
    """The steps to send now (`steps_now(...).send`)."""
    return steps_now(plan, due_date=due_date, now=now, cal=cal, tz=tz, recorded=recorded).send


def next_step_date(plan: ReminderPlan, due_date: date, today: date) -> date:
    """The first day after `today` on which the plan for `due_date` has a step. There is
    always one: overdue reminders repeat while the appeal is open."""
    candidates = [due_date - timedelta(days=n) for n in plan.before_due_days]
    escalation = due_date + timedelta(days=plan.escalate_after_overdue_days)
    candidates.append(escalation)
    k = plan.overdue_every_days
    # The first overdue step after today: due + k*K with k >= 1.
    behind = (today - due_date).days
    multiple = max(1, behind // k + 1)
    candidates.append(due_date + timedelta(days=multiple * k))
    return min(d for d in candidates if d > today)


def next_step_at(
    plan: ReminderPlan, *, due_date: date, today: date, cal: WorkCalendar, tz: ZoneInfo
) -> datetime:
    """When `steps_now` next has something to send or skip for an appeal whose steps up to
    `today` are all done: the window's opening on the first sending day on or after the
    next step's day (a step on a weekend waits for Monday, where catch-up decides)."""
    day = next_step_date(plan, due_date, today)
    while plan.working_days_only and not cal.is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, plan.window_start, tzinfo=tz).astimezone(UTC)
