"""Legal deadlines for appeals and public-information requests. Pure functions over dates.

Sources (see ../shared/domain/appeals-law.md):
- Law of Ukraine 393/96-ВР "On citizens' appeals" (appeals): Art. 5 (return of an
  incomplete appeal within 10 days), Art. 7 (forwarding to the competent body within
  5 days), Art. 20 (one month, 30 days; 15 days when no additional study is needed;
  extensions up to 45 days in total).
- Law of Ukraine 2939-VI "On access to public information" (requests), Art. 20: 5 working
  days; 48 hours when the information is needed to protect life or freedom, or concerns the
  environment, food quality, accidents, disasters or other emergencies; extension to
  20 working days for large volumes, with notice within the first 5 working days.
- Civil Code of Ukraine, Art. 253 (a term counted in days starts on the day after the
  event) and Art. 254 §5 (a term whose last day is a day off ends on the next working day).
- Labour Code of Ukraine, Art. 67 (a public holiday on a weekend moves to the next working
  day) and Law 2136-IX on labour relations under martial law, which suspends Art. 67 and
  makes public holidays working days. The `holidays` package already models that: from
  2022 the Ukrainian holidays sit in its "workday" category. `martial_law=False` restores
  peacetime: the holidays are days off again and weekend ones move to Monday.

Receipt: an e-mail received after working hours or on a day off counts as received on the
next working day (the bodies' own procedures; appeals-law.md). Overdue is computed from the
due date and the clock, never stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

import saferegex

Kind = Literal["appeal", "info_request"]


@dataclass(frozen=True)
class DeadlineRules:
    """The legal values (defaults) or an admin's settings; same names as the settings."""

    timezone: str = "Europe/Kyiv"
    working_day_start: time = time(9, 0)
    working_day_end: time = time(18, 0)
    appeal_days: int = 30  # Law 393/96-ВР Art. 20
    quick_days: int = 15  # Art. 20: no additional study needed
    max_total_days: int = 45  # Art. 20: cap with extensions
    info_working_days: int = 5  # Law 2939-VI Art. 20 §1
    info_urgent_hours: int = 48  # Law 2939-VI Art. 20 §2
    info_extended_working_days: int = 20  # Law 2939-VI Art. 20 §4
    forward_days: int = 5  # Law 393/96-ВР Art. 7
    return_incomplete_days: int = 10  # Law 393/96-ВР Art. 5
    holidays_country: str = "UA"
    martial_law: bool = True  # Law 2136-IX
    extra_days_off: tuple[date, ...] = field(default=())
    extra_working_days: tuple[date, ...] = field(default=())

    def __post_init__(self) -> None:
        # The settings file validates straight into this class, so its checks are here.
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from exc
        if not self.quick_days <= self.appeal_days <= self.max_total_days:
            raise ValueError("appeal_days: need quick_days <= appeal_days <= max_total_days")
        if self.working_day_start >= self.working_day_end:
            raise ValueError("working_day_start: must be before working_day_end")


@lru_cache(maxsize=64)
def _holidays(country: str, year: int, martial_law: bool) -> frozenset[date]:
    if martial_law:
        return frozenset(holidays.country_holidays(country, years=year))
    days: set[date] = set(holidays.country_holidays(country, years=year))
    suspended: Iterable[date]
    try:
        suspended = holidays.country_holidays(country, years=year, categories=("workday",))
    except (NotImplementedError, ValueError):
        suspended = ()
    for d in suspended:
        days.add(d)
        # Labour Code Art. 67: a holiday on a Saturday or Sunday moves to the next Monday.
        if d.weekday() >= 5:
            moved = d + timedelta(days=7 - d.weekday())
            while moved in days:
                moved += timedelta(days=1)
            days.add(moved)
    return frozenset(days)


class WorkCalendar:
    """Working days: Monday to Friday, minus public holidays (per the martial-law rule),
    with admin overrides (extra days off, extra working days) taking precedence."""

    def __init__(self, rules: DeadlineRules, overrides: Mapping[date, bool] | None = None) -> None:
        self.rules = rules
        self.tz = ZoneInfo(rules.timezone)
        self.overrides: dict[date, bool] = {d: False for d in rules.extra_days_off}
        self.overrides.update({d: True for d in rules.extra_working_days})
        self.overrides.update(overrides or {})

    def is_working_day(self, d: date) -> bool:
        if d in self.overrides:
            return self.overrides[d]
        if d.weekday() >= 5:
            return False
        return d not in _holidays(self.rules.holidays_country, d.year, self.rules.martial_law)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def on_or_after(self, d: date) -> date:
        return d if self.is_working_day(d) else self.next_working_day(d)

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after `d` (Civil Code Art. 253: counting starts the next day)."""
        for _ in range(n):
            d = self.next_working_day(d)
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]."""
        n, d = 0, a
        while d < b:
            d += timedelta(days=1)
            n += self.is_working_day(d)
        return n


