"""The console's pages about the gateway rather than one appeal: departments and routing
(read-only: they live in settings.toml and the rules `appeals routing apply` put in
force), the classifier's versions (promote, roll back: admins only) and the register's
reports and exports as downloads, made by the same functions as `appeals report` and
`appeals export`."""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gateway.app import App
from models import RoutingRule


def departments(app: App) -> dict[str, Any]:
    with app.sessions() as s:
        rules = [
            {
                "label": r.label,
                "district": r.district or "—",
                "department": r.department.code,
                "support": r.support,
                "share": r.share,
                "applied_at": r.applied_at,
                "applied_by": r.applied_by,
            }
            for r in s.scalars(
                select(RoutingRule).order_by(RoutingRule.label, RoutingRule.district)
            )
        ]
    r = app.settings.routing
    return {
        "departments": [d.model_dump() for d in app.settings.departments],
        "topics": sorted(r.topics.items()),
        "rules": rules,
        "min_confidence": r.min_confidence,
        "triage": r.triage_department,
        "info_addresses": list(r.info_request_addresses),
        "general_addresses": list(r.general_addresses),
    }


def models(app: App) -> list[dict[str, Any]]:
    from classifier.registry import ModelRegistry

    out = []
    for item in ModelRegistry(app.settings.model_dir).list():
        card = item.card
        ev = card.evaluation or {}
        out.append(
            {
                "version": card.version,
                "trained_at": card.trained_at or "",
                "size": card.data_size,
                "labels": len(card.labels),
                "macro_f1": ev.get("macro_f1"),
                "active": item.active,
            }
        )
    return sorted(out, key=lambda m: m["version"], reverse=True)


REPORTS = ("quarterly", "overdue", "timeliness", "registry", "registry-personal", "open-data")


def report_file(app: App, kind: str, params: dict[str, str], fmt: str) -> tuple[str, bytes]:
    """(file name, bytes) of a report or export; ValueError for bad parameters."""
    from gateway.commands import exports, reports

    if fmt not in ("csv", "xlsx") or kind not in REPORTS:
        raise ValueError("unknown report or format")
    if kind == "open-data" and fmt != "csv":
        raise ValueError("open data is CSV only")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind}.{fmt}"
        if kind in ("quarterly", "overdue", "timeliness"):
            ns = argparse.Namespace(report_command=kind)
            if kind == "quarterly":
                ns.year, ns.quarter = int(params.get("year", "")), int(params.get("quarter", ""))
                if ns.quarter not in (1, 2, 3, 4):
                    raise ValueError("the quarter is 1-4")
            if kind == "timeliness":
                ns.date_from, ns.date_to = _dates(params)
            tables = reports.build(app, ns)
            (reports.write_csv if fmt == "csv" else reports.write_xlsx)(tables, path)
        else:
            date_from, date_to = _dates(params)
            ns = argparse.Namespace(
                export_command="open-data" if kind == "open-data" else "registry",
                date_from=date_from,
                date_to=date_to,
                personal=kind == "registry-personal",
            )
            data = exports.build(app, ns)
            if fmt == "csv":
                exports.write_csv(data, path, bom=kind != "open-data")
            else:
                exports.write_xlsx(data, path)
        return path.name, path.read_bytes()


def _dates(params: dict[str, str]) -> tuple[str, str]:
    start = date.fromisoformat(params.get("from", ""))
    end = date.fromisoformat(params.get("to", ""))
    return start.isoformat(), end.isoformat()
