"""Legal deadlines, table-driven with named cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.deadlines import (
    DeadlineRules,
    ExtensionRefused,
    WorkCalendar,
    compute_due,
    detect_privileged_category,
    extend,
    forward_deadline,
    is_overdue,
    legal_receipt_date,
    priority_for,
    return_incomplete_deadline,
)

KYIV = ZoneInfo("Europe/Kyiv")
WAR = WorkCalendar(DeadlineRules())  # martial law: holidays are working days (Law 2136-IX)
PEACE = WorkCalendar(DeadlineRules(martial_law=False))


def kyiv(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=KYIV).astimezone(UTC)


@pytest.mark.parametrize(
    ("received", "cal", "expected"),
    [
        pytest.param(kyiv(2026, 11, 27, 19), WAR, date(2026, 11, 30), id="friday-evening-receipt"),
        pytest.param(
            kyiv(2026, 11, 27, 17, 59), WAR, date(2026, 11, 27), id="friday-before-closing"
        ),
        pytest.param(kyiv(2026, 11, 28, 11), WAR, date(2026, 11, 30), id="saturday-receipt"),
        pytest.param(
            kyiv(2026, 11, 30, 7, 30), WAR, date(2026, 11, 30), id="monday-before-opening"
        ),
        # 24 August (Independence Day) 2026 is a Monday: a day off in peacetime only.
        pytest.param(
            kyiv(2026, 8, 24, 10), PEACE, date(2026, 8, 25), id="public-holiday-peacetime"
        ),
        pytest.param(
            kyiv(2026, 8, 24, 10), WAR, date(2026, 8, 24), id="public-holiday-martial-law"
        ),
        # 28 June 2026 (Constitution Day) is a Sunday: peacetime moves it to Monday 29 June.
        pytest.param(
            kyiv(2026, 6, 29, 10), PEACE, date(2026, 6, 30), id="holiday-transferred-to-monday"
        ),
        # Daylight saving ends on 25 October 2026; 17:30 local is still inside hours.
        pytest.param(
            kyiv(2026, 10, 26, 17, 30), WAR, date(2026, 10, 26), id="after-dst-end-in-hours"
        ),
        pytest.param(
            kyiv(2026, 10, 26, 18, 30), WAR, date(2026, 10, 27), id="after-dst-end-after-hours"
        ),
        pytest.param(kyiv(2026, 3, 27, 17, 59), WAR, date(2026, 3, 27), id="before-dst-start"),
    ],
)
def test_legal_receipt_date(received: datetime, cal: WorkCalendar, expected: date) -> None:
    assert legal_receipt_date(received, cal) == expected


@pytest.mark.parametrize(
    ("kind", "received", "cal", "kw", "due", "rule"),
    [
        pytest.param(
            "appeal",
            kyiv(2026, 11, 27, 19),
            WAR,
            {},
            date(2026, 12, 30),
            "appeal-30d",
            id="appeal-30-days-from-monday",
        ),
        pytest.param(
            "appeal",
            kyiv(2026, 11, 2, 10),
            WAR,
            {"quick": True},
            date(2026, 11, 17),
            "appeal-15d",
            id="appeal-no-study-15-days",
        ),
        # Receipt Fri 6 Nov + 30 = Sun 6 Dec: the term ends on Mon 7 Dec (Civil Code 254 §5).
        pytest.param(
            "appeal",
            kyiv(2026, 11, 6, 10),
            WAR,
            {},
            date(2026, 12, 7),
            "appeal-30d",
            id="appeal-last-day-on-sunday",
        ),
        # Thu 20 Aug + 5 working days, 24 Aug a holiday in peacetime only.
        pytest.param(
            "info_request",
            kyiv(2026, 8, 20, 10),
            PEACE,
            {},
            date(2026, 8, 28),
            "info-5wd",
            id="holiday-inside-working-day-period",
        ),
        pytest.param(
            "info_request",
            kyiv(2026, 8, 20, 10),
            WAR,
            {},
            date(2026, 8, 27),
            "info-5wd",
            id="same-period-under-martial-law",
        ),
        pytest.param(
            "info_request",
            kyiv(2026, 11, 27, 19),
            WAR,
            {},
            date(2026, 12, 7),
            "info-5wd",
            id="request-friday-evening",
        ),
    ],
)
def test_due_dates(
    kind: str, received: datetime, cal: WorkCalendar, kw: dict, due: date, rule: str
) -> None:
    d = compute_due(kind, received, cal, **kw)  # type: ignore[arg-type]
    assert (d.due_date, d.rule, d.due_at) == (due, rule, None)


def test_urgent_request_is_48_hours_not_a_date() -> None:
    received = kyiv(2026, 11, 27, 19)  # Friday evening: 48 hours run through the weekend
    d = compute_due("info_request", received, WAR, urgent=True)
    assert d.due_at == received + timedelta(hours=48)
    assert d.due_date == date(2026, 11, 29) and d.rule == "info-48h"
    assert not is_overdue(d.due_date, d.due_at, received + timedelta(hours=47), KYIV)
    assert is_overdue(d.due_date, d.due_at, received + timedelta(hours=48, seconds=1), KYIV)


# Receipt Fri 6 Nov 2026: day 30 is Sun 6 Dec, so the term ends on Mon 7 Dec (Civil Code
# Art. 254 §5). Extensions are counted from receipt, not from that shifted Monday.
SHIFTED_RECEIPT = date(2026, 11, 6)
SHIFTED_DUE = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("kind", "receipt", "due", "so_far", "days", "cal", "expected"),
    [
        pytest.param(
            "appeal",
            SHIFTED_RECEIPT,
            SHIFTED_DUE,
            None,
            15,
            WAR,
            date(2026, 12, 21),
            id="30-day-appeal-extend-15-is-45-days-from-receipt",
        ),
        # Day 43 is Sat 19 Dec: the term ends on Mon 21 Dec, never on a day off.
        pytest.param(
            "appeal",
            SHIFTED_RECEIPT,
            SHIFTED_DUE,
            None,
            13,
            WAR,
            date(2026, 12, 21),
            id="weekend-landing-moved-to-monday",
        ),
        pytest.param(
            "appeal",
            SHIFTED_RECEIPT,
            SHIFTED_DUE,
            None,
            10,
            WAR,
            date(2026, 12, 16),
            id="extend-10-on-a-weekday",
        ),
        # A second extension adds to the term in force (30 + 5), not to the due date.
        pytest.param(
            "appeal",
            SHIFTED_RECEIPT,
            date(2026, 12, 11),
            35,
            10,
            WAR,
            date(2026, 12, 21),
            id="second-extension-up-to-45",
        ),
        # Mon 30 Nov + 5 working days = Mon 7 Dec; extended by 15 to 20 working days:
        # Mon 28 Dec (25 December is a working day under martial law).
        pytest.param(
            "info_request",
            date(2026, 11, 30),
            date(2026, 12, 7),
            None,
            15,
            WAR,
            date(2026, 12, 28),
            id="info-request-5-to-20-working-days",
        ),
        pytest.param(
            "info_request",
            date(2026, 11, 30),
            date(2026, 12, 7),
            None,
            15,
            PEACE,
            date(2026, 12, 29),
            id="info-request-christmas-a-day-off-in-peacetime",
        ),
    ],
)
def test_extension_counted_from_receipt(
    kind: str,
    receipt: date,
    due: date,
    so_far: int | None,
    days: int,
    cal: WorkCalendar,
    expected: date,
) -> None:
    got = extend(
        kind,  # type: ignore[arg-type]
        receipt,
        due,
        days,
        cal,
        requested_on=receipt,
        term_so_far=so_far,
    )
    assert got == expected
    assert cal.is_working_day(got)


@pytest.mark.parametrize(
    ("kind", "due", "so_far", "days", "total", "limit", "most"),
    [
        pytest.param("appeal", SHIFTED_DUE, None, 16, 46, 45, 15, id="30-day-appeal-extend-16"),
        pytest.param("appeal", SHIFTED_DUE, 35, 11, 46, 45, 10, id="second-extension-past-45"),
        pytest.param(
            "info_request", date(2026, 11, 13), None, 16, 21, 20, 15, id="info-request-past-20"
        ),
    ],
)
def test_extension_past_the_legal_total_is_refused(
    kind: str, due: date, so_far: int | None, days: int, total: int, limit: int, most: int
) -> None:
    with pytest.raises(ExtensionRefused) as exc:
        extend(
            kind,  # type: ignore[arg-type]
            SHIFTED_RECEIPT,
            due,
            days,
            WAR,
            requested_on=SHIFTED_RECEIPT,
            term_so_far=so_far,
        )
    assert exc.value.code == "too-long"
    assert (exc.value.params["total"], exc.value.params["limit"]) == (total, limit)
    assert exc.value.params["most"] == most
    assert str(limit) in str(exc.value)


def test_extension_after_the_term_expired_is_refused() -> None:
    receipt = date(2026, 11, 30)
    with pytest.raises(ExtensionRefused, match="expired"):
        extend("appeal", receipt, date(2026, 12, 30), 5, WAR, requested_on=date(2026, 12, 31))


def test_request_extension_notice_within_first_five_working_days() -> None:
    receipt = date(2026, 11, 30)  # Monday
    due = compute_due("info_request", kyiv(2026, 11, 30, 10), WAR).due_date  # Mon 7 Dec
    new = extend("info_request", receipt, due, 15, WAR, requested_on=date(2026, 12, 4))
    assert WAR.working_days_between(receipt, new) == 20
    with pytest.raises(ExtensionRefused, match="20"):
        extend("info_request", receipt, due, 16, WAR, requested_on=date(2026, 12, 4))
    # The sixth working day (Tue 8 Dec) is too late for the notice.
    with pytest.raises(ExtensionRefused, match="first 5 working days"):
        extend("info_request", receipt, date(2026, 12, 9), 5, WAR, requested_on=date(2026, 12, 8))


def test_urgent_request_cannot_be_extended() -> None:
    with pytest.raises(ExtensionRefused, match="48-hour"):
        extend(
            "info_request",
            date(2026, 11, 30),
            date(2026, 12, 2),
            3,
            WAR,
            requested_on=date(2026, 11, 30),
            urgent=True,
        )


def test_admin_extra_days_off_and_working_days() -> None:
    cal = WorkCalendar(
        DeadlineRules(
            extra_days_off=(date(2026, 12, 31),), extra_working_days=(date(2026, 12, 26),)
        )
    )
    assert not cal.is_working_day(date(2026, 12, 31))
    assert cal.is_working_day(date(2026, 12, 26))  # a Saturday made a working day
    # An override passed in from the database wins over settings.
    cal2 = WorkCalendar(
        DeadlineRules(extra_days_off=(date(2026, 12, 31),)), {date(2026, 12, 31): True}
    )
    assert cal2.is_working_day(date(2026, 12, 31))
    # New Year is a working day under martial law, so the next working day is 1 January.
    assert legal_receipt_date(kyiv(2026, 12, 31, 10), cal) == date(2027, 1, 1)


def test_forward_and_return_deadlines() -> None:
    receipt = date(2026, 11, 27)  # Friday
    assert forward_deadline("appeal", receipt, WAR) == date(2026, 12, 2)  # 5 calendar days
    assert forward_deadline("info_request", receipt, WAR) == date(2026, 12, 4)  # 5 working days
    assert return_incomplete_deadline(receipt, WAR) == date(2026, 12, 7)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param(
            "Я учасник бойових дій, посвідчення УБД серії ...", "combat_veteran", id="ubd-uk"
        ),
        pytest.param("Являюсь участником боевых действий", "combat_veteran", id="ubd-ru"),
        pytest.param("Я особа з інвалідністю II групи", "disability", id="disability-uk"),
        pytest.param("инвалид 2 группы, прошу помочь", "disability", id="disability-ru"),
        pytest.param(
            "Ми багатодітна родина, маємо п'ятеро дітей", "large_family", id="large-family-uk"
        ),
        pytest.param("многодетная семья", "large_family", id="large-family-ru"),
        pytest.param("Я ліквідатор наслідків аварії на ЧАЕС", "chornobyl", id="chornobyl"),
        pytest.param("мій дід ветеран Другої світової війни", "war_veteran", id="war-veteran"),
        pytest.param("Прошу відремонтувати дорогу біля школи", None, id="ordinary"),
    ],
)
def test_privileged_category(text: str, code: str | None) -> None:
    assert detect_privileged_category(text) == code
    assert priority_for(code) == (1 if code else 0)
