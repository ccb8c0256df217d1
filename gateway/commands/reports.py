"""`appeals report quarterly|overdue|timeliness`: the register's reports as terminal tables,
CSV, XLSX or (quarterly) PNG charts. The aggregation is `routing.reports`; this module only
reads the database through it and writes the tables out. Reports carry registration
numbers and counts, never names or addresses.
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
            return reports.quarterly_in_db(s, start, end, now, tz)
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


# The tables a picture says more about, and the file each goes to under --png DIR.
CHARTS = {
    "topic code": "topic-code.png",
    "department": "department.png",
    "type": "type.png",
    "result": "result.png",
    "timeliness": "timeliness.png",
}


def write_png(tables: list[Table], directory: Path, caption: str) -> list[Path]:
    """Horizontal bar charts of the CHARTS tables (value, count; the total row left out).
    matplotlib is imported here only, and with the Agg canvas: no display, and no other
    report or command pays for importing it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for t in tables:
        if t.title not in CHARTS:
            continue
        bars = [(str(r[0]), int(r[-1])) for r in t.rows if r[0] != "total"]
        fig = Figure(figsize=(7, 0.9 + 0.4 * max(len(bars), 1)), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        labels = [name for name, _ in bars][::-1]
        counts = [n for _, n in bars][::-1]
        ax.barh(labels, counts, color="#3a6ea5")
        for y, n in enumerate(counts):
            ax.annotate(str(n), (n, y), xytext=(3, 0), textcoords="offset points", va="center")
        ax.set_title(f"{t.title}, {caption}")
        ax.set_xlabel("appeals")
        fig.tight_layout()
        path = directory / CHARTS[t.title]
        fig.savefig(path, format="png")
        written.append(path)
    return written


def cmd_report(app: App, args: argparse.Namespace) -> int:
    tables = build(app, args)
    if args.csv:
        write_csv(tables, Path(args.csv))
    if args.xlsx:
        write_xlsx(tables, Path(args.xlsx))
    if getattr(args, "png", None):
        caption = (
            f"{args.year} Q{args.quarter}"
            if args.report_command == "quarterly"
            else args.report_command
        )
        write_png(tables, Path(args.png), caption)
    print(render(tables))
    return 0
