"""How long the quick commands take as whole processes, beside `python -c pass`.

`appeals status` (read-only, the admin's first look) and `appeals inject` (an MTA's pipe
transport runs it once per message) must start in a blink: they must not import
scikit-learn, skops, Alembic or the pipeline. Each command runs `--runs` times on a
prepared throwaway install (SQLite); the minimum, the median and the peak RSS of the
child are printed, and the ratio to the interpreter's own start.

Run: .venv/bin/python bench/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import gwtest  # noqa: E402


def measure(
    cmd: list[str], runs: int, env: dict[str, str], stdin: bytes | None = None
) -> tuple[float, float, float]:
    """(min seconds, median seconds, peak RSS in MB of one run) over `runs` runs."""
    times = []
    peak_kb = 0
    for i in range(runs):
        data = stdin.replace(b"{n}", str(i).encode()) if stdin else b""
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, cwd=REPO
        )
        assert proc.stdin is not None
        proc.stdin.write(data)
        proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not the max so far
        times.append(time.perf_counter() - t0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd} failed with {proc.returncode}")
        peak_kb = max(peak_kb, usage.ru_maxrss)  # kilobytes on Linux
    return min(times), statistics.median(times), peak_kb / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    env = {**os.environ, "APPEALS_TOKEN_KEY": "bench-key", "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        settings = gwtest.write_settings(Path(tmp), 0, gwtest.free_port())
        app = [sys.executable, "-m", "gateway", "--settings", str(settings)]
        subprocess.run([*app, "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True)
        subprocess.run([*app, "status"], env=env, cwd=REPO, check=True, capture_output=True)
        letter = b"From: a@example.org\nTo: appeals@council.example\nSubject: t\n\nbench {n}\n"
        rows = [
            ("python -c pass", [sys.executable, "-c", "pass"], None),
            (
                "import sqlalchemy.orm, pydantic",
                [sys.executable, "-c", "import sqlalchemy.orm, pydantic"],
                None,
            ),
            ("appeals status", [*app, "status"], None),
            ("appeals inject", [*app, "inject", "--recipient", "appeals@council.example"], letter),
        ]
        base = None
        print(f"{'command':<34} {'min s':>7} {'median s':>9} {'peak MB':>8} {'min / python':>13}")
        for name, cmd, stdin in rows:
            lo, med, peak = measure(cmd, args.runs, env, stdin)
            base = base or lo
            print(f"{name:<34} {lo:7.3f} {med:9.3f} {peak:8.1f} {lo / base:13.1f}")


if __name__ == "__main__":
    main()