@dataclass(frozen=True)
class Due:
    receipt_date: date
    due_date: date
    due_at: datetime | None  # only for 48-hour requests: the exact instant (UTC)
    rule: str  # short name recorded on the registration event


class ExtensionRefused(Exception):
    """An extension the law does not allow.

    `code` names the reason and `params` its figures, so that the letter telling the staff
    member why can say it in the letter's own language (templates/*/department/_problem.j2);
    `str()` is an English sentence for the event log.
    """

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def legal_receipt_date(received_at: datetime, cal: WorkCalendar) -> date:
    """The date an e-mail counts as received: the same day inside working hours (or before
    they start) on a working day, otherwise the next working day."""
    local = received_at.astimezone(cal.tz)
    d = local.date()
    if not cal.is_working_day(d) or local.time() >= cal.rules.working_day_end:
        return cal.next_working_day(d)
    return d


def compute_due(
    kind: Kind,
    received_at: datetime,
    cal: WorkCalendar,
    *,
    quick: bool = False,
    urgent: bool = False,
) -> Due:
    rules = cal.rules
    receipt = legal_receipt_date(received_at, cal)
    if kind == "appeal":
        days = rules.quick_days if quick else rules.appeal_days
        # Calendar days from receipt; a last day that is a day off ends on the next
        # working day (Civil Code Art. 254 §5).
        due = cal.on_or_after(receipt + timedelta(days=days))
        return Due(receipt, due, None, f"appeal-{days}d")
    if urgent:
        # 48 hours from receipt of the request: an instant, not a date (Art. 20 §2).
        at = received_at + timedelta(hours=rules.info_urgent_hours)
        return Due(receipt, at.astimezone(cal.tz).date(), at, f"info-{rules.info_urgent_hours}h")
    due = cal.add_working_days(receipt, rules.info_working_days)
    return Due(receipt, due, None, f"info-{rules.info_working_days}wd")


def base_term(kind: Kind, rules: DeadlineRules) -> int:
    """The term before any extension: calendar days for appeals (Art. 20), working days
    for requests (Law 2939-VI Art. 20 §1)."""
    return rules.appeal_days if kind == "appeal" else rules.info_working_days


def extend(
    kind: Kind,
    receipt_date: date,
    current_due: date,
    extra_days: int,
    cal: WorkCalendar,
    *,
    requested_on: date,
    term_so_far: int | None = None,
    urgent: bool = False,
) -> date:
    """The new due date, or ExtensionRefused.

    The term is counted from the receipt date, never from the current due date: a due
    date that was moved off a weekend (Civil Code Art. 254 §5) would otherwise lend the
    extension the days of that weekend. `term_so_far` is the term in force, in the kind's
    units (the base term plus extensions already granted); by default the base term.

    Appeals: the new term is `term_so_far + extra_days` calendar days from receipt, at most
    `max_total_days` (45, Art. 20); its last day, when a day off, moves to the next working
    day (Civil Code Art. 254 §5). Only while the term is running.
    Requests: the new term is `term_so_far + extra_days` working days from receipt, at most
    `info_extended_working_days` (20), and only while the requester can still be told
    within the first `info_working_days` (5) working days (Law 2939-VI Art. 20 §4);
    48-hour requests cannot be extended.
    """
    rules = cal.rules
    term = base_term(kind, rules) if term_so_far is None else term_so_far
    if extra_days <= 0:
        raise ExtensionRefused(
            "not-positive", "the extension must be a positive number of days", days=extra_days
        )
    if requested_on > current_due:
        raise ExtensionRefused(
            "expired", "the term has already expired", due=current_due.strftime("%d.%m.%Y")
        )
    total = term + extra_days
    if kind == "appeal":
        if total > rules.max_total_days:
            raise ExtensionRefused(
                "too-long",
                f"{total} days in total; the law allows at most {rules.max_total_days}",
                total=total,
                limit=rules.max_total_days,
                unit="days",
                most=rules.max_total_days - term,
            )
        return cal.on_or_after(receipt_date + timedelta(days=total))
    if urgent:
        raise ExtensionRefused("urgent", "a 48-hour request cannot be extended")
    notice_by = cal.add_working_days(receipt_date, rules.info_working_days)
    if requested_on > notice_by:
        raise ExtensionRefused(
            "notice-late",
            f"the requester must be told within the first {rules.info_working_days} working days",
            days=rules.info_working_days,
            by=notice_by.strftime("%d.%m.%Y"),
        )
    if total > rules.info_extended_working_days:
        raise ExtensionRefused(
            "too-long",
            f"{total} working days in total; the law allows at most "
            f"{rules.info_extended_working_days}",
            total=total,
            limit=rules.info_extended_working_days,
            unit="working-days",
            most=rules.info_extended_working_days - term,
        )
    # Working days from receipt always end on a working day: nothing to move.
    return cal.add_working_days(receipt_date, total)


