"""A claim whose lease ran out is taken over, never processed twice: the attempt count
the claim returned is its token, checked under a row lock in every write to the message
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import generated_appeals
import pytest
from sqlalchemy import func, select

from gateway.clock import ManualClock
from models import InboundMessage, OutboundMessage
from models.claims import claim_inbound
from routing.mail import Envelope


@pytest.fixture(params=["sqlite", "postgresql"])
def db_patch(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "sqlite":
        return {}
    url = request.getfixturevalue("pg_schema_url")
    return {"database": {"url": url}}


def test_a_claim_taken_over_after_its_lease_is_left_to_the_new_owner(
    make_app: Any, db_patch: dict[str, Any]
) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = make_app({**db_patch, "worker": {"lease_seconds": 30}}, clock=clock)
    env = Envelope("smtp", "olena@example.org", ("zhkg@council.example",))
    ids = [app.ingest().accept(generated_appeals.appeal(i), env).inbound_id for i in range(3)]
    slow, fast = app.worker(), app.worker()
    with app.sessions.begin() as session:
        first = claim_inbound(session, clock.now(), 10, timedelta(seconds=30))
    assert {i: c.attempts for i, c in first.items()} == {i: 1 for i in ids}
    app.ingest().spill(list(first))
    # The slow worker is paused past its lease; the other one claims the same messages.
    clock.advance(seconds=31)
    with app.sessions.begin() as session:
        second = claim_inbound(session, clock.now(), 10, timedelta(seconds=30))
    assert {i: c.attempts for i, c in second.items()} == {i: 2 for i in ids}
    # The slow worker wakes up and goes on with its old claim: it must not write anything.
    assert [slow.process_one(i, first[i]) for i in ids] == [None, None, None]
    with app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == 0
        states = set(s.scalars(select(InboundMessage.state)))
    assert states == {"processing"}
    outcomes = [fast.process_one(i, second[i]) for i in ids]
    assert all(o is not None and o.state == "processed" for o in outcomes)
    # ... and a late failure of the old claim does not release the new owner's work.
    slow._record_error(ids[0], first[ids[0]].attempts, RuntimeError("late"))
    with app.sessions() as s:
        acks = s.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.kind == "citizen/ack")
        )
        rows = list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))
    assert acks == 3
    assert [(r.state, r.attempts) for r in rows] == [("processed", 2)] * 3
