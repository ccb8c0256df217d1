"""Bounded memory: a 20 MB message through the real worker, in a process of its own,
grows the peak RSS by at most `MEMORY_FACTOR` times the message's size (five 20 MB
appeals once took the gateway to 4.6 GB). The factor is what the worker's
`over-budget-memory` check assumes, so this test is what makes that check true."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import adversarial_mail as mail
import pytest

from gateway.intake.budget import MEMORY_FACTOR

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_t19_a_20_mb_message_costs_a_bounded_multiple_of_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.eml"
    path.write_bytes(mail.big_attachment(15_000_000))  # 20 MB on the wire, in base64
    done = subprocess.run(
        [sys.executable, str(REPO / "tests" / "worker_probe.py"), str(path)],
        capture_output=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    report = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert report["state"] == "processed", report
    assert report["size"] > 20_000_000
    assert report["growth_bytes"] <= MEMORY_FACTOR * report["size"], report
