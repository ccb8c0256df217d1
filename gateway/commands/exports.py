"""`appeals export registry|open-data`: the register for a period as CSV or XLSX, and the
anonymised open-data CSV (schema: docs/open-data.md). The rows are `routing.exports`; this
module writes them. Nothing here is logged: a registry file may carry personal data
(`--personal`), and it goes only where the admin writes it.
"""

from __future__ import annotations

import argparse
import csv
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.app import App
from routing import exports
from routing.exports import Export


def build(app: App, args: argparse.Namespace) -> Export:
    tz = ZoneInfo(app.settings.deadlines.timezone)
    start, end = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    if end < start:
        raise ValueError("--to is before --from")
    now = app.clock.now()
    with app.sessions() as s:
        if args.export_command == "open-data":
            return exports.open_data(s, start, end, now, tz)
        return exports.registry(s, start, end, now, tz, personal=args.personal)


def write_csv(data: Export, path: Path, *, bom: bool) -> None:
    # The registry file is for spreadsheets, which want the BOM to read UTF-8; the
    # open-data file is for machines and portals, which want plain UTF-8 (RFC 4180 lines).
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(data.header)
        w.writerows(data.rows)


def write_xlsx(data: Export, path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    try:
        sheet = book.add_worksheet("registry")
        sheet.write_row(0, 0, list(data.header), book.add_format({"bold": True}))
        for i, r in enumerate(data.rows, start=1):
            # Strings stay strings: "010" is a topic code, not the number ten.
            sheet.write_row(i, 0, [str(c) for c in r])
        sheet.freeze_panes(1, 0)
    finally:
        book.close()


def cmd_export(app: App, args: argparse.Namespace) -> int:
    data = build(app, args)
    csv_path = getattr(args, "csv", None)
    if csv_path:
        write_csv(data, Path(csv_path), bom=args.export_command == "registry")
    if getattr(args, "xlsx", None):
        write_xlsx(data, Path(args.xlsx))
    print(f"{len(data.rows)} appeals, {args.date_from} .. {args.date_to}")
    return 0
