"""PostgreSQL at scale: several workers claim inbound mail concurrently with
FOR UPDATE SKIP LOCKED; every message is processed exactly once and registration numbers
stay unique and gap-free."""

from __future__ import annotations

import threading
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.intake.items import IncomingItem
from models import Appeal, InboundMessage, OutboundMessage
from routing.mail import Envelope

pytestmark = pytest.mark.integration


def _raw(i: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Мешканець Номер{i} <c{i}@example.org>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = f"Питання {i}"
    m["Message-ID"] = f"<pg-{i}@example.org>"
    m.set_content(
        f"Прошу розглянути питання {i} щодо ремонту даху.\nАдреса: м. Луцьк, вул. Винниченка, {i}"
    )
    return m.as_bytes()


def test_two_workers_on_postgres_process_each_message_once(
    make_app: Any, pg_schema_url: str
) -> None:
    app = make_app({"database": {"url": pg_schema_url}})
    assert app.engine.dialect.name == "postgresql"
    ingest = app.ingest()
    n = 120
    results = ingest.accept_batch(
        [
            IncomingItem(_raw(i), Envelope("smtp", f"c{i}@example.org", ("zhkg@council.example",)))
            for i in range(n)
        ]
    )
    assert len({r.inbound_id for r in results}) == n
    workers = [app.worker(), app.worker()]
    counts = [0, 0]

    def drain(k: int) -> None:
        while True:
            got = workers[k].run_once(5)
            if got == 0:
                return
            counts[k] += got

    threads = [threading.Thread(target=drain, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(counts) == n
    assert all(c > 0 for c in counts), f"both workers should have taken work: {counts}"
    with app.sessions() as s:
        states = dict(
            s.execute(
                select(InboundMessage.state, func.count()).group_by(InboundMessage.state)
            ).all()
        )
        seqs = sorted(s.scalars(select(Appeal.reg_seq)))
        acks = s.scalar(select(func.count()).where(OutboundMessage.kind == "citizen/ack"))
    assert states == {"processed": n}
    assert seqs == list(range(1, n + 1))
    assert acks == n


def test_same_bytes_twice_is_one_message_on_postgres(make_app: Any, pg_schema_url: str) -> None:
    app = make_app({"database": {"url": pg_schema_url}})
    env = Envelope("smtp", "c@example.org", ("zhkg@council.example",))
    first = app.ingest().accept(_raw(1), env)
    second = app.ingest().accept(_raw(1), env)
    assert not first.duplicate
    assert second.duplicate and second.inbound_id == first.inbound_id
