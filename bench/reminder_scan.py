"""The reminder tick over many open appeals (default 1,000,000) on SQLite and PostgreSQL:
wall time, peak memory, and the query plan of the candidate query.

What is measured is the scan itself: candidates read from the partial index of stored
next-step times (`appeal.next_reminder_at <= now`), the plan for each candidate, the
exactly-once claims of `reminder_sent` rows and the new next times. Rendering the messages
is replaced by a counting sink (the cost of rendering one message is printed separately),
so the figure is about the scan, not about Jinja.

Data: N open appeals (plus 15% closed ones), due dates uniform from 10 days ago to 50 days
ahead, 12 departments, in the steady state the gateway keeps: every step up to yesterday
recorded, and each appeal's next step time stored. The measured tick is the first one of a
working day (10:00 in Kyiv): every step planned for today is due at once, the worst tick
of the day. The repeat tick right after it is every other tick's cost. Both run in a fresh
child process (what `appeals tick` is), whose peak RSS is reported.

`--upgrade` also measures the one-off tick after migration 0013, whose backfill makes every
open appeal due once.

Run: .venv/bin/python bench/reminder_scan.py [--rows N] [--pg URL | --no-pg] [--upgrade]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import insert, select, text, update  # noqa: E402

from gateway.app import build_app, prepare  # noqa: E402
from gateway.clock import ManualClock  # noqa: E402
from gateway.scheduler import reminder_plan  # noqa: E402
from gateway.settings import settings_from_dict  # noqa: E402
from models import AWAITING_ANSWER, Appeal, Department, ReminderSent  # noqa: E402
from routing.reminder_scan import scan, stored_key  # noqa: E402
from routing.reminders import next_step_at, planned_steps  # noqa: E402

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday, 10:00 in Kyiv


class CountingSink:
    def __init__(self) -> None:
        self.count = 0

    def add(self, kind: str, **kw: Any) -> str:
        self.count += 1
        return f"<{self.count}@bench>"


# Columns every seeded appeal shares; only the number, dates, state and department vary.
FIXED = {
    "reg_year": 2026,
    "kind": "appeal",
    "urgent": False,
    "received_at": NOW - timedelta(days=30),
    "language": "uk",
    "subject": "s",
    "text": "t",
    "repeat_status": "primary",
    "collective": False,
    "signatories": 1,
    "anonymous": False,
    "priority": 0,
    "extended_days": 0,
    "delivery_failed": False,
    "flags": {},
}


def seed(app: Any, rows: int) -> int:
    """The steady state: next times as yesterday's last tick stored them, and every step
    up to yesterday recorded for the appeals today's tick reads (the others' history is
    never read by a tick, so it is left out). Returns the number of appeals due today."""
    rng = random.Random(1)
    plan, cal = reminder_plan(app), app.calendar()
    with app.sessions() as s:
        depts = list(s.scalars(select(Department.id)))
    today = NOW.astimezone(KYIV).date()
    yesterday = today - timedelta(days=1)
    next_of: dict[date, datetime] = {}
    history: dict[date, list[str]] = {}
    chunk: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    due_today = 0
    for i in range(int(rows * 1.15)):
        due = today + timedelta(days=rng.randint(-10, 50))
        if due not in next_of:
            next_of[due] = next_step_at(plan, due_date=due, today=yesterday, cal=cal, tz=KYIV)
            history[due] = [stored_key(st, due) for st in planned_steps(plan, due, yesterday)]
        is_open = i < rows
        chunk.append(
            FIXED
            | {
                "id": i + 1,
                "reg_no": f"B-{i}",
                "reg_seq": i + 1,
                "receipt_date": due - timedelta(days=30),
                "due_date": due,
                "state": "routed" if is_open else "closed",
                "department_id": depts[i % len(depts)],
                "next_reminder_at": next_of[due] if is_open else None,
            }
        )
        if is_open and next_of[due] <= NOW:
            due_today += 1
            steps += [
                {"appeal_id": i + 1, "step_key": k, "sent_at": NOW - timedelta(days=1)}
                for k in history[due]
            ]
        if len(chunk) == 50_000:
            _flush(app, chunk, steps)
            chunk, steps = [], []
    _flush(app, chunk, steps)
    if app.engine.dialect.name == "postgresql":
        # A production database has planner statistics (autovacuum); a freshly bulk-loaded
        # one not yet. SQLite is deliberately left without ANALYZE: its plan must be right
        # without statistics.
        with app.engine.begin() as c:
            c.execute(text("ANALYZE appeal"))
            c.execute(text("ANALYZE reminder_sent"))
    return due_today


def _flush(app: Any, chunk: list[dict[str, Any]], steps: list[dict[str, Any]]) -> None:
    with app.sessions.begin() as s:
        if chunk:
            s.execute(insert(Appeal), chunk)
        if steps:
            s.execute(insert(ReminderSent), steps)


def explain(app: Any) -> str:
    """The plan of the scan's own candidate query (compiled with literal values), for a
    batch in the middle of the walk."""
    from routing.reminder_scan import candidate_batch_query

    query = candidate_batch_query(
        NOW, (NOW - timedelta(days=1), 1000), dialect=app.engine.dialect.name
    )
    sql = str(query.compile(app.engine, compile_kwargs={"literal_binds": True}))
    with app.engine.connect() as c:
        if app.engine.dialect.name == "sqlite":
            rows = c.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
            return "; ".join(str(r[-1]) for r in rows)
        rows = c.execute(text("EXPLAIN " + sql)).all()
        return " | ".join(r[0].strip() for r in rows)


def _settings(label: str, url: str, tmp: Path) -> Any:
    import tomllib

    data = tomllib.loads((REPO / "settings.toml").read_text(encoding="utf-8"))
    data["paths"]["var_dir"] = str(tmp / label)
    data["database"]["url"] = url
    data["classifier"]["train_on_first_run"] = False
    return settings_from_dict(data, base_dir=REPO, env={"APPEALS_TOKEN_KEY": "bench"})


def child(label: str, url: str, tmp: Path) -> None:
    """One tick and the repeat tick, in a process of its own. It holds what the scan
    needs (settings, engine, calendar) and not the whole app: `appeals tick` still imports
    the whole app, and what that costs is measured by bench/cli_startup.py, not here."""
    from models import CalendarOverride
    from models.db import make_engine, make_session_factory
    from routing.deadlines import WorkCalendar

    base = _peak_rss_mb()
    settings = _settings(label, url, tmp)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    with sessions() as s:
        overrides = {o.day: o.working for o in s.scalars(select(CalendarOverride))}
    cal = WorkCalendar(settings.deadlines, overrides)
    plan, clock, sink = settings.reminders, ManualClock(NOW), CountingSink()

    def run() -> Any:
        return scan(
            sessions,
            clock,
            plan,
            cal,
            KYIV,
            lambda s: sink,
            view=lambda a: {"appeal": {}, "instance": {}},
            admin_email="admin@x",
        )

    t0 = time.perf_counter()
    first = run()
    first_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    again = run()
    again_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    third = run()
    third_s = time.perf_counter() - t2
    print(
        json.dumps(
            {
                "scanned": first.scanned,
                "sent": first.sent,
                "skipped": first.skipped,
                "seconds": first_s,
                "again_scanned": again.scanned,
                "again_sent": again.sent,
                "again_seconds": again_s,
                "third_scanned": third.scanned,
                "third_seconds": third_s,
                "rss_before_mb": base,
                "peak_rss_mb": _peak_rss_mb(),
            }
        )
    )


def _peak_rss_mb() -> float:
    """The process's high-water RSS (VmHWM): unlike getrusage's ru_maxrss it starts again
    at exec, so the parent's seeding does not show in the child's figure."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def tick_in_child(label: str, url: str, tmp: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", label, url, str(tmp)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def report(label: str, what: str, m: dict[str, Any]) -> None:
    print(
        f"[{label}] {what}: {m['scanned']:,} appeals read, {m['sent']:,} steps claimed and "
        f"queued, {m['skipped']:,} passed steps recorded as skipped, {m['seconds']:.2f} s; "
        f"peak RSS of the tick process {m['peak_rss_mb']:.0f} MB "
        f"({m['rss_before_mb']:.0f} MB after its imports)"
    )
    print(
        f"[{label}]   repeat tick right after: {m['again_scanned']} read, "
        f"{m['again_sent']} queued, {m['again_seconds'] * 1000:.0f} ms; the one after it: "
        f"{m['third_scanned']} read, {m['third_seconds'] * 1000:.0f} ms"
    )


