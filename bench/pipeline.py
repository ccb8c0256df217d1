"""The whole pipeline's rate (SMTP 250 -> forward written) with 1, 2 and 4 worker
processes, on SQLite and on PostgreSQL, beside the intake-only rate, in one run.

What runs: the real `python -m gateway run` (the supervisor of gateway/supervisor.py:
listener, N worker processes, sender) on the shipped settings.toml, with the per-client
listener limits lifted (every bench client is 127.0.0.1), the directory transport
(`var/outbox/*.eml`, no relay) and the starter topic model trained on first run. SQLite
is a fresh file per configuration; PostgreSQL is a fresh schema per configuration in the
database of `--pg` (dropped afterwards).

Each configuration: start, warm up (a few appeals per worker until their forwards are
written, so every worker has loaded the model), then `--appeals` distinct generated
appeals (tests/generated_appeals.py: Gmail, Outlook and ukr.net shapes, a complete
Ukrainian appeal each, distinct words so none is a mass or duplicate appeal) sent over
`--sessions` concurrent SMTP sessions as fast as the listener takes them. Measured:
- pipeline rate: appeals / (last forward written - first 250), forwards found in the
  outbox directory by the appeal's own words and timed by the file's mtime;
- intake rate while the pipeline works: 250 replies / send time in that run;
- latency 250 -> forward: p50 and p99 over the appeals;
- peak RSS (VmHWM) of every process of the gateway (supervisor, listener and its
  committer child on SQLite, workers, sender), read just before the stop.
Intake-only: `appeals run --roles smtp` (the listener alone) on the same kind of
database, the same appeals and sessions: its rate is the denominator of the ratios.

Every configuration is checked: each appeal acknowledged and forwarded exactly once
(one file per Message-ID, one forward per appeal); a failure of that is exit status 1.

Usage: python bench/pipeline.py [--appeals 500] [--workers 1,2,4] [--sessions 8]
           [--databases sqlite,postgresql] [--pg URL] [--keep]
"""

from __future__ import annotations

import argparse
import email
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import generated_appeals as gen  # noqa: E402
import gwtest  # noqa: E402

TARGET_SQLITE = 0.5  # the issue: pipeline >= 0.5 of intake-only with the default workers
TARGET_PG_SCALE = 3.0  # the issue: 4 workers >= 3x one worker on PostgreSQL
FORWARD = "department/assigned"
ACK = "citizen/ack"
_WORD = re.compile(r"«([^»]+)»")


@dataclass
class Run:
    database: str
    workers: int  # 0: intake only (the listener alone)
    appeals: int
    accepted: int = 0
    send_seconds: float = 0.0
    pipeline_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    rss_mb: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def intake_rate(self) -> float:
        return self.accepted / self.send_seconds if self.send_seconds else 0.0

    @property
    def pipeline_rate(self) -> float:
        return self.appeals / self.pipeline_seconds if self.pipeline_seconds else 0.0


def _settings(var: Path, port: int, db_url: str, roles_workers: int) -> Path:
    path = gwtest.write_settings(
        var,
        port,
        0,
        database={"url": db_url},
        outbound={"relay_host": ""},  # the directory transport
        worker={"lease_seconds": 300, "idle_sleep_seconds": 0.5},  # as shipped
        run={"mode": "processes", "workers": max(roles_workers, 1)},
        smtp_server={
            "max_connections": 100_000,
            "max_connections_per_client": 100_000,
            "connections_per_client_per_minute": 1_000_000,
            "messages_per_client_per_minute": 1_000_000,
        },
    )
    return path


