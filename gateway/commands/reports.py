"""`appeals report quarterly|overdue|timeliness`: the register's reports as terminal tables,
CSV or XLSX. The aggregation is `routing.reports`; this module only reads the database
through it and writes the tables out. Reports carry registration numbers and counts, never
names or addresses.
"""

from __future__ import annotations

import argparse
import csv
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.app import App
from routing import reports
from routing.reports import Table


def build(app: App, args: argparse.Namespace) -> list[Table]:
    tz = ZoneInfo(app.settings.deadlines.timezone)
    now = app.clock.now()
    with app.sessions() as s:
        if args.report_command == "quarterly":
            start, end = reports.quarter_bounds(args.year, args.quarter)
            return reports.quarterly(reports.load_rows(s, start, end), now, tz)
        if args.report_command == "overdue":
            return reports.overdue(reports.load_rows(s), now, tz)
        start, end = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
        return reports.timeliness_by_department(reports.load_rows(s, start, end), now, tz)


def render(tables: list[Table]) -> str:
    out: list[str] = []
    for t in tables:
        cells = [tuple(str(c) for c in t.header)] + [tuple(str(c) for c in r) for r in t.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(t.header))]
        line = "  ".join("-" * w for w in widths)
        out.append(t.title)
        for n, row in enumerate(cells):
            out.append(
                "  ".join(
                    c.rjust(w) if isinstance(src, int) else c.ljust(w)
                    for c, w, src in zip(row, widths, (t.header, *t.rows)[n], strict=True)
                ).rstrip()
            )
            if n == 0:
                out.append(line)
        out.append("")
    return "\n".join(out)


def write_csv(tables: list[Table], path: Path) -> None:
    # One file for all tables: a "table" column says which, so a spreadsheet can filter.
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        for t in tables:
            w.writerow(["table", *t.header])
            for r in t.rows:
                w.writerow([t.title, *r])


def write_xlsx(tables: list[Table], path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    try:
        bold = book.add_format({"bold": True})
        for n, t in enumerate(tables):
            # Sheet names: at most 31 characters, unique.
            sheet = book.add_worksheet(f"{n + 1} {t.title}"[:31])
            sheet.write_row(0, 0, list(t.header), bold)
            for i, r in enumerate(t.rows, start=1):
                sheet.write_row(i, 0, list(r))
    finally:
        book.close()


def cmd_report(app: App, args: argparse.Namespace) -> int:
    tables = build(app, args)
    if args.csv:
        write_csv(tables, Path(args.csv))
    if args.xlsx:
        write_xlsx(tables, Path(args.xlsx))
    print(render(tables))
    return 0
