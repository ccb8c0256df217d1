"""The pure reminder plan: steps, window, catch-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.deadlines import DeadlineRules, WorkCalendar
from routing.reminders import ReminderPlan, planned_steps, steps_due, steps_now, within_window

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
        keys(steps_due(PLAN, due_date=DUE, now=when, cal=CAL, tz=KYIV, recorded=set())) == expected
    )


def test_already_sent_steps_are_not_repeated() -> None:
    now = at(DUE, 10)
    first = steps_due(
        PLAN, due_date=DUE, now=now, cal=CAL, tz=KYIV, recorded={"before-5", "before-1"}
    )
    assert keys(first) == ["due-0"]
    assert (
        steps_due(
            PLAN,
            due_date=DUE,
            now=now,
            cal=CAL,
            tz=KYIV,
            recorded={"before-5", "before-1", "due-0"},
        )
        == []
    )


def test_catch_up_sends_only_the_latest_overdue_step_and_every_escalation() -> None:
    # Back after seven days away: the reminders before the due date have no point any
    # more, overdue-6 supersedes overdue-3, and the escalation goes out. Nothing says
    # "-7 days left".
    now = at(date(2026, 12, 16), 10)
    got = steps_now(PLAN, due_date=DUE, now=now, cal=CAL, tz=KYIV, recorded=set())
    assert sorted(keys(got.send)) == ["escalate-7", "overdue-6"]
    assert sorted(keys(got.skip)) == ["before-1", "before-5", "due-0", "overdue-3"]


@pytest.mark.parametrize(
    ("when", "send", "skip"),
    [
        # Back on the due date: before-5 and before-1 are superseded by due-0.
        pytest.param(at(DUE, 10), ["due-0"], ["before-5", "before-1"], id="on-the-due-date"),
        # Back two days before: before-5 still tells the truth ("2 days left") and goes.
        pytest.param(at(date(2026, 12, 7), 10), ["before-5"], [], id="before-5-late-but-valid"),
        # The day after: no reminder of the before-due kind at all, and no overdue yet.
        pytest.param(
            at(date(2026, 12, 10), 10),
            [],
            ["before-5", "before-1", "due-0"],
            id="day-after-due-nothing-late",
        ),
        pytest.param(at(date(2026, 12, 5), 10), [], [], id="outside-the-window-nothing-decided"),
    ],
)
def test_steps_whose_time_has_passed_are_skipped(
    when: datetime, send: list[str], skip: list[str]
) -> None:
    got = steps_now(PLAN, due_date=DUE, now=when, cal=CAL, tz=KYIV, recorded=set())
    assert (keys(got.send), keys(got.skip)) == (send, skip)


def test_recorded_steps_are_neither_sent_nor_skipped_again() -> None:
    now = at(date(2026, 12, 16), 10)
    first = steps_now(PLAN, due_date=DUE, now=now, cal=CAL, tz=KYIV, recorded=set())
    done = set(keys(first.send)) | set(keys(first.skip))
    later = steps_now(
        PLAN, due_date=DUE, now=now + timedelta(hours=1), cal=CAL, tz=KYIV, recorded=done
    )
    assert (later.send, later.skip) == ([], [])
    # The plan goes on after the catch-up: the next overdue step comes three days later.
    got = steps_due(
        PLAN, due_date=DUE, now=at(date(2026, 12, 18), 10), cal=CAL, tz=KYIV, recorded=done
    )
    assert keys(got) == ["overdue-9"]


def test_steps_recorded_before_skips_existed_are_still_not_sent() -> None:
    # Rows written before `skipped` was recorded: only the sent steps are there. The
    # earlier ones are superseded by them and skipped, never sent.
    now = at(date(2026, 12, 18), 10)
    got = steps_now(
        PLAN, due_date=DUE, now=now, cal=CAL, tz=KYIV, recorded={"due-0", "overdue-6", "escalate-7"}
    )
    assert keys(got.send) == ["overdue-9"]
    assert keys(got.skip) == ["before-5", "before-1", "overdue-3"]


def test_window_on_weekend_when_working_days_only_is_off() -> None:
    plan = ReminderPlan(working_days_only=False)
    assert within_window(at(date(2026, 12, 5), 10), plan, CAL, KYIV)
    assert not within_window(at(date(2026, 12, 5), 10), PLAN, CAL, KYIV)
