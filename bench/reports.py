"""The quarterly report (`appeals report quarterly`) over one year of appeals: 500,000 on
PostgreSQL and 100,000 on SQLite by default; the target is under 5 s per report.

Data: the year 2026, receipt dates uniform over it, every characteristic of the Classifier
drawn at random (form, sign, type, subject, privileged category, topic code, result), 12
departments, states as a real register has them (mostly closed, some open, returned,
forwarded, not considered). Seeded in bulk: COPY on PostgreSQL, executemany in 50,000-row
transactions on SQLite. What is timed is what the command does for a quarter
(`routing.reports.quarterly_in_db`: one GROUP BY per table), for each of the four quarters
(about a quarter of the rows each), then the whole year in one report for scale. For
comparison, the row-by-row way (`load_rows` + `quarterly`, which the command used before)
is timed on one quarter. The query plan of one GROUP BY is printed.

Run: .venv/bin/python bench/reports.py [--pg-rows N] [--sqlite-rows N] [--pg URL | --no-pg]
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
import tomllib
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, insert, select, text  # noqa: E402

from gateway.app import build_app, prepare  # noqa: E402
from gateway.clock import ManualClock  # noqa: E402
from gateway.settings import settings_from_dict  # noqa: E402
from models import Appeal, Department  # noqa: E402
from routing import reports  # noqa: E402

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2027, 1, 20, 8, 0, tzinfo=UTC)  # after the year: every term has run
YEAR = 2026
STATES = (
    ("closed", "explained", 50),
    ("closed", "resolved", 20),
    ("closed", "refused", 8),
    ("routed", None, 8),
    ("answered", None, 3),
    ("returned", "returned", 4),
    ("not_considered", "not_considered", 3),
    ("forwarded_external", "forwarded", 4),
)
CHOICES = {
    "receipt_form": (("email", 90), ("other_body", 9), ("web_form", 1)),
    "appeal_sign": (
        ("primary", 70),
        ("repeated", 10),
        ("duplicate", 3),
        ("multiple", 15),
        ("mass", 2),
    ),
    "appeal_type": (("application", 75), ("complaint", 20), ("proposal", 5)),
    "subject_kind": (("individual", 90), ("collective", 7), ("anonymous", 3)),
    "privileged_category": (
        (None, 85),
        ("combat_veteran", 7),
        ("disability", 5),
        ("large_family", 3),
    ),
    "topic_code": tuple(
        (c, 1)
        for c in (
            "001",
            "002",
            "004",
            "005",
            "010",
            "011",
            "015",
            "016",
            "017",
            "018",
            "021",
            "000",
        )
    ),
}
SOURCES = {"form": "rule", "sign": "rule", "type": "rule", "subject": "rule", "topic_code": "model"}


def _picker(rng: random.Random, table: tuple[tuple[Any, int], ...]) -> Any:
    values = [v for v, _ in table]
    weights = [w for _, w in table]
    return lambda: rng.choices(values, weights)[0]


def rows(n: int, depts: list[int]) -> Any:
    """The n seeded appeals as column dicts, in receipt order."""
    rng = random.Random(858)
    pick = {k: _picker(rng, t) for k, t in CHOICES.items()}
    state_pick = _picker(rng, tuple(((s, r), w) for s, r, w in STATES))
    start = date(YEAR, 1, 1)
    days = (date(YEAR + 1, 1, 1) - start).days
    for i in range(n):
        receipt = start + timedelta(days=i * days // n)
        received = datetime(receipt.year, receipt.month, receipt.day, 10, tzinfo=KYIV)
        due = receipt + timedelta(days=30)
        state, result = state_pick()
        closed = None
        if state == "closed":
            closed = received + timedelta(days=rng.randint(3, 34))  # some late
        elif result is not None:
            closed = received + timedelta(days=rng.randint(1, 5))
        row = {
            "reg_no": f"A-{YEAR}-{i + 1:07d}",
            "reg_year": YEAR,
            "reg_seq": i + 1,
            "kind": "appeal",
            "received_at": received,
            "receipt_date": receipt,
            "due_date": due,
            "state": state,
            "department_id": depts[i % len(depts)],
            "result": result,
            "result_at": closed if result else None,
            "closed_at": closed,
            "answered_at": closed,
        }
        row.update({k: f() for k, f in pick.items()})
        yield row


# Columns the seeding writes besides those of `rows` (NOT NULL without a server default).
CONSTANT = {
    "urgent": False,
    "language": "uk",
    "subject": "",
    "text": "",
    "repeat_status": "primary",
    "collective": False,
    "signatories": 1,
    "anonymous": False,
    "priority": 0,
    "extended_days": 0,
    "delivery_failed": False,
}


def seed_sqlite(app: Any, n: int, depts: list[int]) -> None:
    chunk: list[dict[str, Any]] = []
    for r in rows(n, depts):
        chunk.append(CONSTANT | r | {"flags": {}, "characteristic_sources": SOURCES})
        if len(chunk) == 50_000:
            with app.sessions.begin() as s:
                s.execute(insert(Appeal), chunk)
            chunk = []
    if chunk:
        with app.sessions.begin() as s:
            s.execute(insert(Appeal), chunk)


def seed_postgresql(app: Any, n: int, depts: list[int]) -> None:
    import json

    first = next(rows(1, depts))
    columns = [*CONSTANT, *first, "flags", "characteristic_sources"]
    sources = json.dumps(SOURCES)
    raw = app.engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY appeal ({', '.join(columns)}) FROM STDIN") as copy:
            buf = io.StringIO()
            for i, r in enumerate(rows(n, depts)):
                values = [*CONSTANT.values(), *r.values(), "{}", sources]
                buf.write("\t".join(_copy_value(v) for v in values) + "\n")
                if i % 20_000 == 19_999:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()
    with app.engine.begin() as c:
        # A production database has planner statistics (autovacuum); a fresh bulk load not.
        c.execute(text("ANALYZE appeal"))


def _copy_value(v: Any) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return str(v)


def plan(app: Any, start: date, end: date) -> str:
    q = select(Appeal.appeal_type, func.count()).where(
        Appeal.kind == "appeal", Appeal.receipt_date >= start, Appeal.receipt_date <= end
    )
    q = q.group_by(Appeal.appeal_type)
    sql = str(q.compile(app.engine, compile_kwargs={"literal_binds": True}))
    with app.engine.connect() as c:
        if app.engine.dialect.name == "sqlite":
            return "; ".join(str(r[-1]) for r in c.execute(text("EXPLAIN QUERY PLAN " + sql)))
        return " | ".join(r[0].strip() for r in c.execute(text("EXPLAIN " + sql)))


def report(app: Any, start: date, end: date) -> tuple[float, int, list[Any]]:
    """Seconds for one report as the command makes it, its total, and its tables."""
    t0 = time.perf_counter()
    with app.sessions() as s:
        tables = reports.quarterly_in_db(s, start, end, NOW, KYIV)
    elapsed = time.perf_counter() - t0
    total = next(r[2] for r in tables[0].rows if r[0] == "total")
    return elapsed, int(total), tables


def row_by_row(app: Any, start: date, end: date) -> tuple[float, list[Any]]:
    t0 = time.perf_counter()
    with app.sessions() as s:
        tables = reports.quarterly(reports.load_rows(s, start, end), NOW, KYIV)
    return time.perf_counter() - t0, tables


def run_one(label: str, url: str, n: int, tmp: Path) -> list[float]:
    data = tomllib.loads((REPO / "settings.toml").read_text(encoding="utf-8"))
    data["paths"]["var_dir"] = str(tmp / label)
    data["database"]["url"] = url
    data["classifier"]["train_on_first_run"] = False
    settings = settings_from_dict(data, base_dir=REPO, env={"APPEALS_TOKEN_KEY": "bench"})
    app = build_app(settings, clock=ManualClock(NOW))
    prepare(app)
    with app.sessions() as s:
        depts = list(s.scalars(select(Department.id)))
    t0 = time.perf_counter()
    (seed_postgresql if label == "postgresql" else seed_sqlite)(app, n, depts)
    print(f"[{label}] seeded {n:,} appeals of {YEAR} in {time.perf_counter() - t0:.1f} s")
    q2 = reports.quarter_bounds(YEAR, 2)
    print(f"[{label}] quarter query plan: {plan(app, *q2)}")
    times = []
    for quarter in (1, 2, 3, 4):
        elapsed, total, _ = report(app, *reports.quarter_bounds(YEAR, quarter))
        times.append(elapsed)
        print(
            f"[{label}] report quarterly --year {YEAR} --quarter {quarter}: {total:,} appeals, "
            f"{elapsed:.2f} s (target 5 s: ratio {elapsed / 5:.2f})"
        )
    elapsed, total, _ = report(app, date(YEAR, 1, 1), date(YEAR, 12, 31))
    print(f"[{label}] the whole year in one report (for scale): {total:,} appeals, {elapsed:.2f} s")
    slow, by_rows = row_by_row(app, *q2)
    assert by_rows == report(app, *q2)[2]  # the same figures either way
    print(f"[{label}] quarter 2 row by row in Python (the old way, same figures): {slow:.2f} s")
    app.engine.dispose()
    return times


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--pg-rows", type=int, default=500_000)
    p.add_argument("--sqlite-rows", type=int, default=100_000)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--no-pg", action="store_true")
    a = p.parse_args()
    print(
        f"command: .venv/bin/python bench/reports.py --pg-rows {a.pg_rows} "
        f"--sqlite-rows {a.sqlite_rows}" + (" --no-pg" if a.no_pg else "")
    )
    worst = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        worst["sqlite"] = max(run_one("sqlite", f"sqlite:///{tmp / 'b.db'}", a.sqlite_rows, tmp))
        if not a.no_pg:
            import psycopg

            schema = f"bench_reports_{uuid.uuid4().hex[:8]}"
            plain = a.pg.replace("postgresql+psycopg", "postgresql")
            try:
                with psycopg.connect(plain, autocommit=True, connect_timeout=3) as c:
                    c.execute(f'CREATE SCHEMA "{schema}"')
            except Exception as exc:
                print(f"[postgresql] skipped: not reachable ({type(exc).__name__})")
            else:
                try:
                    url = f"{a.pg}?options=-csearch_path%3D{schema}"
                    worst["postgresql"] = max(run_one("postgresql", url, a.pg_rows, tmp))
                finally:
                    with psycopg.connect(plain, autocommit=True) as c:
                        c.execute(f'DROP SCHEMA "{schema}" CASCADE')
    for label, seconds in worst.items():
        verdict = "met" if seconds < 5 else "NOT met"
        print(f"slowest quarter, {label}: {seconds:.2f} s; target under 5 s {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