def _peak_rss(pid: int) -> float:
    try:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _send(port: int, indices: list[int], tag: str, sessions: int) -> tuple[dict[int, float], float]:
    """Send the appeals over `sessions` connections; returns each one's 250 time."""
    accepted: dict[int, float] = {}
    lock = threading.Lock()

    def client(part: list[int]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
            for i in part:
                smtp.sendmail(gen.sender(i, tag), [gen.RCPT], gen.appeal(i, tag))
                with lock:
                    accepted[i] = time.time()

    started = time.time()
    with ThreadPoolExecutor(sessions) as pool:
        list(pool.map(client, [indices[k::sessions] for k in range(sessions)]))
    return accepted, time.time() - started


class Outbox:
    """Reads the directory transport's files as they appear: which appeal each letter
    belongs to (its code word) and when it was written."""

    def __init__(self, directory: Path, words: dict[str, int]) -> None:
        self.directory = directory
        self.words = words
        self.seen: set[str] = set()
        self.forwards: dict[int, list[float]] = {}
        self.acks: dict[str, int] = {}
        self.mids: dict[str, int] = {}

    def scan(self) -> None:
        if not self.directory.exists():
            return
        for path in self.directory.glob("*.eml"):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            written = path.stat().st_mtime
            msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            mid = str(msg["Message-ID"])
            self.mids[mid] = self.mids.get(mid, 0) + 1
            kind = re.search(r"kind=([^;\s]+)", str(msg["X-Appeal-Gateway"] or ""))
            if kind is None:
                continue
            if kind.group(1) == ACK:
                to = str(msg["X-Envelope-To"])
                self.acks[to] = self.acks.get(to, 0) + 1
            elif kind.group(1) == FORWARD:
                body = msg.get_body(preferencelist=("plain",))
                text = body.get_content() if body is not None else ""
                for word in _WORD.findall(text):
                    if word in self.words:
                        self.forwards.setdefault(self.words[word], []).append(written)
                        break


def run_one(database: str, workers: int, args: argparse.Namespace, parent: Path) -> Run:
    tag = uuid.uuid4().hex[:6]
    var = parent / f"{database}-{workers or 'intake'}"
    var.mkdir()
    schema = None
    if database == "sqlite":
        db_url = ""
    else:
        schema = f"bench_{tag}"
        _pg_exec(args.pg, f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in args.pg else "?"
        db_url = f"{args.pg}{sep}options=-csearch_path%3D{schema}"
    port = gwtest.free_port()
    settings = _settings(var, port, db_url, workers)
    log = var / "gateway.log"
    result = Run(database, workers, args.appeals)
    warm = list(range(10**6, 10**6 + (3 * workers if workers else 2 * args.sessions)))
    load = list(range(args.appeals))
    words = {gen.code_word(i): i for i in warm + load}
    proc = gwtest.start(settings, log, *(() if workers else ("--roles", "smtp")))
    # Every worker has loaded the model once it says which roles it runs.
    _wait(lambda: log.read_bytes().count(b"running roles ['work']") >= workers, 300)
    try:
        outbox = Outbox(var / "var" / "outbox", words)
        if workers:
            # Warm-up: every worker loads the topic model on its first appeal.
            _send(port, warm, tag, min(len(warm), args.sessions))
            _wait(lambda: (outbox.scan(), len(outbox.forwards) >= len(warm))[1], 300)
        else:
            _send(port, warm, tag, args.sessions)  # connections and the committer warm
        accepted, result.send_seconds = _send(port, load, tag, args.sessions)
        result.accepted = len(accepted)
        if workers:
            _wait(lambda: (outbox.scan(), all(i in outbox.forwards for i in load))[1], 1800)
            time.sleep(1.0)  # anything written twice would show up now
            outbox.scan()
            first = min(accepted.values())
            last = max(min(outbox.forwards[i]) for i in load)
            result.pipeline_seconds = last - first
            result.latencies = [min(outbox.forwards[i]) - accepted[i] for i in load]
            twice = [i for i in warm + load if len(outbox.forwards.get(i, [])) != 1]
            if twice:
                result.problems.append(f"{len(twice)} appeal(s) not forwarded exactly once")
            acks = [gen.sender(i, tag) for i in warm + load]
            if any(outbox.acks.get(f"<{a}>", 0) != 1 for a in acks):
                result.problems.append("an appeal not acknowledged exactly once")
            if any(n != 1 for n in outbox.mids.values()):
                result.problems.append("a Message-ID written twice")
        for pid, name in {proc.pid: "supervisor", **gwtest.process_tree(proc.pid)}.items():
            key = name if name not in result.rss_mb else f"{name}-{pid}"
            result.rss_mb[key] = _peak_rss(pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        if schema is not None:
            _pg_exec(args.pg, f'DROP SCHEMA "{schema}" CASCADE')
    if result.accepted != len(load):
        result.problems.append(f"only {result.accepted} of {len(load)} accepted")
    return result


def _wait(pred: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError(f"not done in {timeout} s")


def _pg_exec(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(sql)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(runs: list[Run], default_workers: int) -> list[str]:
    lines = []
    solo = {r.database: r.intake_rate for r in runs if r.workers == 0}
    one = {r.database: r.pipeline_rate for r in runs if r.workers == 1}
    lines.append(
        "| database | workers | pipeline appeals/s | / intake-only | / 1 worker "
        "| intake while working / alone | p50 / p99 latency s | peak RSS MB per process |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    for r in runs:
        rss = ", ".join(f"{k} {v:.0f}" for k, v in sorted(r.rss_mb.items()))
        base = solo.get(r.database) or 0.0
        if r.workers == 0:
            lines.append(
                f"| {r.database} | intake only | {r.intake_rate:.1f} msg/s | 1.00 | | | | {rss} |"
            )
            continue
        ratio = r.pipeline_rate / base if base else 0.0
        scale = r.pipeline_rate / one[r.database] if one.get(r.database) else 0.0
        intake = r.intake_rate / base if base else 0.0
        lines.append(
            f"| {r.database} | {r.workers} | {r.pipeline_rate:.1f} | {ratio:.3f} | {scale:.2f} "
            f"| {intake:.2f} | {_pct(r.latencies, 0.5):.1f} / {_pct(r.latencies, 0.99):.1f} "
            f"| {rss} |"
        )
    for r in runs:
        for p in r.problems:
            lines.append(f"PROBLEM {r.database} workers={r.workers}: {p}")
    sqlite_default = next(
        (r for r in runs if r.database == "sqlite" and r.workers == default_workers), None
    )
    if sqlite_default and solo.get("sqlite"):
        ratio = sqlite_default.pipeline_rate / solo["sqlite"]
        verdict = "met" if ratio >= TARGET_SQLITE else "NOT met"
        lines.append(
            f"SQLite, default workers ({default_workers}): pipeline / intake-only = {ratio:.3f} "
            f"(target >= {TARGET_SQLITE}: {verdict})"
        )
    four = next((r for r in runs if r.database == "postgresql" and r.workers == 4), None)
    if four and one.get("postgresql"):
        scale = four.pipeline_rate / one["postgresql"]
        verdict = "met" if scale >= TARGET_PG_SCALE else "NOT met"
        lines.append(
            f"PostgreSQL: 4 workers / 1 worker = {scale:.2f} (target >= {TARGET_PG_SCALE}: "
            f"{verdict})"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--appeals", type=int, default=500, help="appeals per configuration")
    p.add_argument("--workers", default="1,2,4", help="worker process counts")
    p.add_argument("--sessions", type=int, default=8, help="concurrent SMTP sessions")
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--keep", action="store_true", help="keep the var dirs (gateway.log)")
    args = p.parse_args(argv)
    counts = [int(x) for x in args.workers.split(",")]
    default_workers = os.cpu_count() or 1
    parent = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    runs: list[Run] = []
    load = os.getloadavg()
    print(
        f"{args.appeals} appeals per configuration, {args.sessions} SMTP sessions, "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} at the start",
        flush=True,
    )
    try:
        for database in args.databases.split(","):
            for workers in [0, *counts]:
                r = run_one(database, workers, args, parent)
                what = "intake only" if workers == 0 else f"{workers} worker(s)"
                print(
                    f"  {database} {what}: intake {r.intake_rate:.1f} msg/s"
                    + (f", pipeline {r.pipeline_rate:.1f} appeals/s" if workers else ""),
                    flush=True,
                )
                runs.append(r)
    finally:
        if not args.keep:
            shutil.rmtree(parent, ignore_errors=True)
        else:
            print(f"var dirs kept in {parent}")
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} at the end")
    for line in report(runs, default_workers):
        print(line)
    return 1 if any(r.problems for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
