"""90 simulated days, 1,000 appeals of mixed kinds with extensions and answers, an injected
clock: every planned reminder is done exactly once (sent, or skipped because its time had
passed), none early, none missed, none sent late, none for an answered appeal; the same
with two schedulers at once on PostgreSQL.

The checks read only what the scheduler recorded (reminder_sent rows, outbox rows) and the
appeals' own timeline: every step is recorded by the first sending window after it fell
due; a sent one is in its time (no reminder before the due date sent after it, no step sent
when a later one of its kind was already due); a skipped one had passed (a before-due
reminder after the due date, or a later step of its kind due by then); escalations are
never skipped.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from gateway.clock import ManualClock
from gateway.scheduler import reminder_plan, tick
from models import Appeal, Department, OutboundMessage, ReminderSent
from routing.deadlines import ExtensionRefused, base_term, compute_due, extend
from routing.lifecycle import plan_reminders_again
from routing.reminders import planned_steps, within_window

KYIV = ZoneInfo("Europe/Kyiv")
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # Monday
DAYS = 90
N = 1000
TICKS_UTC = ((5, 30), (10, 0), (13, 0), (16, 45))  # the first and last outside the window


def _seed(app: Any, rng: random.Random) -> dict[int, dict[str, Any]]:
    """Appeals and their scripted futures: answer day, extension day and length."""
    cal = app.calendar()
    with app.sessions() as s:
        depts = [d.id for d in s.scalars(select(Department))]
    rows, script = [], {}
    for i in range(N):
        received = START + timedelta(days=rng.uniform(0, 25), hours=rng.uniform(0, 14))
        kind = "info_request" if rng.random() < 0.3 else "appeal"
        due = compute_due(kind, received, cal, urgent=kind == "info_request" and rng.random() < 0.1)
        rows.append(
            dict(
                id=i + 1,
                reg_no=f"S-{i + 1}",
                reg_year=2026,
                reg_seq=i + 1,
                kind=kind,
                urgent=False,
                received_at=received,
                receipt_date=due.receipt_date,
                due_date=due.due_date,
                due_at=None,
                state="routed",
                # As routing.lifecycle.new_appeal stores it: the first tick plans it.
                next_reminder_at=received,
                department_id=rng.choice(depts),
                language="uk",
                subject=f"Тема {i}",
                text="Текст",
                repeat_status="primary",
                collective=False,
                signatories=1,
                anonymous=False,
                priority=0,
                extended_days=0,
                delivery_failed=False,
                mass_group=None,
                flags={},
                citizen_email=f"c{i}@example.org",
            )
        )
        fate = rng.random()
        answer_day = (received + timedelta(days=rng.uniform(1, 45))).date() if fate < 0.45 else None
        extend_day = None
        if 0.45 <= fate < 0.65:
            extend_day = due.due_date - timedelta(days=rng.randint(0, 6))
        script[i + 1] = {
            "answer": answer_day,
            "extend": extend_day,
            "extend_by": rng.randint(5, 15),
        }
    with app.sessions.begin() as s:
        s.execute(insert(Appeal), rows)
    return script


def _apply_script(
    app: Any,
    script: dict[int, dict[str, Any]],
    today: date,
    timeline: dict[int, list[tuple[date, date | None]]],
    now: datetime,
) -> None:
    todays = [aid for aid, plan in script.items() if today in (plan["answer"], plan["extend"])]
    cal = app.calendar()
    with app.sessions.begin() as s:
        for aid in todays:
            plan = script[aid]
            a = s.get(Appeal, aid)
            if a.state != "routed":
                continue
            if plan["extend"] == today:
                # What a staff `#extend` does (routing.answers), refusals included.
                try:
                    new_due = extend(
                        a.kind,
                        a.receipt_date,
                        a.due_date,
                        plan["extend_by"],
                        cal,
                        requested_on=today,
                        term_so_far=base_term(a.kind, cal.rules) + a.extended_days,
                    )
                except ExtensionRefused:
                    new_due = None
                if new_due is not None:
                    timeline[aid].append((today, new_due))
                    a.due_date = new_due
                    a.extended_days += plan["extend_by"]
                    plan_reminders_again(a, now)
            if plan["answer"] == today:
                a.state, a.closed_at = "closed", now
                timeline[aid].append((today, None))


def _run(apps: list[Any], clock: ManualClock, script: dict[int, dict[str, Any]]) -> dict[int, list]:
    timeline: dict[int, list[tuple[date, date | None]]] = defaultdict(list)
    with apps[0].sessions() as s:
        for a in s.scalars(select(Appeal)):
            timeline[a.id].append((a.received_at.astimezone(KYIV).date(), a.due_date))
    for day in range(DAYS):
        d = (START + timedelta(days=day)).date()
        for hour, minute in TICKS_UTC:
            clock.set(datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC))
            if (hour, minute) == (10, 0):
                _apply_script(
                    apps[0], script, clock.now().astimezone(KYIV).date(), timeline, clock.now()
                )
            if len(apps) == 1:
                tick(apps[0])
            else:
                threads = [threading.Thread(target=tick, args=(app,)) for app in apps]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
    return timeline


def _superseded(step: Any, on: date, steps: list[Any]) -> bool:
    """A later step of the same kind was due by `on`."""
    return any(o.kind == step.kind and step.planned_for < o.planned_for <= on for o in steps)


def _check(app: Any, timeline: dict[int, list[tuple[date, date | None]]]) -> dict[str, int]:
    plan = reminder_plan(app)
    cal = app.calendar()
    end = (START + timedelta(days=DAYS - 1)).astimezone(KYIV).date()
    with app.sessions() as s:
        rows = [
            (r.appeal_id, r.step_key, r.sent_at, r.skipped) for r in s.scalars(select(ReminderSent))
        ]
        out_count = len(
            [o for o in s.scalars(select(OutboundMessage)) if o.kind != "department/digest"]
        )
    # Exactly once: one row per (appeal, key) -- the unique key -- and one message per row
    # that was sent; skipped rows have none.
    assert len({(a, k) for a, k, _, _ in rows}) == len(rows)
    sent_rows = [r for r in rows if not r[3]]
    assert out_count == len(sent_rows), (out_count, len(sent_rows))
    done: dict[int, dict[str, tuple[date, bool]]] = defaultdict(dict)
    for aid, key, at, skipped in rows:
        done[aid][key] = (at.astimezone(KYIV).date(), skipped)
        assert within_window(at, plan, cal, KYIV), f"done outside the window: {at}"

    def first_window_on_or_after(d: date) -> date:
        while plan.working_days_only and not cal.is_working_day(d):
            d += timedelta(days=1)
        return d

    counts = dict.fromkeys(("missed", "early", "late", "wrong_skip", "after_answer"), 0)
    planned_total = skipped_total = 0
    for aid, versions in timeline.items():
        closed = next((d for d, due in versions if due is None), None)
        dues = [(d, due) for d, due in versions if due is not None]
        for idx, (since, due) in enumerate(dues):
            until = dues[idx + 1][0] if idx + 1 < len(dues) else (closed or end)
            until = min(until, closed or end, end)
            here = {
                k.split("@")[0]: v
                for k, v in done[aid].items()
                if k.endswith("@" + due.isoformat())
            }
            steps = planned_steps(plan, due, until)

            for step in steps:
                if step.planned_for < since:
                    continue
                deadline = first_window_on_or_after(step.planned_for)
                if deadline > until - timedelta(days=1):
                    continue  # falls after the appeal was answered/extended or the run ended
                planned_total += 1
                if step.key not in here:
                    counts["missed"] += 1
                    continue
                on, skipped = here[step.key]
                if on < step.planned_for:
                    counts["early"] += 1
                elif on > deadline:
                    counts["late"] += 1  # not decided in its first window
                elif skipped:
                    skipped_total += 1
                    passed = step.kind != "escalation" and (
                        (step.kind == "reminder" and on > due) or _superseded(step, on, steps)
                    )
                    counts["wrong_skip"] += not passed
                elif step.kind == "reminder" and on > due:
                    counts["late"] += 1  # "N days left" after the due date
                elif step.kind != "escalation" and _superseded(step, on, steps):
                    counts["late"] += 1  # a later step of its kind was already due
            if closed is not None:
                counts["after_answer"] += sum(
                    1 for on, skipped in here.values() if on > closed and not skipped
                )
    assert all(v == 0 for v in counts.values()), counts
    assert planned_total > N  # the scenario really exercised the plan
    return {
        "done": len(rows),
        "sent": len(sent_rows),
        "skipped": skipped_total,
        "planned": planned_total,
    }


@pytest.mark.slow
def test_ninety_days_every_reminder_exactly_once(make_app: Any) -> None:
    clock = ManualClock(START)
    app = make_app(clock=clock)
    script = _seed(app, random.Random(7))
    timeline = _run([app], clock, script)
    figures = _check(app, timeline)
    print(f"simulation: {figures}")


@pytest.mark.slow
@pytest.mark.integration
def test_ninety_days_two_schedulers_on_postgres(make_app: Any, pg_schema_url: str) -> None:
    from gateway.app import build_app

    clock = ManualClock(START)
    app = make_app({"database": {"url": pg_schema_url}}, clock=clock)
    other = build_app(app.settings, clock=clock)
    script = _seed(app, random.Random(11))
    timeline = _run([app, other], clock, script)
    figures = _check(app, timeline)
    print(f"simulation on PostgreSQL, two schedulers: {figures}")
