"""Learned routing rules in the database: looked up per appeal, replaced by an admin.

`appeals routing suggest` learns a (label, district) -> department table from the history
(routing.rule_learning); the admin reviews it, edits it if needed, and
`appeals routing apply FILE` stores it here as a whole new set. The worker reads the
current set on every appeal, so an applied table takes effect without a restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import Department, RoutingRule


class RuleError(ValueError):
    """An applied table names something that does not exist or is malformed."""


@dataclass(frozen=True)
class Rule:
    label: str
    district: str | None  # None: any district
    department: str  # department code
    support: int = 0
    share: float = 0.0


def learned_department(session: Session, label: str, district: str | None) -> str | None:
    """The department code of the rule for (label, district), else of the label's
    any-district rule, else None."""
    keys = [district, ""] if district else [""]
    rows = session.execute(
        select(RoutingRule.district, Department.code)
        .join(Department, Department.id == RoutingRule.department_id)
        .where(RoutingRule.label == label, RoutingRule.district.in_(keys))
    ).all()
    by_district = {d: code for d, code in rows}
    for key in keys:
        if key in by_district:
            return by_district[key]
    return None


def parse_rules(data: Mapping[str, Any]) -> list[Rule]:
    """Rules from the JSON `appeals routing suggest` prints (its "table" list)."""
    table = data.get("table")
    if not isinstance(table, list):
        raise RuleError('expected an object with a "table" list')
    out: list[Rule] = []
    seen: set[tuple[str, str | None]] = set()
    for i, item in enumerate(table):
        if not isinstance(item, Mapping):
            raise RuleError(f"table[{i}]: expected an object")
        label, department = item.get("topic"), item.get("department")
        district = item.get("district") or None
        if not isinstance(label, str) or not label:
            raise RuleError(f"table[{i}]: 'topic' must be a non-empty string")
        if not isinstance(department, str) or not department:
            raise RuleError(f"table[{i}]: 'department' must be a non-empty string")
        if district is not None and not isinstance(district, str):
            raise RuleError(f"table[{i}]: 'district' must be a string or null")
        if (label, district) in seen:
            raise RuleError(f"table[{i}]: ({label!r}, {district!r}) appears twice")
        seen.add((label, district))
        out.append(
            Rule(
                label,
                district,
                department,
                int(item.get("support") or 0),
                float(item.get("share") or 0.0),
            )
        )
    return out


def apply_rules(session: Session, rules: Iterable[Rule], *, now: datetime, actor: str) -> int:
    """Replace the whole rule set with `rules` (in the caller's transaction)."""
    items = list(rules)
    departments = dict(session.execute(select(Department.code, Department.id)).all())
    unknown = sorted({r.department for r in items} - set(departments))
    if unknown:
        raise RuleError(f"unknown department code(s): {unknown}")
    session.execute(delete(RoutingRule))
    for r in items:
        session.add(
            RoutingRule(
                label=r.label[:200],
                district=(r.district or "")[:120],
                department_id=departments[r.department],
                support=r.support,
                share=r.share,
                applied_at=now,
                applied_by=actor[:120],
            )
        )
    session.flush()
    return len(items)


def current_rules(session: Session) -> list[Rule]:
    rows = session.execute(
        select(RoutingRule, Department.code)
        .join(Department, Department.id == RoutingRule.department_id)
        .order_by(RoutingRule.label, RoutingRule.district)
    ).all()
    return [Rule(r.label, r.district or None, code, r.support, r.share) for r, code in rows]
