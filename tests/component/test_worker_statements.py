"""What the worker asks of the database per message, counted: one write transaction per
message (plus a few per claimed batch), a bounded number of statements, and no SELECT
repeated for one message beyond the department lookup.
The bounds are today's counts; a change that adds a query per message fails here."""

from __future__ import annotations

import collections
import re
from typing import Any

import generated_appeals
from sqlalchemy import event, func, select

from models import InboundMessage
from routing.mail import Envelope

N = 10
# Per batch: the claim (SELECT, UPDATE ... RETURNING) and the spill to the raw store
# (SELECT, UPDATE); its transactions: the claim's, the spill's read and its write.
PER_BATCH_STATEMENTS = 4
PER_BATCH_TRANSACTIONS = 3
# Per appeal, measured on 2026-12-04: 23 (events, letters, registration, screening, the
# active webhooks).
MAX_STATEMENTS_PER_APPEAL = 23
# The department is read twice (whether the sender is one, then the chosen one).
REPEATED_SELECTS = {"department": 2}


def test_statements_and_transactions_per_message(make_app: Any) -> None:
    app = make_app()
    for i in range(N + 1):
        env = Envelope("smtp", generated_appeals.sender(i), (generated_appeals.RCPT,))
        app.ingest().accept(generated_appeals.appeal(i), env)
    worker = app.worker()
    assert worker.run_once(1) == 1  # first-use work (compiled statements, caches) aside
    statements: list[str] = []
    begins: list[int] = []
    event.listen(
        app.engine,
        "before_cursor_execute",
        lambda conn, cursor, sql, *rest: statements.append(re.sub(r"\s+", " ", sql)),
    )
    event.listen(app.engine, "begin", lambda conn: begins.append(1))
    assert worker.run_once(N) == N
    transactions, seen = len(begins), list(statements)
    with app.sessions() as s:
        processed = s.scalar(select(func.count()).where(InboundMessage.state == "processed"))
    assert processed == N + 1
    assert transactions == PER_BATCH_TRANSACTIONS + N
    per_appeal = (len(seen) - PER_BATCH_STATEMENTS) / N
    assert per_appeal <= MAX_STATEMENTS_PER_APPEAL, collections.Counter(seen)
    selects = collections.Counter(sql for sql in seen if sql.startswith("SELECT"))
    for sql, count in selects.items():
        table = re.search(r"FROM (\w+)", sql)
        allowed = REPEATED_SELECTS.get(table.group(1) if table else "", 1)
        # The claim's and the spill's SELECTs run once for the batch.
        assert count <= allowed * N, f"{count} x {sql[:120]}"
