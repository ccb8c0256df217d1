"""The register's reports on a seeded quarter: every cell of `appeals report quarterly`
against counts computed here straight from the seeded rows; CSV and XLSX carry the same
figures as the terminal table."""

from __future__ import annotations

import argparse
import csv
import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from gateway.clock import ManualClock
from gateway.commands.reports import build, cmd_report, render
from models import Appeal, Department

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # every 30-day term of Q3 2026 has run
FORMS = ("email", "other_body")
SIGNS = ("primary", "repeated", "duplicate", "multiple", "mass")
TYPES = ("proposal", "application", "complaint")
SUBJECTS = ("individual", "collective", "anonymous")
CATEGORIES = (None, None, None, "veteran", "disability")
TOPICS = ("010", "002", "005", "000")
# state, result, closed how many days after the due date (None: not closed)
ENDINGS = (
    ("closed", "resolved", -3),
    ("closed", "explained", -10),
    ("closed", "refused", 4),
    ("closed", "explained", 1),
    ("routed", None, None),
    ("answered", None, None),  # an interim answer only: still open, not answered
    ("returned", "returned", None),
    ("not_considered", "not_considered", None),
    ("forwarded_external", "forwarded", None),
)


def _seed(app: Any) -> list[dict[str, Any]]:
    rnd = random.Random(858)
    with app.sessions() as s:
        depts = [d.id for d in s.scalars(select(Department).order_by(Department.id))][:4]
        codes = {d.id: d.code for d in s.scalars(select(Department))}
        specs = []
        for i in range(1, 121):
            receipt = date(2026, 7, 1) + timedelta(days=rnd.randrange(92))
            due = receipt + timedelta(days=30)
            state, result, closed_after = rnd.choice(ENDINGS)
            spec = {
                "form": rnd.choice(FORMS),
                "sign": rnd.choice(SIGNS),
                "type": rnd.choice(TYPES),
                "subject": rnd.choice(SUBJECTS),
                "category": rnd.choice(CATEGORIES),
                "topic": rnd.choice(TOPICS),
                "dept": rnd.choice(depts),
                "state": state,
                "result": result,
                "closed_after": closed_after,
            }
            received = datetime.combine(receipt, time(10), KYIV)
            closed = (
                datetime.combine(due + timedelta(days=closed_after), time(12), KYIV)
                if closed_after is not None
                else (
                    received + timedelta(days=2)
                    if state != "routed" and state != "answered"
                    else None
                )
            )
            s.add(
                Appeal(
                    reg_no=f"A-2026-{i:06d}",
                    reg_year=2026,
                    reg_seq=i,
                    kind="appeal",
                    received_at=received,
                    receipt_date=receipt,
                    due_date=due,
                    state=state,
                    department_id=spec["dept"],
                    receipt_form=spec["form"],
                    appeal_sign=spec["sign"],
                    appeal_type=spec["type"],
                    subject_kind=spec["subject"],
                    privileged_category=spec["category"],
                    topic_code=spec["topic"],
                    result=result,
                    closed_at=closed,
                    answered_at=received + timedelta(days=5) if state == "answered" else closed,
                )
            )
            spec["dept"] = codes[spec["dept"]]
            specs.append(spec)
        # Outside the quarter, and a request under the other law: neither is counted.
        s.add(
            Appeal(
                reg_no="A-2026-000999",
                reg_year=2026,
                reg_seq=999,
                kind="appeal",
                received_at=datetime(2026, 6, 30, 10, tzinfo=KYIV),
                receipt_date=date(2026, 6, 30),
                due_date=date(2026, 7, 30),
                state="routed",
                appeal_type="complaint",
            )
        )
        s.add(
            Appeal(
                reg_no="I-2026-000001",
                reg_year=2026,
                reg_seq=1,
                kind="info_request",
                received_at=datetime(2026, 8, 3, 10, tzinfo=KYIV),
                receipt_date=date(2026, 8, 3),
                due_date=date(2026, 8, 10),
                state="routed",
                appeal_type="application",
            )
        )
        s.commit()
    return specs


