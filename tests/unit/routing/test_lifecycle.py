"""The life cycle as a table: which moves are allowed, what each sets, and the inbound
message moves."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models import Appeal, InboundMessage
from routing.lifecycle import (
    CLOSED_STATES,
    OPEN_STATES,
    LifecycleError,
    discard_held,
    finish_inbound,
    is_overdue_at,
    move,
    new_appeal,
    record_answer,
    release_inbound,
    requeue_inbound,
)

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def appeal(state: str) -> Appeal:
    a = new_appeal(reg_no="A-2026-000001", due_date=date(2026, 12, 10))
    a.state = state  # the fixture stands in for a stored row in this state
    return a


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        ("routed", "answered", True),
        ("routed", "closed", True),
        ("routed", "returned", True),
        ("routed", "not_considered", True),
        ("routed", "duplicate", True),
        ("routed", "forwarded_external", True),
        ("routed", "routed", True),  # re-routed to another department
        ("registered", "routed", True),
        ("answered", "closed", True),
        ("answered", "routed", True),
        ("answered", "returned", False),  # an interim answer was given: not incomplete now
        ("held", "routed", True),
        ("held", "duplicate", False),
        ("closed", "routed", False),
        ("closed", "answered", False),
        ("returned", "closed", False),
        # The citizen supplied the missing name and address (Art. 5, Art. 8).
        ("returned", "routed", True),
        ("not_considered", "routed", True),
        ("returned", "answered", False),
        ("not_considered", "closed", False),
        ("duplicate", "routed", False),
        ("forwarded_external", "routed", False),
    ],
)
def test_moves(start: str, to: str, allowed: bool) -> None:
    a = appeal(start)
    if allowed:
        move(a, to, NOW)  # type: ignore[arg-type]
        assert a.state == to
        assert (a.closed_at == NOW) == (to in CLOSED_STATES)
    else:
        with pytest.raises(LifecycleError):
            move(a, to, NOW)  # type: ignore[arg-type]
        assert a.state == start and a.closed_at is None


def test_a_new_appeal_is_routed_and_open() -> None:
    a = new_appeal(reg_no="A-2026-000002")
    assert a.state == "routed" and a.state in OPEN_STATES


@pytest.mark.parametrize(("final", "state"), [(True, "closed"), (False, "answered")])
def test_an_answer_closes_only_when_final(final: bool, state: str) -> None:
    a = appeal("routed")
    record_answer(a, NOW, final=final)
    assert a.state == state and a.answered_at == NOW


@pytest.mark.parametrize(
    ("state", "due_at", "now", "overdue"),
    [
        ("routed", None, datetime(2026, 12, 10, 20, 0, tzinfo=UTC), False),  # due today
        ("routed", None, datetime(2026, 12, 11, 8, 0, tzinfo=UTC), True),
        ("answered", None, datetime(2026, 12, 11, 8, 0, tzinfo=UTC), True),
        ("closed", None, datetime(2026, 12, 11, 8, 0, tzinfo=UTC), False),
        ("held", None, datetime(2026, 12, 11, 8, 0, tzinfo=UTC), False),  # waits for an admin
        # A 48-hour information request is overdue from the hour, not the day.
        (
            "routed",
            datetime(2026, 12, 5, 9, 0, tzinfo=UTC),
            datetime(2026, 12, 5, 9, 1, tzinfo=UTC),
            True,
        ),
        (
            "routed",
            datetime(2026, 12, 5, 9, 0, tzinfo=UTC),
            datetime(2026, 12, 5, 8, 59, tzinfo=UTC),
            False,
        ),
    ],
)
def test_overdue(state: str, due_at: datetime | None, now: datetime, overdue: bool) -> None:
    a = appeal(state)
    a.due_at = due_at
    assert is_overdue_at(a, now, now.date()) is overdue


def inbound(state: str) -> InboundMessage:
    return InboundMessage(state=state, attempts=3, reason="crash", lease_until=NOW)


def test_inbound_moves() -> None:
    row = inbound("processing")
    finish_inbound(row, "processed", "registered", NOW, role="appeal", appeal_id=7)
    assert (row.state, row.reason, row.appeal_id, row.lease_until, row.processed_at) == (
        "processed",
        "registered",
        7,
        None,
        NOW,
    )
    row = inbound("processing")
    release_inbound(row, hold_reason=None, detail="OSError")
    assert row.state == "received" and row.lease_until is None
    release_inbound(row, hold_reason="crash", detail="OSError")
    assert (row.state, row.reason) == ("held", "crash")
    requeue_inbound(row)
    assert (row.state, row.reason, row.attempts) == ("received", None, 0)
    with pytest.raises(LifecycleError):
        requeue_inbound(inbound("processed"))  # only held or discarded mail goes back
    row = inbound("held")
    discard_held(row, "spam")
    assert (row.state, row.reason, row.detail) == ("discarded", "admin-discard", "spam")
    with pytest.raises(LifecycleError):
        discard_held(inbound("received"), "x")


@pytest.mark.parametrize(
    ("to", "result"),
    [
        ("returned", "returned"),
        ("not_considered", "not_considered"),
        ("forwarded_external", "forwarded"),
    ],
)
def test_leaving_without_an_answer_records_the_result(to: str, result: str) -> None:
    a = appeal("routed")
    move(a, to, NOW)  # type: ignore[arg-type]
    assert (a.result, a.result_at, (a.characteristic_sources or {})["result"]) == (
        result,
        NOW,
        "rule",
    )


@pytest.mark.parametrize(
    ("final", "given", "expected"),
    [
        (True, None, ("explained", "default")),
        (True, ("resolved", "staff"), ("resolved", "staff")),
        (True, ("refused", "staff"), ("refused", "staff")),
        (False, ("resolved", "staff"), (None, None)),  # an interim answer is no answer
    ],
)
def test_a_final_answer_records_its_result(
    final: bool, given: tuple[str, str] | None, expected: tuple[str | None, str | None]
) -> None:
    a = appeal("routed")
    record_answer(a, NOW, final=final, result=given)
    assert (a.result, (a.characteristic_sources or {}).get("result")) == expected


@pytest.mark.parametrize("state", ["returned", "not_considered"])
def test_a_reopened_appeal_is_no_longer_finished(state: str) -> None:
    a = appeal("routed")
    move(a, state, NOW)  # type: ignore[arg-type]
    assert a.closed_at == NOW and a.result == state
    move(a, "routed", NOW)
    assert a.state == "routed" and a.closed_at is None
    # Its result of consideration is still to come.
    assert a.result is None and a.result_at is None
    assert "result" not in (a.characteristic_sources or {})