def run_one(label: str, url: str, rows: int, tmp: Path, upgrade_too: bool) -> None:
    app = build_app(_settings(label, url, tmp), clock=ManualClock(NOW))
    prepare(app)
    t0 = time.perf_counter()
    due_today = seed(app, rows)
    print(
        f"[{label}] seeded {rows:,} open (+{int(rows * 0.15):,} closed) appeals in "
        f"{time.perf_counter() - t0:.0f} s; {due_today:,} have a step today"
    )
    plan = explain(app)
    uses = "ix_appeal_awaiting_next_reminder" in plan and "TEMP B-TREE" not in plan.upper()
    print(
        f"[{label}] candidate query plan "
        f"({'uses' if uses else 'DOES NOT use'} the partial index): {plan}"
    )
    m = tick_in_child(label, url, tmp)
    assert m["scanned"] == due_today, (m, due_today)
    report(label, "first tick of the day", m)
    if upgrade_too:
        # What migration 0013's backfill leaves: every open appeal due (its received_at).
        with app.engine.begin() as c:
            c.execute(
                update(Appeal)
                .where(Appeal.state.in_(AWAITING_ANSWER))
                .values(next_reminder_at=Appeal.received_at)
            )
        m = tick_in_child(label, url, tmp)
        report(label, "one-off tick after the upgrade (every open appeal due)", m)
    app.engine.dispose()


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--upgrade", action="store_true")
    a = p.parse_args()
    print(
        f"command: .venv/bin/python bench/reminder_scan.py --rows {a.rows}"
        + (" --no-pg" if a.no_pg else "")
        + (" --upgrade" if a.upgrade else "")
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        run_one("sqlite", f"sqlite:///{tmp / 'bench.db'}", a.rows, tmp, a.upgrade)
        if not a.no_pg:
            import uuid

            import psycopg

            schema = f"bench_{uuid.uuid4().hex[:8]}"
            plain = a.pg.replace("postgresql+psycopg", "postgresql")
            try:
                with psycopg.connect(plain, autocommit=True, connect_timeout=3) as c:
                    c.execute(f'CREATE SCHEMA "{schema}"')
            except Exception as exc:
                print(f"[postgresql] skipped: not reachable ({type(exc).__name__})")
            else:
                try:
                    url = f"{a.pg}?options=-csearch_path%3D{schema}"
                    run_one("postgresql", url, a.rows, tmp, a.upgrade)
                finally:
                    with psycopg.connect(plain, autocommit=True) as c:
                        c.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(f"rendering one reminder (Jinja, for scale): {render_cost_cached():.2f} ms")
    return 0


def render_cost(app: Any) -> float:
    from gateway.outbound.notify import Renderer

    r = Renderer(app.settings.template_dirs)
    ctx = {
        "appeal": {
            "reg_no": "A-2026-000001",
            "due_date": "01.12.2026",
            "due_at": None,
            "subject": "Тема",
            "priority": 0,
            "privileged_category": None,
        },
        "department": {"name": "Департамент"},
        "step": {"days_left": 1},
        "instance": {"name": "Рада", "name_en": "Council"},
    }
    t0 = time.perf_counter()
    for _ in range(200):
        r.render("department/reminder", "uk", ctx)
    return (time.perf_counter() - t0) / 200 * 1000


def render_cost_cached() -> float:
    with tempfile.TemporaryDirectory() as d:
        return render_cost(build_app(_settings("render", "sqlite://", Path(d))))


if __name__ == "__main__":
    sys.exit(main())
