"""The sender process (`appeals send`, directory transport) killed with SIGKILL three
times in the middle of its batches and started again: every queued message ends up in the
outbox directory exactly once, whatever moment the kill hit (writing the file, between the
file and the commit, or between rows)."""

from __future__ import annotations

import collections
import email
import os
import signal
import subprocess
import sys
from email import policy
from pathlib import Path

import gwtest
import pytest
from sqlalchemy import func, select

from gateway.app import build_app, prepare
from gateway.settings import load_settings
from models import DeliveryAttempt, OutboundMessage

N = 300


def _start(settings: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "APPEALS_TOKEN_KEY": "e2e-key", "PYTHONPATH": str(gwtest.REPO)}
    with log.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway", "--settings", str(settings), "send"],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=gwtest.REPO,
        )


@pytest.mark.slow
def test_sigkill_of_the_sender_mid_batch_writes_no_message_twice(tmp_path: Path) -> None:
    settings = gwtest.write_settings(
        tmp_path, gwtest.free_port(), gwtest.free_port(), outbound={"relay_host": ""}
    )
    app = build_app(load_settings(settings, env={"APPEALS_TOKEN_KEY": "e2e-key"}))
    prepare(app)
    wanted = gwtest.queue_outbound(app.sessions, N, "kill")
    outbox = app.settings.outbox_dir
    log = tmp_path / "sender.log"

    def written() -> list[Path]:
        return list(outbox.glob("*.eml")) if outbox.exists() else []

    kills = 0
    for threshold in (N // 5, N // 2, (4 * N) // 5):
        proc = _start(settings, log)
        gwtest.wait_for(lambda t=threshold: len(written()) >= t, timeout=120)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
    proc = _start(settings, log)
    try:

        def done() -> bool:
            with app.sessions() as s:
                left = s.scalar(
                    select(func.count())
                    .select_from(OutboundMessage)
                    .where(OutboundMessage.state != "sent")
                )
            return left == 0

        # Rows a killed sender held wait for their lease (worker.lease_seconds = 5).
        gwtest.wait_for(done, timeout=120)
    finally:
        proc.terminate()
        proc.wait(30)
    assert kills == 3
    got = collections.Counter(
        email.message_from_bytes(f.read_bytes(), policy=policy.default)["Message-ID"]
        for f in written()
    )
    assert got == collections.Counter(wanted), [m for m, c in got.items() if c > 1]
    with app.sessions() as s:
        attempts = list(s.scalars(select(DeliveryAttempt)))
    # Each row ends with one `sent`; a row a kill interrupted also shows that attempt
    # (still `handoff`), and if the kill came after its file, the retry found it there.
    assert collections.Counter(a.outcome for a in attempts)["sent"] == N
    assert {a.outcome for a in attempts} <= {"sent", "handoff"}