def _expected(specs: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    def timely(sp: dict[str, Any]) -> str:
        if sp["state"] == "closed":
            return "on_time" if sp["closed_after"] <= 0 else "late"
        if sp["state"] in ("routed", "answered"):
            return "open_overdue"  # every due date of Q3 is before NOW
        return "no_answer_due"

    return {
        "form of receipt": Counter(sp["form"] for sp in specs),
        "sign": Counter(sp["sign"] for sp in specs),
        "type": Counter(sp["type"] for sp in specs),
        "subject": Counter(sp["subject"] for sp in specs),
        "privileged category": Counter(sp["category"] or "—" for sp in specs),
        "topic code": Counter(sp["topic"] for sp in specs),
        "department": Counter(sp["dept"] for sp in specs),
        "result": Counter(sp["result"] or "—" for sp in specs),
        "timeliness": Counter(timely(sp) for sp in specs),
    }


@pytest.fixture
def seeded(make_app: Any) -> tuple[Any, list[dict[str, Any]]]:
    app = make_app(clock=ManualClock(NOW), require_secrets=False)
    return app, _seed(app)


def _args(**kw: Any) -> argparse.Namespace:
    base = {
        "report_command": "quarterly",
        "year": 2026,
        "quarter": 3,
        "csv": None,
        "xlsx": None,
        "png": None,
    }
    return argparse.Namespace(**{**base, **kw})


def test_quarterly_report_cell_by_cell(seeded: Any) -> None:
    app, specs = seeded
    tables = build(app, _args())
    expected = _expected(specs)
    assert [t.title for t in tables] == list(expected)
    for t in tables:
        got = {str(r[0]): r[2] for r in t.rows if r[0] != "total"}
        assert got == dict(expected[t.title]), t.title
        assert dict((r[0], r[2]) for r in t.rows)["total"] == len(specs)


def test_csv_and_xlsx_carry_the_terminal_figures(
    seeded: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, specs = seeded
    out_csv, out_xlsx = tmp_path / "q.csv", tmp_path / "q.xlsx"
    assert cmd_report(app, _args(csv=str(out_csv), xlsx=str(out_xlsx))) == 0
    printed = capsys.readouterr().out
    tables = build(app, _args())
    assert printed.strip() == render(tables).strip()
    terminal_totals = {}
    for line in printed.splitlines():
        if line.startswith("total"):
            terminal_totals[len(terminal_totals)] = int(line.split()[-1])
    assert list(terminal_totals.values()) == [len(specs)] * len(tables)

    book = openpyxl.load_workbook(out_xlsx)
    assert len(book.worksheets) == len(tables)
    for sheet, t in zip(book.worksheets, tables, strict=True):
        rows = list(sheet.iter_rows(values_only=True))
        assert tuple(rows[0]) == t.header
        # An empty string is an empty cell in XLSX: openpyxl reads it back as None.
        cells = [tuple("" if c is None else c for c in r) for r in rows[1:]]
        assert cells == [tuple(r) for r in t.rows]
        total = next(r for r in rows if r[0] == "total")
        assert total[2] == len(specs)
        assert sum(r[2] for r in rows[1:] if r[0] != "total") == len(specs)

    with out_csv.open(encoding="utf-8-sig") as fh:
        lines = list(csv.reader(fh))
    csv_totals = [int(r[3]) for r in lines if r[1] == "total"]
    assert csv_totals == [len(specs)] * len(tables)


def test_overdue_and_timeliness(seeded: Any) -> None:
    app, specs = seeded
    overdue = build(app, _args(report_command="overdue"))[0]
    open_ones = sum(sp["state"] in ("routed", "answered") for sp in specs)
    # The appeal received on 30 June (outside the quarter) is overdue too.
    assert len(overdue.rows) == open_ones + 1
    assert all(isinstance(r[4], int) and r[4] > 0 for r in overdue.rows)

    t = build(
        app, _args(report_command="timeliness", date_from="2026-07-01", date_to="2026-09-30")
    )[0]
    total = t.rows[-1]
    assert total[0] == "total" and total[-1] == len(specs)
    exp = _expected(specs)["timeliness"]
    assert dict(zip(t.header[1:-1], total[1:-1], strict=True)) == {
        k: exp.get(k, 0) for k in t.header[1:-1]
    }


def test_png_charts_are_valid_pngs_with_the_counts(seeded: Any, tmp_path: Path) -> None:
    import matplotlib.image

    app, specs = seeded
    out = tmp_path / "charts"
    assert cmd_report(app, _args(png=str(out))) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        ["topic-code.png", "department.png", "type.png", "result.png", "timeliness.png"]
    )
    for name in names:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = matplotlib.image.imread(out / name)
        height, width = pixels.shape[:2]
        assert width == 700 and height >= 100
        # Not a blank canvas: the bars are drawn in their own colour.
        assert (pixels[..., :3] < 0.8).any()
    # One bar per value: four departments make a taller chart than three types.
    assert len({sp["dept"] for sp in specs}) == 4
    dept_h = matplotlib.image.imread(out / "department.png").shape[0]
    assert dept_h > matplotlib.image.imread(out / "type.png").shape[0]


def test_the_database_counts_what_python_counts_from_the_rows(seeded: Any) -> None:
    # `quarterly_in_db` (GROUP BY, with the Kyiv due-date bound as UTC instants) against
    # the row-by-row rule of `timeliness_of`, on the seeded quarter and on the year.
    from routing import reports

    app, _ = seeded
    q3 = reports.quarter_bounds(2026, 3)
    with app.sessions() as s:
        before = {t.title: t for t in reports.quarterly_in_db(s, *q3, NOW, KYIV)}["timeliness"]
        # Closed late in the evening of the due date (Kyiv) is on time although it is the
        # next day nowhere; half past midnight Kyiv is late although UTC still says the due
        # date (EEST, UTC+3, in September).
        for seq, closed in (
            (801, datetime(2026, 9, 30, 23, 30, tzinfo=KYIV)),
            (802, datetime(2026, 10, 1, 0, 30, tzinfo=KYIV)),
        ):
            s.add(
                Appeal(
                    reg_no=f"A-2026-000{seq}",
                    reg_year=2026,
                    reg_seq=seq,
                    kind="appeal",
                    received_at=datetime(2026, 8, 31, 10, tzinfo=KYIV),
                    receipt_date=date(2026, 8, 31),
                    due_date=date(2026, 9, 30),
                    state="closed",
                    closed_at=closed,
                    result="explained",
                )
            )
        s.commit()
        after = {t.title: t for t in reports.quarterly_in_db(s, *q3, NOW, KYIV)}["timeliness"]
        counts = {t: {str(r[0]): r[2] for r in x.rows} for t, x in (("b", before), ("a", after))}
        assert counts["a"]["on_time"] == counts["b"]["on_time"] + 1
        assert counts["a"]["late"] == counts["b"]["late"] + 1
        for start, end in (reports.quarter_bounds(2026, 3), (date(2026, 1, 1), date(2026, 12, 31))):
            in_db = reports.quarterly_in_db(s, start, end, NOW, KYIV)
            in_python = reports.quarterly(reports.load_rows(s, start, end), NOW, KYIV)
            assert in_db == in_python
