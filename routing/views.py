"""The plain values templates see: an appeal and its department as dicts of strings and
numbers, never ORM rows (a template cannot then lazy-load or change anything)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from models import Appeal, Department
from routing.config import PipelineConfig
from routing.greeting import Greetings


def _d(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def _contacts(found: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"location": found.get("location") or ""}
    for key in ("name", "address", "phone"):
        ev = found.get(key)
        out[key] = {"how": ev.get("how", ""), "sure": ev.get("sure", "")} if ev else None
    return out


def appeal_view(appeal: Appeal, dept: Department | None, cfg: PipelineConfig) -> dict[str, Any]:
    tz = ZoneInfo(cfg.timezone)
    flags = appeal.flags or {}
    return {
        "instance": dict(cfg.instance),
        "appeal": {
            "reg_no": appeal.reg_no,
            "kind": appeal.kind,
            "urgent": appeal.urgent,
            "received": appeal.received_at.astimezone(tz).strftime("%d.%m.%Y %H:%M"),
            "receipt_date": _d(appeal.receipt_date),
            "due_date": _d(appeal.due_date),
            "due_at": appeal.due_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
            if appeal.due_at
            else None,
            "subject": appeal.subject,
            "text": appeal.text,
            "topic": appeal.topic,
            "citizen_name": appeal.citizen_name or "",
            # The one salutation every letter to the citizen opens with, by the letter's
            # language ("Шановна Маріє Іванівно!"; neutral when the name is not sure).
            "greeting": Greetings(appeal.citizen_name, collective=appeal.collective),
            "citizen_email": appeal.citizen_email or "",
            "citizen_address": appeal.citizen_address or "",
            "citizen_phone": appeal.citizen_phone or "",
            "priority": appeal.priority,
            "extended_days": appeal.extended_days or 0,
            "privileged_category": appeal.privileged_category,
            # A citizen's reply to a final answer registered as a new appeal: the number
            # of the first appeal, and whether the reply disagrees with its decision.
            "followup_of": flags.get("followup_of", ""),
            "complaint": appeal.appeal_type == "complaint",
            # A returned or not-considered appeal the citizen completed: from which state.
            "reopened_from": (flags.get("reopened") or {}).get("from", ""),
            # Why it came as list or bulk mail ("precedence:bulk"); no automatic letter
            # went to the citizen then, so the department's answer is the first they get.
            "bulk_mail": flags.get("bulk_mail"),
            # Where each contact field was found and how sure (routing.citizen.Evidence);
            # empty for appeals registered before this was kept.
            "contacts": _contacts(flags.get("contacts") or {}),
        },
        "department": (
            {"code": dept.code, "name": dept.name, "email": dept.email, "triage": dept.is_triage}
            if dept is not None
            else {"code": "", "name": "", "email": "", "triage": False}
        ),
        "departments": [{"code": code, "name": name} for code, name in cfg.departments],
    }


def viewer(cfg: PipelineConfig) -> Callable[[Appeal], dict[str, Any]]:
    """`appeal_view` of an appeal with its own department, for code that renders many."""
    return lambda a: appeal_view(a, a.department, cfg)
