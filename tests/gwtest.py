"""Test helpers importable from every test module (tests/ is on the pytest pythonpath):
running the real `python -m gateway run` process, free ports."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def write_settings(
    tmp: Path,
    smtp_port: int,
    relay_port: int,
    *,
    extra_departments: tuple[dict[str, Any], ...] = (),
    trained_starter: bool = True,
    **patch: Any,
) -> Path:
    """Settings for a test gateway in `tmp`: the shipped ones with its ports and paths.
    `trained_starter` puts a copy of the starter model, trained once per source version,
    into the gateway's model directory: training it on every gateway's first run cost
    about 3 s each (tests/e2e/test_run_command.py keeps the first-run training real)."""
    with (REPO / "settings.toml").open("rb") as fh:
        data = tomllib.load(fh)
    data["departments"].extend(extra_departments)
    data["paths"]["var_dir"] = str(tmp / "var")
    data["paths"]["templates"] = str(REPO / "templates")
    data["smtp_server"]["port"] = smtp_port
    data["outbound"].update(
        relay_host="127.0.0.1", relay_port=relay_port, starttls=False, first_retry_seconds=1
    )
    # The console on a port of its own per gateway (0: the system picks a free one; the
    # gateway prints it: `console_url`), never the shipped 8025 that another run may hold.
    data.setdefault("web", {})["listen"] = "127.0.0.1:0"
    data["worker"]["idle_sleep_seconds"] = 0.1
    data["worker"]["lease_seconds"] = 5
    # One worker process beside the listener and the sender: the default of one per core
    # would start more interpreters than a test needs (a test about workers asks for more).
    data["run"] = {"mode": "processes", "workers": 1}
    for section, values in patch.items():
        data.setdefault(section, {}).update(values)
    path = tmp / "settings.toml"
    path.write_text(_to_toml(data), encoding="utf-8")
    if trained_starter and not data.get("classifier", {}).get("model_dir"):
        models = tmp / "var" / "models"
        if not models.exists():
            shutil.copytree(starter_model(), models)
    return path


def starter_model() -> Path:
    """A directory holding the promoted starter model, trained once for the current
    classifier sources and starter corpus and shared by every test process (a lock file
    keeps two processes from training it at once)."""
    digest = hashlib.sha256()
    sources = sorted((REPO / "classifier").glob("*.py"))
    for src in [*sources, REPO / "classifier" / "starter_corpus.jsonl"]:
        digest.update(src.read_bytes())
    root = Path(tempfile.gettempdir()) / f"appeals-test-starter-{digest.hexdigest()[:16]}"
    done = root / "models"
    if done.exists():
        return done
    root.mkdir(exist_ok=True)
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            from classifier.starter import train_starter

            partial = Path(tempfile.mkdtemp(dir=root))
            train_starter(partial / "models")
            (partial / "models").rename(done)
    return done


def _to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for the settings shape (tables, arrays of tables, scalars)."""
    import datetime as dt

    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (dt.time, dt.date)):
            return v.isoformat()
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'

    lines, tables, arrays = [], [], []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            arrays.append((k, v))
        else:
            lines.append(f"{k} = {val(v)}")
    out = "\n".join(lines) + "\n"
    for k, v in tables:
        name = f"{prefix}{k}"
        out += f"\n[{name}]\n" + _to_toml(v, prefix=f"{name}.")
    for k, items in arrays:
        for item in items:
            out += f"\n[[{prefix}{k}]]\n" + _to_toml(item, prefix=f"{prefix}{k}.")
    return out


def start(settings: Path, log: Path, *run_args: str) -> subprocess.Popen[bytes]:
    """`python -m gateway run [run_args]`, once its listener says it listens."""
    env = {**os.environ, "APPEALS_TOKEN_KEY": "e2e-key", "PYTHONPATH": str(REPO)}
    fh = log.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--settings", str(settings), "run", *run_args],
        stdout=fh,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=REPO,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if b"SMTP listening" in log.read_bytes():
            return proc
        if proc.poll() is not None:
            raise RuntimeError("gateway exited:\n" + log.read_text(errors="replace")[-3000:])
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gateway did not start in time")


def console_url(log: Path) -> str:
    """The web console's address as `appeals run` printed it into its log."""
    import re

    m = re.search(rb"console on (http://[0-9.:]+)/", log.read_bytes())
    assert m, "the gateway printed no console address"
    return m.group(1).decode()


def process_tree(pid: int) -> dict[int, str]:
    """Every process below `pid` (children of `appeals run` and theirs), each named by
    its `--child` name, "committer" for the SQLite intake child, or "other"."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        if b"--child" in cmd:
            names[int(entry.name)] = cmd[cmd.index(b"--child") + 1].decode()
        elif any(b"intake_process" in c for c in cmd):
            names[int(entry.name)] = "committer"
    out: dict[int, str] = {}
    frontier = {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier and c not in out}
        out.update({c: names.get(c, "other") for c in frontier})
    return out


def children(pid: int) -> dict[str, int]:
    """The supervisor's own children by their `--child` name."""
    return {
        name: child
        for child, name in process_tree(pid).items()
        if name.startswith(("worker-", "listener", "sender"))
    }


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Any, timeout: float = 15.0) -> Any:
    """Poll `pred` until it returns something truthy (returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def queue_outbound(sessions: Any, n: int, tag: str) -> set[str]:
    """`n` rendered messages queued in the outbox, as the notifier leaves them (one
    recipient each); returns their Message-IDs."""
    from datetime import UTC, datetime
    from email import policy
    from email.message import EmailMessage

    from sqlalchemy import insert

    from models import OutboundMessage

    now = datetime.now(UTC)
    rows, ids = [], set()
    for i in range(n):
        m = EmailMessage()
        m["From"] = "Міська рада <noreply@council.example>"
        m["To"] = to = f"resident{i}@example.org"
        m["Subject"] = f"Повідомлення {i}"
        m["Message-ID"] = mid = f"<{tag}-{i}@council.example>"
        m.set_content(f"Повідомлення номер {i}.")
        ids.add(mid)
        rows.append(
            {
                "kind": "citizen/ack",
                "message_id": mid,
                "envelope_from": "noreply@council.example",
                "recipients": [to],
                "first_recipient": to,
                "audience": "other",
                "subject": f"Повідомлення {i}",
                "raw": m.as_bytes(policy=policy.SMTP),
                "automatic": True,
                "state": "queued",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "failed_recipients": [],
            }
        )
    with sessions.begin() as s:
        s.execute(insert(OutboundMessage), rows)
    return ids
