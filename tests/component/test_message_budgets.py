"""The worker's per-message budgets on a real gateway (SQLite, raw store, the real
worker and pipeline; `tests/worker_probe.py`): a message over a limit is held with the
limit's reason, and the ordinary letter after it is processed as usual."""

from __future__ import annotations

import adversarial_mail as mail
from worker_probe import probe


def test_t19_messages_over_the_limits_are_held_and_the_next_one_goes_on() -> None:
    with probe() as p:
        hostile = {
            "too-deep": mail.deep_nesting(25),
            "too-many-parts": mail.many_parts(700),
            "headers-too-large": mail.huge_header(400_000),
        }
        for reason, raw in hostile.items():
            r = p.feed(raw)
            assert (r.state, r.reason) == ("held", reason), r
        after = p.feed(mail.ordinary(1))
        assert after.state == "processed" and after.reason == "registered", after


def test_t19_a_message_over_its_cpu_seconds_is_held_and_nothing_of_it_is_kept() -> None:
    # A real clock and a budget no message can meet: the parse is stopped at its first
    # check, or the pipeline's transaction rolls back before the commit.
    with probe(limits={"message_cpu_seconds": 1e-6}) as p:
        r = p.feed(mail.big_attachment(500_000))
        assert (r.state, r.reason) == ("held", "over-budget-cpu"), r
        assert "of CPU >" in r.detail
        r = p.feed(mail.ordinary(2))
        assert (r.state, r.reason) == ("held", "over-budget-cpu"), r
        from models import Appeal, OutboundMessage

        with p.app.sessions() as s:
            assert s.query(Appeal).count() == 0
            assert s.query(OutboundMessage).count() == 0


def test_size_and_memory_limits_hold_before_parsing() -> None:
    with probe(limits={"max_message_bytes": 100_000, "memory_mb": 16}) as p:
        r = p.feed(mail.big_attachment(200_000))
        assert (r.state, r.reason) == ("held", "too-large"), r
    with probe(limits={"memory_mb": 16}) as p:
        r = p.feed(mail.big_attachment(2_000_000))
        assert (r.state, r.reason) == ("held", "over-budget-memory"), r
        r = p.feed(mail.big_attachment(100_000))
        assert r.state == "processed", r


def test_the_hostile_shapes_within_the_limits_are_worked_on_to_a_recorded_state() -> None:
    with probe() as p:
        for name, make in mail.HOSTILE.items():
            r = p.feed(make())
            assert r.state in ("processed", "discarded", "held") and r.reason, (name, r)
            assert r.reason != "crash" and r.reason != "unparseable", (name, r)
