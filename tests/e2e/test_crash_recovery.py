"""A burst of 500 appeals, the gateway killed with SIGKILL in the middle and restarted:
every message that got 250 is processed exactly once, none lost, none acknowledged twice.

The client behaves like a sending MTA: a message without a 250 (connection cut by the
kill) is sent again later, byte for byte. The gateway must absorb those re-sends (same
sha256 = same message) and must not lose what it had already answered 250 for.
"""

from __future__ import annotations

import collections
import email
import os
import signal
import smtplib
import sqlite3
import threading
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import gwtest
import pytest

N = 500
CLIENTS = 5


def _message(i: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Citizen {i} <citizen{i}@example.org>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = f"Звернення номер {i}"
    m["Message-ID"] = f"<burst-{i}@example.org>"
    m["Date"] = "Mon, 23 Nov 2026 10:00:00 +0200"
    m.set_content(
        f"Прошу розглянути питання номер {i}: у під'їзді не працює освітлення.\n"
        f"Адреса: м. Луцьк, вул. Соборності, {i}"
    )
    return m.as_bytes()


@pytest.mark.slow
def test_sigkill_mid_burst_loses_nothing_and_acks_once(tmp_path: Path, capture_relay: Any) -> None:
    port = gwtest.free_port()
    settings = gwtest.write_settings(tmp_path, port, capture_relay.port)
    log = tmp_path / "gateway.log"
    proc = gwtest.start(settings, log)
    accepted: set[int] = set()
    lock = threading.Lock()
    todo = list(range(N))
    gateway_up = threading.Event()
    gateway_up.set()

    def client(indices: list[int]) -> None:
        pending = collections.deque(indices)
        while pending:
            i = pending[0]
            gateway_up.wait(60)
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                    while pending:
                        i = pending[0]
                        smtp.sendmail(
                            f"citizen{i}@example.org", ["zhkg@council.example"], _message(i)
                        )
                        with lock:
                            accepted.add(i)
                        pending.popleft()
            except (OSError, smtplib.SMTPException):
                time.sleep(0.2)  # like an MTA: keep the message and retry later

    threads = [threading.Thread(target=client, args=(todo[k::CLIENTS],)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    # Kill the gateway hard once a good part of the burst has been answered 250.
    while len(accepted) < N // 3:
        time.sleep(0.01)
    gateway_up.clear()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = len(accepted)
    proc = gwtest.start(settings, log)
    gateway_up.set()
    try:
        for t in threads:
            t.join(timeout=240)
        assert len(accepted) == N, f"only {len(accepted)} of {N} accepted"
        db = sqlite3.connect(tmp_path / "var" / "appeals.db")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            open_in = db.execute(
                "select count(*) from inbound_message where state in ('received','processing')"
            ).fetchone()[0]
            open_out = db.execute(
                "select count(*) from outbound_message where state in ('queued','sending')"
            ).fetchone()[0]
            if open_in == 0 and open_out == 0:
                break
            time.sleep(0.2)
        states = dict(db.execute("select state, count(*) from inbound_message group by state"))
        assert states == {"processed": N}, states
        # Exactly one appeal per message: processed once.
        n_appeals, n_distinct = db.execute(
            "select count(*), count(distinct inbound_id) from appeal"
        ).fetchone()
        assert (n_appeals, n_distinct) == (N, N)
        # Exactly one acknowledgement per appeal was ever produced ...
        acks = dict(
            db.execute(
                "select appeal_id, count(*) from outbound_message where kind='citizen/ack' "
                "group by appeal_id"
            )
        )
        assert len(acks) == N and set(acks.values()) == {1}
        # ... and the citizens received it: every citizen got one, never two different ones.
        per_citizen: dict[str, set[str]] = collections.defaultdict(set)
        for m in capture_relay.snapshot():
            msg = email.message_from_bytes(m.data, policy=policy.default)
            if msg["Auto-Submitted"] == "auto-replied":
                per_citizen[m.rcpt_tos[0]].add(msg["Message-ID"])
        assert len(per_citizen) == N
        assert all(len(ids) == 1 for ids in per_citizen.values())
        print(f"killed after {killed_at} accepted; all {N} processed exactly once")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
