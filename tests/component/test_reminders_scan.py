"""The reminder scan against a real database: steps sent once, inside the window, never
for an answered appeal; extensions restart the plan; digests for departments that want them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gateway.clock import ManualClock
from gateway.scheduler import tick
from models import Appeal, OutboundMessage, ReminderSent
from routing.mail import Envelope


def _appeal(app: Any, i: int = 0) -> Appeal:
    m = EmailMessage()
    m["From"] = f"Наталія Ткач{i} <n{i}@example.org>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = f"Прибирання двору {i}"
    m.set_content(
        f"Двір не прибирають два тижні, прошу вжити заходів {i}.\nАдреса: м. Луцьк, вул. Дубнівська, {i + 1}"
    )
    app.ingest().accept(m.as_bytes(), Envelope("smtp", f"n{i}@example.org", ()))
    app.worker().run_once()
    with app.sessions() as s:
        return s.scalars(select(Appeal).order_by(Appeal.id.desc())).first()


def _kinds(app: Any) -> list[str]:
    with app.sessions() as s:
        return [
            o.kind
            for o in s.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
            if o.kind.startswith("department/") and o.kind != "department/assigned"
        ]


def _at(d: date, hour_utc: int, *, workday: bool = False) -> datetime:
    while workday and d.weekday() >= 5:
        d += timedelta(days=1)
    return datetime(d.year, d.month, d.day, hour_utc, tzinfo=UTC)


def test_plan_runs_once_and_stops_when_answered(make_app: Any) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # Monday, 10:00 Kyiv
    app = make_app(clock=clock)
    a = _appeal(app)
    due = a.due_date
    sent_log = []
    day = due - timedelta(days=6)
    while day <= due + timedelta(days=8):
        for hour in (5, 8, 12, 15, 17):  # before, inside and after the 09-18 window (Kyiv)
            clock.set(_at(day, hour))
            tick(app)
        sent_log.append((day, _kinds(app)))
        day += timedelta(days=1)
    with app.sessions() as s:
        keys = sorted(r.step_key.split("@")[0] for r in s.scalars(select(ReminderSent)))
    # Each step once; the kinds reached the department; escalation went out.
    assert len(keys) == len(set(keys))
    assert {"before-5", "before-1", "due-0"} <= set(keys) or {"before-1", "due-0"} <= set(keys)
    assert "department/escalation" in _kinds(app)
    assert any(k.startswith("overdue-") for k in keys)
    # Answered: no more reminders.
    with app.sessions.begin() as s:
        s.get(Appeal, a.id).state = "closed"
    before = len(_kinds(app))
    clock.advance(days=6)
    tick(app)
    assert len(_kinds(app)) == before


def test_nothing_is_sent_outside_the_window(make_app: Any) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    app = make_app(clock=clock)
    a = _appeal(app)
    clock.set(_at(a.due_date + timedelta(days=3), 20))  # 22:00 Kyiv
    assert tick(app).sent == 0


def test_extension_restarts_the_plan_for_the_new_date(make_app: Any) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    app = make_app(clock=clock)
    a = _appeal(app)
    clock.set(_at(a.due_date - timedelta(days=1), 8, workday=True))
    tick(app)
    with app.sessions.begin() as s:
        s.get(Appeal, a.id).due_date = a.due_date + timedelta(days=10)
    clock.set(_at(a.due_date + timedelta(days=9), 8, workday=True))
    tick(app)
    with app.sessions() as s:
        keys = [r.step_key for r in s.scalars(select(ReminderSent))]
    new_due = (a.due_date + timedelta(days=10)).isoformat()
    assert any(k.endswith("@" + new_due) for k in keys)
    assert any(k.endswith("@" + a.due_date.isoformat()) for k in keys)


def test_digest_department_gets_one_message(make_app: Any) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    import tomllib

    from gwtest import REPO

    depts = tomllib.loads((REPO / "settings.toml").read_text())["departments"]
    for d in depts:
        if d["code"] == "housing":
            d["digest"] = True
    app = make_app({"departments": depts}, clock=clock)
    apps = [_appeal(app, i) for i in range(3)]
    clock.set(_at(apps[0].due_date + timedelta(days=4), 8, workday=True))
    tick(app)
    assert _kinds(app).count("department/digest") == 1
    assert "department/overdue" not in _kinds(app)


def test_retention_erases_old_raw_mail_but_keeps_the_record(make_app: Any) -> None:
    from gateway.scheduler import purge_personal_data
    from models import InboundMessage

    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    app = make_app({"retention": {"raw_mail_days": 30}}, clock=clock)
    _appeal(app)
    with app.sessions() as s:
        sha = s.scalars(select(InboundMessage.raw_sha256)).one()
    assert purge_personal_data(app).inbound == 0 and app.rawstore.exists(sha)
    clock.advance(days=31)
    assert purge_personal_data(app).inbound == 1
    assert not app.rawstore.exists(sha)
    with app.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
        assert row.erased_at is not None and row.state == "processed"
    assert purge_personal_data(app).inbound == 0


def _recorded(app: Any) -> dict[str, bool]:
    """step key (without the due date) -> skipped."""
    with app.sessions() as s:
        return {r.step_key.split("@")[0]: r.skipped for r in s.scalars(select(ReminderSent))}


def _subjects(app: Any) -> list[str]:
    with app.sessions() as s:
        return [o.subject for o in s.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]


def test_downtime_catch_up_sends_the_latest_steps_once_and_nothing_after(make_app: Any) -> None:
    # The gateway was down from before the due date until thirteen days after it: the first
    # tick sends the latest overdue reminder and the escalation; the reminders planned
    # before the due date are recorded as skipped, never sent late ("-13 days left"), and
    # nothing trickles out on the following ticks.
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    app = make_app(clock=clock)
    a = _appeal(app)
    back = _at(a.due_date + timedelta(days=13), 8, workday=True)
    clock.set(back)
    result = tick(app)
    kinds_after_first = _kinds(app)
    assert sorted(kinds_after_first) == ["department/escalation", "department/overdue"]
    recorded = _recorded(app)
    assert {k for k, skipped in recorded.items() if skipped} >= {"before-5", "before-1", "due-0"}
    assert {k for k, skipped in recorded.items() if not skipped} == {
        "escalate-7",
        max((k for k in recorded if k.startswith("overdue-")), key=lambda k: int(k[8:])),
    }
    assert result.sent == 2 and result.skipped == len(recorded) - 2
    assert not any("до строку відповіді -" in subj for subj in _subjects(app))
    for minutes in (5, 60, 120):
        clock.advance(minutes=minutes)
        assert tick(app).skipped == 0
    assert _kinds(app) == kinds_after_first


def test_back_on_the_due_date_sends_today_not_the_earlier_reminders(make_app: Any) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    app = make_app(clock=clock)
    a = _appeal(app)
    clock.set(_at(a.due_date, 8))  # appeal due dates are working days
    tick(app)
    assert _kinds(app) == ["department/reminder"]
    assert "СЬОГОДНІ" in _subjects(app)[-1]
    assert _recorded(app) == {"before-5": True, "before-1": True, "due-0": False}


def test_scan_query_walks_the_partial_index_without_sorting(make_app: Any) -> None:
    # Guards the scan's cost on big tables: SQLite must read the candidates from the
    # partial index in (next_reminder_at, id) order, not sort them per batch
    # (bench/reminder_scan.py measures the 1,000,000-appeal case).
    from sqlalchemy import text

    from routing.reminder_scan import candidate_batch_query

    app = make_app()
    now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    query = candidate_batch_query(now, (now - timedelta(days=1), 1000), dialect="sqlite")
    sql = str(query.compile(app.engine, compile_kwargs={"literal_binds": True}))
    with app.engine.connect() as c:
        plan = " ; ".join(str(r[-1]) for r in c.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_appeal_awaiting_next_reminder" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_a_tick_reads_only_the_appeals_whose_next_step_is_due(make_app: Any) -> None:
    """2,000 open appeals due within days, each already planned by an earlier tick (their
    next step is tomorrow or later), beside one new appeal: the tick plans the new one and
    reads none of the others; the repeat tick reads nothing at all."""
    from sqlalchemy import event, insert

    from routing.reminders import next_step_at

    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # Monday, 10:00 Kyiv
    app = make_app(clock=clock)
    fresh = _appeal(app)
    plan, cal, tz = app.settings.reminders, app.calendar(), ZoneInfo("Europe/Kyiv")
    today = clock.now().astimezone(tz).date()
    with app.sessions.begin() as s:
        rows = []
        for i in range(2000):
            due = today + timedelta(days=3 + i % 3)  # inside the old scan's 5-day horizon
            rows.append(
                {
                    c.name: getattr(fresh, c.name)
                    for c in Appeal.__table__.columns
                    if c.name not in ("id", "reg_no", "reg_seq", "due_date", "next_reminder_at")
                }
                | {
                    "reg_no": f"T-{i}",
                    "reg_seq": 10_000 + i,
                    "due_date": due,
                    "next_reminder_at": next_step_at(
                        plan, due_date=due, today=today, cal=cal, tz=tz
                    ),
                }
            )
        s.execute(insert(Appeal), rows)
    statements: list[str] = []
    listen = lambda *a: statements.append(a[2])  # noqa: E731 (conn, cursor, statement, ...)
    event.listen(app.engine, "before_cursor_execute", listen)
    try:
        first = tick(app)
        first_statements = list(statements)
        statements.clear()
        again = tick(app)
    finally:
        event.remove(app.engine, "before_cursor_execute", listen)
    assert first.scanned == 1, first
    assert again.scanned == 0 and again.sent == 0, again
    # One candidate batch and the empty one (the old scan read the 2,000 in four batches of 500 and their
    # recorded steps in four more); the repeat tick reads one empty batch and no steps.
    batches = [q for q in first_statements if "next_reminder_at <=" in q]
    assert len(batches) <= 2, first_statements  # the batch, and the empty one that ends it
    assert sum("FROM reminder_sent" in q for q in first_statements) == 1, first_statements
    assert sum("next_reminder_at <=" in q for q in statements) == 1, statements
    assert not any("FROM reminder_sent" in q for q in statements), statements
    with app.sessions() as s:
        stored = s.get(Appeal, fresh.id)
        assert stored is not None and stored.next_reminder_at is not None
        assert stored.next_reminder_at > clock.now()
        assert stored.next_reminder_at == next_step_at(
            plan, due_date=fresh.due_date, today=today, cal=cal, tz=tz
        )
