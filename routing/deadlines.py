"""Legal deadlines (interim minimal version; the full table-driven module replaces it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class DeadlineRules:
    timezone: str = "Europe/Kyiv"
    working_day_start: time = time(9, 0)
    working_day_end: time = time(18, 0)
    appeal_days: int = 30
    quick_days: int = 15
    max_total_days: int = 45
    info_working_days: int = 5
    info_urgent_hours: int = 48
    info_extended_working_days: int = 20
    forward_days: int = 5
    return_incomplete_days: int = 10
    holidays_country: str = "UA"
    martial_law: bool = True
    extra_days_off: tuple[date, ...] = field(default=())
    extra_working_days: tuple[date, ...] = field(default=())


class WorkCalendar:
    def __init__(self, rules: DeadlineRules, overrides: dict[date, bool] | None = None) -> None:
        self.rules = rules
        self.overrides = overrides or {}

    def is_working_day(self, d: date) -> bool:
        if d in self.overrides:
            return self.overrides[d]
        return d.weekday() < 5

    def next_working_day(self, d: date) -> date:
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def add_working_days(self, d: date, n: int) -> date:
        for _ in range(n):
            d = self.next_working_day(d)
        return d


@dataclass(frozen=True)
class Due:
    receipt_date: date
    due_date: date
    due_at: datetime | None
    rule: str


def legal_receipt_date(received_at: datetime, cal: WorkCalendar) -> date:
    local = received_at.astimezone(ZoneInfo(cal.rules.timezone))
    d = local.date()
    if not cal.is_working_day(d) or local.time() >= cal.rules.working_day_end:
        return cal.next_working_day(d)
    return d


def compute_due(
    kind: Literal["appeal", "info_request"],
    received_at: datetime,
    cal: WorkCalendar,
    *,
    quick: bool = False,
    urgent: bool = False,
) -> Due:
    receipt = legal_receipt_date(received_at, cal)
    if kind == "appeal":
        days = cal.rules.quick_days if quick else cal.rules.appeal_days
        return Due(receipt, receipt + timedelta(days=days), None, f"appeal-{days}d")
    if urgent:
        at = received_at + timedelta(hours=cal.rules.info_urgent_hours)
        local = at.astimezone(ZoneInfo(cal.rules.timezone)).date()
        return Due(receipt, local, at, "info-48h")
    due = cal.add_working_days(receipt, cal.rules.info_working_days)
    return Due(receipt, due, None, "info-5wd")


class ExtensionRefused(Exception):
    pass


def extend(
    kind: str,
    receipt_date: date,
    current_due: date,
    extra_days: int,
    cal: WorkCalendar,
    *,
    requested_on: date,
) -> date:
    if kind == "appeal":
        new = current_due + timedelta(days=extra_days)
        if (new - receipt_date).days > cal.rules.max_total_days:
            raise ExtensionRefused("more than 45 days in total")
        return new
    return cal.add_working_days(current_due, extra_days)


def return_incomplete_deadline(receipt_date: date, cal: WorkCalendar) -> date:
    return receipt_date + timedelta(days=cal.rules.return_incomplete_days)


def detect_privileged_category(text: str) -> str | None:
    return None


def priority_for(category: str | None) -> int:
    return 1 if category else 0
