"""The pure reminder plan: steps, window, catch-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.deadlines import DeadlineRules, WorkCalendar
from routing.reminders import ReminderPlan, planned_steps, steps_due, within_window

KYIV = ZoneInfo("Europe/Kyiv")
CAL = WorkCalendar(DeadlineRules())
PLAN = ReminderPlan()
DUE = date(2026, 12, 9)  # a Wednesday


def at(d: date, hour: int) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=KYIV).astimezone(UTC)


def keys(steps: list) -> list[str]:
    return [s.key for s in steps]


def test_planned_steps_in_order() -> None:
    steps = planned_steps(PLAN, DUE, date(2026, 12, 20))
    assert keys(steps) == [
        "before-5",
        "before-1",
        "due-0",
        "overdue-3",
        "overdue-6",
        "escalate-7",
        "overdue-9",
    ]
    assert steps[0].planned_for == date(2026, 12, 4)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        pytest.param(at(date(2026, 12, 4), 10), ["before-5"], id="on-its-day"),
        pytest.param(at(date(2026, 12, 4), 8), [], id="before-the-window-opens"),
        pytest.param(at(date(2026, 12, 4), 18), [], id="after-the-window-closes"),
        pytest.param(at(date(2026, 12, 5), 10), [], id="saturday-nothing"),
        pytest.param(at(date(2026, 12, 3), 10), [], id="none-early"),
    ],
)
def test_steps_due_respects_day_and_window(when: datetime, expected: list[str]) -> None:
    assert (
        keys(steps_due(PLAN, due_date=DUE, now=when, cal=CAL, tz=KYIV, already_sent=set()))
        == expected
    )


def test_already_sent_steps_are_not_repeated() -> None:
    now = at(DUE, 10)
    first = steps_due(
        PLAN, due_date=DUE, now=now, cal=CAL, tz=KYIV, already_sent={"before-5", "before-1"}
    )
    assert keys(first) == ["due-0"]
    assert (
        steps_due(
            PLAN,
            due_date=DUE,
            now=now,
            cal=CAL,
            tz=KYIV,
            already_sent={"before-5", "before-1", "due-0"},
        )
        == []
    )


def test_catch_up_sends_only_the_latest_reminder_but_every_escalation() -> None:
    # Back after ten days away: due-0 supersedes before-5/before-1, overdue-6 supersedes
    # overdue-3, and the escalation goes out.
    now = at(date(2026, 12, 16), 10)
    got = keys(steps_due(PLAN, due_date=DUE, now=now, cal=CAL, tz=KYIV, already_sent=set()))
    assert sorted(got) == ["due-0", "escalate-7", "overdue-6"]


def test_steps_passed_over_by_catch_up_do_not_follow_on_the_next_tick() -> None:
    now = at(date(2026, 12, 16), 10)
    first = keys(steps_due(PLAN, due_date=DUE, now=now, cal=CAL, tz=KYIV, already_sent=set()))
    later = now + timedelta(hours=1)
    assert steps_due(PLAN, due_date=DUE, now=later, cal=CAL, tz=KYIV, already_sent=set(first)) == []
    # The plan goes on after the catch-up: the next overdue step comes three days later.
    got = steps_due(
        PLAN,
        due_date=DUE,
        now=at(date(2026, 12, 18), 10),
        cal=CAL,
        tz=KYIV,
        already_sent=set(first),
    )
    assert keys(got) == ["overdue-9"]


def test_window_on_weekend_when_working_days_only_is_off() -> None:
    plan = ReminderPlan(working_days_only=False)
    assert within_window(at(date(2026, 12, 5), 10), plan, CAL, KYIV)
    assert not within_window(at(date(2026, 12, 5), 10), PLAN, CAL, KYIV)
