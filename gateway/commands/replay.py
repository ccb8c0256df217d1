"""`appeals replay`: push a folder of real messages through intake, the worker and the
sender of a throwaway gateway, and count where each one ended.

Every message must end in a recorded state (processed, held with a reason, or discarded
with a reason) and none in `crash`: this is how a council checks a new release against
the mail it really receives, and how the project checks itself against the third-party
corpora. The run uses a copy of the settings with its own temporary database, raw store
and outbox directory, so nothing reaches a real mailbox and the production data is not
touched. With `--consider-all` the anonymous, repeated and incomplete policies are set to
"consider", so that every human appeal goes the whole way to the forward.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gateway.app import App, build_app, prepare
from gateway.intake.items import IncomingItem
from gateway.outbound.transport import DirectoryTransport
from gateway.settings import settings_from_dict
from models import InboundMessage, OutboundMessage
from routing.mail import Envelope

# A message whose handling failed every time ends held as one of these.
FAILED_REASONS = frozenset({"crash", "raw-missing"})


@dataclass
class ReplayReport:
    files: int = 0
    duplicates: int = 0
    inbound: Counter[tuple[str, str]] = field(default_factory=Counter)
    outbound: Counter[str] = field(default_factory=Counter)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # file, reason, detail

    @property
    def ok(self) -> bool:
        unfinished = any(state in ("received", "processing") for state, _ in self.inbound)
        return not self.failed and not unfinished

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "duplicates": self.duplicates,
            "inbound": {f"{s}/{r}": n for (s, r), n in sorted(self.inbound.items())},
            "outbound": dict(sorted(self.outbound.items())),
            "failed": [{"file": f, "reason": r, "detail": d} for f, r, d in self.failed],
            "ok": self.ok,
        }


def message_files(paths: Iterable[str]) -> Iterator[Path]:
    for name in paths:
        p = Path(name)
        if p.is_dir():
            yield from sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith("."))
        else:
            yield p


def replay_settings(settings_file: Path, work: Path, *, consider_all: bool) -> dict[str, Any]:
    with settings_file.open("rb") as fh:
        data = tomllib.load(fh)
    data.setdefault("paths", {})["var_dir"] = str(work / "var")
    data.setdefault("database", {})["url"] = ""
    out = data.setdefault("outbound", {})
    out["relay_host"] = ""
    out["outbox_dir"] = str(work / "outbox")
    data["imap"] = {"mailboxes": []}
    if consider_all:
        data.setdefault("screening", {}).update(
            anonymous_policy="consider", repeated_policy="consider", incomplete_policy="consider"
        )
    return data


def replay(settings_file: Path, paths: Iterable[str], *, consider_all: bool) -> ReplayReport:
    with tempfile.TemporaryDirectory(prefix="appeals-replay-") as tmp:
        work = Path(tmp)
        data = replay_settings(settings_file, work, consider_all=consider_all)
        env = {**os.environ}
        settings = settings_from_dict(
            data, base_dir=settings_file.resolve().parent, env=env, origin=str(settings_file)
        )
        # A throwaway key: tokens made in this run are never seen outside it.
        if settings.secret(settings.outbound.token_secret_env) is None:
            env[settings.outbound.token_secret_env] = os.urandom(16).hex()
            settings = settings_from_dict(
                data, base_dir=settings_file.resolve().parent, env=env, origin=str(settings_file)
            )
        app = build_app(settings, transport=DirectoryTransport(settings.outbox_dir))
        try:
            prepare(app)
            return _run(app, paths)
        finally:
            app.engine.dispose()


def _run(app: App, paths: Iterable[str]) -> ReplayReport:
    report = ReplayReport()
    ingest = app.ingest()
    to = sorted(app.settings.accepted_recipients())[:1]
    origin: dict[int, str] = {}
    for path in message_files(paths):
        raw = path.read_bytes()
        report.files += 1
        result = ingest.accept_batch(
            [IncomingItem(raw, Envelope(source="replay", mail_from=None, rcpt_tos=tuple(to)))]
        )[0]
        if result.duplicate:
            report.duplicates += 1
        origin.setdefault(result.inbound_id, str(path))
    worker, sender = app.worker(), app.sender()
    while worker.run_once(limit=50):
        pass
    while sender.run_once():
        pass
    with app.sessions() as s:
        for row in s.scalars(select(InboundMessage)):
            report.inbound[(row.state, row.reason or "")] += 1
            if row.reason in FAILED_REASONS or row.state in ("received", "processing"):
                report.failed.append(
                    (origin.get(row.id, "?"), row.reason or row.state, row.detail or "")
                )
        for out in s.scalars(select(OutboundMessage)):
            report.outbound[out.state] += 1
    return report


def print_report(report: ReplayReport) -> None:
    print(f"files: {report.files} ({report.duplicates} with the same bytes as another)")
    print("inbound messages by state / reason:")
    for (state, reason), n in sorted(report.inbound.items()):
        print(f"  {state:<10} {reason or '-':<28} {n:>6}")
    print(
        "outbound letters by state: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.outbound.items()))
    )
    for f, reason, detail in report.failed:
        print(f"FAILED {f}: {reason} {detail}")
    print("ok: every message ended in a recorded state" if report.ok else "NOT OK")
