"""A throwaway gateway on SQLite whose real worker is fed raw messages: for the memory
test (run as a subprocess, so the peak RSS is this message's alone), the fuzz test and
bench/adversarial.py. Usage as a script: `python tests/worker_probe.py FILE` prints JSON
with the message's end state and the worker's peak RSS growth."""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from gateway.app import App, build_app, prepare  # noqa: E402
from gateway.commands.replay import replay_settings  # noqa: E402
from gateway.intake.items import IncomingItem  # noqa: E402
from gateway.outbound.transport import DirectoryTransport  # noqa: E402
from gateway.settings import settings_from_dict  # noqa: E402
from models import InboundMessage  # noqa: E402
from routing.mail import Envelope  # noqa: E402


@dataclass(frozen=True)
class Result:
    inbound_id: int
    state: str
    reason: str
    detail: str
    cpu_seconds: float


class Probe:
    """One gateway; `feed` puts a message through intake and the worker."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.ingest = app.ingest()
        self.worker = app.worker()
        self.to = sorted(app.settings.accepted_recipients())[:1]

    def feed(self, raw: bytes, mail_from: str | None = "citizen@example.org") -> Result:
        item = IncomingItem(
            raw, Envelope(source="probe", mail_from=mail_from, rcpt_tos=tuple(self.to))
        )
        inbound_id = self.ingest.accept_batch([item])[0].inbound_id
        del item, raw
        t0 = time.thread_time()
        while self.worker.run_once(limit=1):
            pass
        cpu = time.thread_time() - t0
        with self.app.sessions() as s:
            row = s.get(InboundMessage, inbound_id)
            assert row is not None
            return Result(inbound_id, row.state, row.reason or "", row.detail or "", cpu)

    def states(self) -> list[tuple[str, str]]:
        with self.app.sessions() as s:
            return [(r.state, r.reason or "") for r in s.scalars(select(InboundMessage))]


@contextmanager
def probe(**patch: dict[str, Any]) -> Iterator[Probe]:
    with tempfile.TemporaryDirectory(prefix="appeals-probe-") as tmp:
        work = Path(tmp)
        data = replay_settings(REPO / "settings.toml", work, consider_all=False)
        for section, values in patch.items():
            data.setdefault(section, {}).update(values)
        env = {**os.environ, "APPEALS_TOKEN_KEY": "probe-key"}
        settings = settings_from_dict(data, base_dir=REPO, env=env, origin="probe")
        if settings.secret(settings.outbound.token_secret_env) is None:
            env[settings.outbound.token_secret_env] = "probe-key"
            settings = settings_from_dict(data, base_dir=REPO, env=env, origin="probe")
        app = build_app(settings, transport=DirectoryTransport(settings.outbox_dir))
        try:
            prepare(app)
            yield Probe(app)
        finally:
            app.engine.dispose()


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    with probe() as p:
        # Warm up imports and the model with a small letter, so the growth is the message's.
        p.feed(b"From: a@example.org\r\nTo: x@example.org\r\nSubject: warm\r\n\r\nwarm up text\r\n")
        size = path.stat().st_size
        raw = path.read_bytes()
        before = _rss_kb()
        result = p.feed(raw)
        del raw
        after = _rss_kb()
    print(
        json.dumps(
            {
                "size": size,
                "rss_before_kb": before,
                "rss_after_kb": after,
                "growth_bytes": (after - before) * 1024,
                "state": result.state,
                "reason": result.reason,
                "cpu_seconds": result.cpu_seconds,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