def forward_deadline(kind: Kind, receipt_date: date, cal: WorkCalendar) -> date:
    """By when an item outside our competence must be forwarded: 5 days for appeals
    (Art. 7), 5 working days for requests (Law 2939-VI Art. 22 §3)."""
    if kind == "appeal":
        return receipt_date + timedelta(days=cal.rules.forward_days)
    return cal.add_working_days(receipt_date, cal.rules.forward_days)


def return_incomplete_deadline(receipt_date: date, cal: WorkCalendar) -> date:
    """The latest date to return an incomplete appeal with an explanation (Art. 5)."""
    return receipt_date + timedelta(days=cal.rules.return_incomplete_days)


def is_overdue(due_date: date, due_at: datetime | None, now: datetime, tz: ZoneInfo) -> bool:
    if due_at is not None:
        return now > due_at
    return now.astimezone(tz).date() > due_date


def days_overdue(due_date: date, now: datetime, tz: ZoneInfo) -> int:
    return max(0, (now.astimezone(tz).date() - due_date).days)


# Art. 20: appeals of war veterans, people with disabilities, large families, Chornobyl
# victims, Heroes of Ukraine ... are considered first. Stable codes for reports.
# Word boundaries are spelled (?:^|\W) ... (?:\W|$): RE2's \b is ASCII-only.
_PRIVILEGED: tuple[tuple[str, saferegex.Pattern[str]], ...] = (
    (
        "hero",
        saferegex.compile(
            r"геро[йяю]\w*\s+(?:україни|радянського|соціалістичної)|герой\s+украины",
            saferegex.IGNORECASE,
        ),
    ),
    (
        "combat_veteran",
        saferegex.compile(
            r"(?:^|\W)УБД(?:\W|$)|учасни\w+\s+бойових\s+дій|участни\w+\s+боевых\s+действий|ветеран\w*\s+АТО|"
            r"учасни\w+\s+(?:АТО|ООС)|захисни\w+\s+україни|ветеран\w*\s+війни\s+з\s+росією",
            saferegex.IGNORECASE,
        ),
    ),
    (
        "war_veteran",
        saferegex.compile(
            r"ветеран\w*\s+(?:другої\s+світової\s+)?війни|ветеран\w*\s+(?:великой\s+отечественной\s+)?войны|"
            r"учасни\w+\s+війни|участни\w+\s+войны",
            saferegex.IGNORECASE,
        ),
    ),
    (
        "disability",
        saferegex.compile(
            r"особ\w+\s+з\s+інвалідністю|інвалід\w*\s+(?:[IІ]{1,3}|[123]|першої|другої|третьої)\s*груп|"
            r"маю\s+інвалідність|(?:^|\W)інвалідн\w+\s+груп|инвалид\w*\s+(?:[IІ]{1,3}|[123]|первой|второй|третьей)\s*групп|"
            r"дитин\w+\s+з\s+інвалідністю|ребен\w+[- ]инвалид",
            saferegex.IGNORECASE,
        ),
    ),
    ("large_family", saferegex.compile(r"багатодітн\w+|многодетн\w+", saferegex.IGNORECASE)),
    (
        "chornobyl",
        saferegex.compile(
            r"чорнобил\w+|чернобыл\w+|ліквідатор\w*\s+наслідків|(?:^|\W)ЧА[ЕЭ]С(?:\W|$)",
            saferegex.IGNORECASE,
        ),
    ),
)


# The categories as the register names them (Art. 20 of Law 393/96-ВР and the laws on
# the status of each group).
PRIVILEGED_LABELS = {
    "hero": "Герой України",
    "combat_veteran": "учасник бойових дій",
    "war_veteran": "ветеран війни",
    "disability": "особа з інвалідністю",
    "large_family": "багатодітна сім'я",
    "chornobyl": "постраждалий внаслідок Чорнобильської катастрофи",
}


def detect_privileged_category(text: str) -> str | None:
    """The first privileged category the citizen states about themselves, or None."""
    for code, pattern in _PRIVILEGED:
        if pattern.search(text):
            return code
    return None


def priority_for(category: str | None) -> int:
    """1 = first-priority handling (Art. 20), 0 = ordinary."""
    return 1 if category else 0
