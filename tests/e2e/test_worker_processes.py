"""`appeals run` with two worker processes (the supervisor of gateway/supervisor.py): a
few hundred appeals shaped as Gmail, Outlook and ukr.net write them go in over SMTP, one
worker process is killed with SIGKILL in the middle of the load, and still every appeal
is registered, acknowledged and forwarded exactly once; the supervisor starts a new
worker in place of the dead one. Outgoing mail goes to the directory transport, which
names each file by its Message-ID, so a letter made twice would be two files.
"""

from __future__ import annotations

import collections
import email
import os
import re
import signal
import smtplib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from email import policy
from pathlib import Path

import generated_appeals
import gwtest
import pytest

N = 240


def _count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


@pytest.mark.slow
def test_two_worker_processes_and_a_sigkill_still_each_appeal_once(tmp_path: Path) -> None:
    port = gwtest.free_port()
    settings = gwtest.write_settings(
        tmp_path,
        port,
        0,
        run={"mode": "processes", "workers": 2},
        outbound={"relay_host": ""},  # the directory transport: var/outbox/<Message-ID>.eml
    )
    log = tmp_path / "gateway.log"
    proc = gwtest.start(settings, log)
    db = tmp_path / "var" / "appeals.db"
    try:
        workers = gwtest.wait_for(
            lambda: (c := gwtest.children(proc.pid)) and {"worker-1", "worker-2"} <= c.keys() and c
        )

        def send(indices: range) -> None:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                for i in indices:
                    smtp.sendmail(
                        generated_appeals.sender(i),
                        [generated_appeals.RCPT],
                        generated_appeals.appeal(i),
                    )

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(send, [range(k, N, 4) for k in range(4)]))
        # Both workers are busy; one is killed hard once a part of the load is through.
        gwtest.wait_for(
            lambda: (
                _count(db, "select count(*) from inbound_message where state='processed'") >= N // 4
            ),
            timeout=180,
        )
        os.kill(workers["worker-1"], signal.SIGKILL)
        replaced = gwtest.wait_for(
            lambda: (
                (c := gwtest.children(proc.pid)).get("worker-1", workers["worker-1"])
                != workers["worker-1"]
                and c["worker-1"]
            ),
            timeout=60,
        )
        assert replaced != workers["worker-1"]
        seen = {*workers.values(), *gwtest.children(proc.pid).values()}

        def settled() -> bool:
            open_in = _count(
                db, "select count(*) from inbound_message where state in ('received','processing')"
            )
            open_out = _count(
                db, "select count(*) from outbound_message where state in ('queued','sending')"
            )
            return open_in == 0 and open_out == 0

        # The killed worker's claim is taken again once its lease (5 s here) runs out.
        gwtest.wait_for(settled, timeout=300)
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        states = dict(conn.execute("select state, count(*) from inbound_message group by state"))
        assert states == {"processed": N}, states
        assert conn.execute(
            "select count(*), count(distinct inbound_id) from appeal"
        ).fetchone() == (N, N)
        per_appeal = conn.execute(
            "select kind, count(*), count(distinct appeal_id) from outbound_message "
            "where kind in ('citizen/ack', 'department/assigned') group by kind"
        ).fetchall()
        assert sorted(per_appeal) == [("citizen/ack", N, N), ("department/assigned", N, N)]
        conn.close()
        # What left the gateway: every citizen one acknowledgement, every appeal one forward.
        acks: dict[str, int] = collections.Counter()
        forwards: dict[str, int] = collections.Counter()
        mids: dict[str, int] = collections.Counter()
        for path in (tmp_path / "var" / "outbox").glob("*.eml"):
            msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            mids[str(msg["Message-ID"])] += 1
            kind = re.search(r"kind=([^;\s]+)", str(msg["X-Appeal-Gateway"]))
            assert kind is not None
            if kind.group(1) == "citizen/ack":
                acks[str(msg["X-Envelope-To"])] += 1
            elif kind.group(1) == "department/assigned":
                reg = re.search(r"A-\d{4}-\d{6}", str(msg["Subject"]))
                assert reg is not None
                forwards[reg.group(0)] += 1
        assert len(acks) == N and set(acks.values()) == {1}
        assert len(forwards) == N and set(forwards.values()) == {1}
        assert set(mids.values()) == {1}
        text = log.read_text(errors="replace")
        assert "worker-1 exited with -9" in text
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    # The supervisor stopped every child before it exited itself.
    alive = [pid for pid in seen if str(settings).encode() in _cmdline(pid)]
    assert alive == []


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def test_no_child_outlives_a_supervisor_killed_with_sigkill(tmp_path: Path) -> None:
    port = gwtest.free_port()
    settings = gwtest.write_settings(
        tmp_path, port, 0, run={"mode": "processes", "workers": 2}, outbound={"relay_host": ""}
    )
    proc = gwtest.start(settings, tmp_path / "gateway.log")
    try:
        kids = gwtest.wait_for(
            lambda: (
                (c := gwtest.process_tree(proc.pid))
                and {"listener", "worker-1", "worker-2", "sender"} <= set(c.values())
                and c
            )
        )
    finally:
        # The supervisor gets no chance to stop anyone: the children must see it go.
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    gwtest.wait_for(
        lambda: not [pid for pid in kids if str(settings).encode() in _cmdline(pid)],
        timeout=30,
    )
    # The port is free again: a restarted gateway can listen on it.
    proc = gwtest.start(settings, tmp_path / "gateway2.log")
    proc.terminate()
    proc.wait(timeout=60)
