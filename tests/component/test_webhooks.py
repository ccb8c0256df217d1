"""Webhooks: events queued with the change that causes them, signed, delivered by the
sender to a real local HTTP server that fails for a while and then recovers: every event
arrives exactly once per delivery id, in order per appeal, after retries with backoff."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import webtest
from receptiontest import TEXT
from sqlalchemy import select

from gateway.app import App
from gateway.clock import ManualClock
from gateway.commands.appeals import reroute_appeal
from gateway.outbound import webhooks
from models import Appeal, WebhookDelivery
from routing.lifecycle import record_answer

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class Receiver:
    """An HTTP server that answers 500 to the first `fail` requests, then 200."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.requests: list[tuple[int, dict[str, str], bytes]] = []  # (status, headers, body)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    status = 500 if outer.fail > 0 else 200
                    outer.fail -= 1
                    outer.requests.append((status, dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(b) | {"_h": h} for st, h, b in self.requests if st == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=5)
    yield r
    r.server.shutdown()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(make_app: Any, clock: ManualClock) -> App:
    a: App = make_app(
        {"webhooks": {"first_retry_seconds": 10, "max_retry_seconds": 60, "max_attempts": 20}},
        clock=clock,
    )
    return a


def drain(app: App, clock: ManualClock, rounds: int = 60) -> None:
    sender = app.webhook_sender()
    for _ in range(rounds):
        sender.run_once(20)
        clock.advance(timedelta(seconds=15))
        with app.sessions() as s:
            if not s.scalars(
                select(WebhookDelivery.id).where(WebhookDelivery.state.in_(("queued", "sending")))
            ).first():
                return
    raise AssertionError("the queue did not drain")


def test_t24_every_event_once_per_delivery_id_in_order_per_appeal(
    app: App, clock: ManualClock, receiver: Receiver
) -> None:
    _, secret = webhooks.add_webhook(app.sessions, receiver.url, (), now=clock.now())
    first = webtest.register(app, "a@example.org", "Андрій Коваль", "Ліфт", TEXT)
    second = webtest.register(app, "b@example.org", "Богдана Лис", "Сміття", TEXT + " Ще.")
    assert reroute_appeal(app, first, "housing", "test", "до ЖКГ") is None
    with app.sessions.begin() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == first)).one()
        record_answer(a, clock.now(), final=True)
    # The second appeal is past its due date: the sender's scan makes "overdue" once.
    with app.sessions() as s:
        due = s.scalars(select(Appeal.due_date).where(Appeal.reg_no == second)).one()
    clock.set(datetime(due.year, due.month, due.day, 12, tzinfo=UTC) + timedelta(days=2))
    drain(app, clock)
    drain(app, clock)  # a second pass (and scan) adds no second "overdue"

    got = receiver.accepted()
    with app.sessions() as s:
        rows = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        assert {r.state for r in rows} == {"sent"}
        retried = [r for r in rows if r.attempts > 1]
    ids = [g["delivery_id"] for g in got]
    assert len(ids) == len(set(ids)) == len(rows)  # each exactly once
    assert retried, "the receiver's failures caused retries"
    assert sum(1 for st, _, _ in receiver.requests if st == 500) == 5
    by_appeal: dict[str, list[str]] = {}
    for g in got:
        by_appeal.setdefault(g["appeal"]["reg_no"], []).append(g["event"])
        headers = {k.lower(): v for k, v in g["_h"].items()}
        assert headers["x-appeal-delivery"] == g["delivery_id"]
        raw = json.dumps(
            {k: v for k, v in g.items() if k != "_h"}, ensure_ascii=False, sort_keys=True
        )
        assert webhooks.verify(secret, headers["x-appeal-signature"], raw.encode())
        assert "@" not in raw  # no e-mail addresses, no personal data
    # Registered and routed to triage, rerouted to housing, answered and closed.
    assert by_appeal[first] == ["registered", "routed", "routed", "answered", "closed"]
    assert by_appeal[second] == ["registered", "routed", "overdue"]
    # In order per appeal: the receiver saw them in the order they were queued.
    for reg_no, events in by_appeal.items():
        queued = [r.event for r in rows if r.payload["appeal"]["reg_no"] == reg_no]
        assert events == queued


def test_a_rolled_back_change_queues_nothing(
    app: App, clock: ManualClock, receiver: Receiver
) -> None:
    webhooks.add_webhook(app.sessions, receiver.url, ("closed",), now=clock.now())
    reg_no = webtest.register(app, "c@example.org", "Віра Пак", "Дах", TEXT)
    with app.sessions() as s:
        a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()
        record_answer(a, clock.now(), final=True)
        s.flush()
        assert s.scalars(select(WebhookDelivery)).all() != []  # queued in the transaction
        s.rollback()
    with app.sessions() as s:
        # Only "closed" was subscribed, and that change was rolled back.
        assert s.scalars(select(WebhookDelivery)).all() == []


def test_a_receiver_that_never_recovers_fails_the_event_for_good(
    app: App, clock: ManualClock
) -> None:
    dead = Receiver(fail=10_000)
    try:
        webhooks.add_webhook(app.sessions, dead.url, ("registered",), now=clock.now())
        webtest.register(app, "d@example.org", "Дмитро Бук", "Світло", TEXT)
        drain(app, clock, rounds=200)
        with app.sessions() as s:
            row = s.scalars(select(WebhookDelivery)).one()
        assert row.state == "failed" and row.attempts == 20 and row.last_error == "HTTP 500"
    finally:
        dead.server.shutdown()
