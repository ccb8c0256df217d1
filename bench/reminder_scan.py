"""The reminder scan over many open appeals (default 1,000,000) on SQLite and PostgreSQL:
wall time, peak memory, and the query plan of the candidate query.

What is measured is the scan itself: candidate selection in keyset batches over the
`(state, due_date)` index, the plan for each candidate, and the exactly-once claims of
`reminder_sent` rows. Rendering the messages is replaced by a counting sink (the cost of
rendering one message is measured separately), so the figure is about the scan, not about
Jinja. A second scan right after the first must queue nothing (exactly once).

Data: N open appeals (plus 15% closed ones, which the scan must skip), due dates uniform
from 10 days ago to 50 days ahead, 12 departments, no reminder sent yet.

Run: .venv/bin/python bench/reminder_scan.py [--rows N] [--pg URL | --no-pg]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from sqlalchemy import delete, insert, select, text  # noqa: E402

from gateway.app import build_app, prepare  # noqa: E402
from gateway.clock import ManualClock  # noqa: E402
from gateway.scheduler import reminder_plan  # noqa: E402
from gateway.settings import settings_from_dict  # noqa: E402
from models import Appeal, Department, ReminderSent  # noqa: E402
from routing.reminder_scan import scan  # noqa: E402

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


def seed(app: Any, rows: int) -> None:
    rng = random.Random(1)
    with app.sessions() as s:
        depts = list(s.scalars(select(Department.id)))
    today = NOW.astimezone(KYIV).date()
    chunk: list[dict[str, Any]] = []
    for i in range(int(rows * 1.15)):
        due = today + timedelta(days=rng.randint(-10, 50))
        chunk.append(
            FIXED
            | {
                "reg_no": f"B-{i}",
                "reg_seq": i + 1,
                "receipt_date": due - timedelta(days=30),
                "due_date": due,
                "state": "routed" if i < rows else "closed",
                "department_id": depts[i % len(depts)],
            }
        )
        if len(chunk) == 50_000:
            with app.sessions.begin() as s:
                s.execute(insert(Appeal), chunk)
            chunk = []
    if chunk:
        with app.sessions.begin() as s:
            s.execute(insert(Appeal), chunk)
    if app.engine.dialect.name == "postgresql":
        # A production database has planner statistics (autovacuum); a freshly bulk-loaded
        # one not yet. SQLite is deliberately left without ANALYZE: its plan must be right
        # without statistics.
        with app.engine.begin() as c:
            c.execute(text("ANALYZE appeal"))


class RssSampler:
    """Peak resident set size while a block runs, read from /proc/self/statm every 20 ms
    (getrusage's lifetime maximum would be the seeding's, not the scan's)."""

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = self.base = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def explain(app: Any) -> str:
    """The plan of the scan's own candidate query (compiled with literal values), for a
    batch in the middle of the walk."""
    from routing.reminder_scan import candidate_batch_query

    horizon = (NOW + timedelta(days=5)).date()
    query = candidate_batch_query(horizon, (NOW.date(), 1000))
    sql = str(query.compile(app.engine, compile_kwargs={"literal_binds": True}))
    with app.engine.connect() as c:
        if app.engine.dialect.name == "sqlite":
            rows = c.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
            return "; ".join(str(r[-1]) for r in rows)
        rows = c.execute(text("EXPLAIN " + sql)).all()
        return " | ".join(r[0].strip() for r in rows)


def measure(app: Any) -> dict[str, Any]:
    """Three scans: the timed first one (every candidate needs its steps: the worst case),
    a second right after (the steady state of every tick: nothing to send), and, after the
    claims are wiped, the first one again under tracemalloc and an RSS sampler (tracemalloc
    slows Python down, so it stays out of the timed run)."""
    sink = CountingSink()
    plan = reminder_plan(app)
    cal = app.calendar()

    def run() -> Any:
        return scan(
            app.sessions,
            app.clock,
            plan,
            cal,
            KYIV,
            lambda s: sink,
            view=lambda a: {"appeal": {}, "instance": {}},
            admin_email="admin@x",
        )

    t0 = time.perf_counter()
    first = run()
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    second = run()
    second_elapsed = time.perf_counter() - t1
    with app.sessions.begin() as s:
        s.execute(delete(ReminderSent))
    tracemalloc.start()
    with RssSampler() as rss:
        again = run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert again.sent == first.sent, (again.sent, first.sent)
    return {
        "candidates": first.scanned,
        "queued": first.sent,
        "skipped": first.skipped,
        "seconds": elapsed,
        "py_peak_mb": peak / 2**20,
        "rss_growth_mb": (rss.peak - rss.base) / 2**20,
        "second_scan_queued": second.sent,
        "second_seconds": second_elapsed,
    }


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


def run_one(label: str, url: str, rows: int, tmp: Path) -> None:
    import tomllib

    data = tomllib.loads((REPO / "settings.toml").read_text(encoding="utf-8"))
    data["paths"]["var_dir"] = str(tmp / label)
    data["database"]["url"] = url
    data["classifier"]["train_on_first_run"] = False
    settings = settings_from_dict(data, base_dir=REPO, env={"APPEALS_TOKEN_KEY": "bench"})
    app = build_app(settings, clock=ManualClock(NOW))
    prepare(app)
    t0 = time.perf_counter()
    seed(app, rows)
    print(
        f"[{label}] seeded {rows:,} open (+{int(rows * 0.15):,} closed) appeals in "
        f"{time.perf_counter() - t0:.0f} s"
    )
    plan = explain(app)
    uses = "ix_appeal_awaiting_due_id" in plan and "TEMP B-TREE" not in plan.upper()
    print(
        f"[{label}] candidate query plan "
        f"({'uses' if uses else 'DOES NOT use'} the partial index): {plan}"
    )
    m = measure(app)
    print(
        f"[{label}] scan: {m['candidates']:,} candidates, {m['queued']:,} steps claimed "
        f"and queued, {m['skipped']:,} passed steps recorded as skipped, "
        f"{m['seconds']:.1f} s ({m['candidates'] / m['seconds']:,.0f} candidates/s); "
        f"Python peak {m['py_peak_mb']:.1f} MB (tracemalloc), "
        f"peak RSS growth during the scan {m['rss_growth_mb']:.1f} MB (/proc/self/statm)"
    )
    print(
        f"[{label}] second scan right after: {m['second_scan_queued']} queued "
        f"(exactly once), {m['second_seconds']:.1f} s "
        f"({m['candidates'] / m['second_seconds']:,.0f} candidates/s: the cost of every tick)"
    )
    app.engine.dispose()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--no-pg", action="store_true")
    a = p.parse_args()
    print(
        f"command: .venv/bin/python bench/reminder_scan.py --rows {a.rows}"
        + (" --no-pg" if a.no_pg else "")
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        run_one("sqlite", f"sqlite:///{tmp / 'bench.db'}", a.rows, tmp)
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
                    run_one("postgresql", f"{a.pg}?options=-csearch_path%3D{schema}", a.rows, tmp)
                finally:
                    with psycopg.connect(plain, autocommit=True) as c:
                        c.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(f"rendering one reminder (Jinja, for scale): {render_cost_cached():.2f} ms")
    return 0


def render_cost_cached() -> float:
    import tomllib

    data = tomllib.loads((REPO / "settings.toml").read_text(encoding="utf-8"))
    data["classifier"]["train_on_first_run"] = False
    with tempfile.TemporaryDirectory() as d:
        data["paths"]["var_dir"] = d
        s = settings_from_dict(data, base_dir=REPO, env={"APPEALS_TOKEN_KEY": "bench"})
        return render_cost(build_app(s))


if __name__ == "__main__":
    sys.exit(main())
