"""Acceptance harness: drives the real `appeals run` process the way mail clients do.

Letters go in over SMTP to the gateway's own listener as raw bytes (exactly what a client
would put on the wire, CRLF line ends); everything the gateway sends goes to a capture
relay, where the tests read it back as parsed letters with their attachments.
"""

from __future__ import annotations

import email
import json
import re
import smtplib
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import gwtest

DIGEST_KIND = "admin/held_digest"


@dataclass(frozen=True)
class Letter:
    """One message the gateway sent, as the recipient's client would show it."""

    rcpt: str
    raw: bytes
    msg: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.msg["Subject"] or "")

    @property
    def text(self) -> str:
        body = self.msg.get_body(preferencelist=("plain", "html"))
        return body.get_content() if body is not None else ""

    @property
    def attachments(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for part in self.msg.iter_attachments():
            name = part.get_filename() or ""
            out[name] = part.get_payload(decode=True) or b""
        return out

    @property
    def kind(self) -> str:
        """Which letter of ours it is (`citizen/ack`, ...), from our loop marker header."""
        m = re.search(r"kind=([^;\s]+)", str(self.msg["X-Appeal-Gateway"] or ""))
        return m.group(1) if m else ""

    @property
    def reg_no(self) -> str:
        m = re.search(r"\[([^\]]+)\]", self.subject)
        assert m, self.subject
        return m.group(1)


class Gateway:
    """A running `appeals run` with a capture relay as its outbound smarthost."""

    def __init__(self, tmp: Path, relay: Any, **patch: Any) -> None:
        self.tmp = tmp
        self.relay = relay
        self.port = gwtest.free_port()
        self.settings = gwtest.write_settings(tmp, self.port, relay.port, **patch)
        self.log = tmp / "gateway.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._seen = 0

    def start(self) -> Gateway:
        self.proc = gwtest.start(self.settings, self.log)
        return self

    @property
    def console(self) -> str:
        """The web console's base URL (http://127.0.0.1:PORT)."""
        return gwtest.console_url(self.log)

    def add_user(self, name: str, role: str, password: str, *departments: str) -> None:
        """`appeals user add` with the password on stdin, as a deploy script would."""
        env = {"APPEALS_TOKEN_KEY": "e2e-key", "PYTHONPATH": str(gwtest.REPO), "PATH": "/usr/bin"}
        args = [f"--department={d}" for d in departments]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway",
                "--settings",
                str(self.settings),
                "user",
                "add",
                name,
                "--role",
                role,
                "--password-stdin",
                *args,
            ],
            input=(password + "\n").encode(),
            capture_output=True,
            env=env,
            cwd=gwtest.REPO,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def send(
        self, raw: bytes | str, mail_from: str, rcpts: list[str], *, smtputf8: bool = False
    ) -> None:
        """Submit over SMTP; `smtputf8` for a UTF-8 mailbox (RFC 6531), as clients do."""
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
        # What clients put on the wire: CRLF line ends (the test sources use LF).
        data = re.sub(rb"\r?\n", b"\r\n", data)
        options = ["SMTPUTF8", "BODY=8BITMIME"] if smtputf8 else []
        with smtplib.SMTP("127.0.0.1", self.port) as smtp:
            smtp.sendmail(mail_from, rcpts, data, mail_options=options)

    def letters(self) -> list[Letter]:
        out = []
        for m in self.relay.snapshot():
            msg = email.message_from_bytes(m.data, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.extend(Letter(r, m.data, msg) for r in m.rcpt_tos)
        return out

    def _stream(self) -> list[Letter]:
        # The admin's digest comes when the scheduler ticks, not in answer to a letter a
        # test sent: it is read with `wait_digest`, never counted here.
        return [lt for lt in self.letters() if lt.kind != DIGEST_KIND]

    def wait_letters(self, count: int, timeout: float = 30.0) -> list[Letter]:
        """The next `count` letters sent after the ones already taken by this method."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self._stream()[self._seen :]
            if len(got) >= count:
                self._seen += count
                return got[:count]
            time.sleep(0.05)
        raise AssertionError(
            f"expected {count} new letter(s), got {len(self._stream()) - self._seen}; log tail:\n"
            + self.log.read_text(errors="replace")[-3000:]
        )

    def uncharacterised(self) -> list[str]:
        """Every appeal in this gateway's database lacking a characteristic of the
        Classifier or its source (or, once finished, its result): `reg_no: what` lines."""
        return missing_characteristics(self.tmp / "var" / "appeals.db")

    def unread(self) -> list[Letter]:
        """Letters sent that no test has taken with `wait_letters`: a letter the gateway
        sent that the tests did not expect (left for the module's end to report)."""
        return self._stream()[self._seen :]

    def digests(self) -> list[Letter]:
        return [lt for lt in self.letters() if lt.kind == DIGEST_KIND]

    def wait_digest(self, needle: str, timeout: float = 60.0) -> Letter:
        """The first digest to the admin whose text contains `needle`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for lt in self.digests():
                if needle in lt.text:
                    return lt
            time.sleep(0.1)
        raise AssertionError(
            f"no digest mentioning {needle!r} in {timeout} s ({len(self.digests())} digests)"
        )

    def cli(self, *args: str) -> str:
        env = {"APPEALS_TOKEN_KEY": "e2e-key", "PYTHONPATH": str(gwtest.REPO), "PATH": "/usr/bin"}
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "--settings", str(self.settings), *args],
            capture_output=True,
            env=env,
            cwd=gwtest.REPO,
            timeout=120,
        )
        out = done.stdout.decode("utf-8", "replace")
        assert done.returncode == 0, out + done.stderr.decode("utf-8", "replace")
        return out


# Column of each characteristic and its key in `characteristic_sources`.
CHARACTERISTICS = {
    "receipt_form": "form",
    "appeal_sign": "sign",
    "appeal_type": "type",
    "subject_kind": "subject",
    "privileged_category": "privileged_category",  # NULL = none, still with its source
    "topic_code": "topic_code",
}
SOURCES = frozenset({"rule", "model", "staff", "default"})
# Finished with a result of consideration (a duplicate is the first appeal's, which has it).
RESULT_STATES = frozenset({"closed", "returned", "not_considered", "forwarded_external"})


def missing_characteristics(db: Path) -> list[str]:
    # Read-only: the gateway may still be running and owns the database.
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        cols = ", ".join(CHARACTERISTICS)
        rows = conn.execute(
            f"SELECT reg_no, state, result, characteristic_sources, {cols} FROM appeal"
        ).fetchall()
    finally:
        conn.close()
    problems = []
    for reg_no, state, result, sources_json, *values in rows:
        sources = json.loads(sources_json or "{}")
        for (column, key), value in zip(CHARACTERISTICS.items(), values, strict=True):
            if column != "privileged_category" and not value:
                problems.append(f"{reg_no}: no {column}")
            if sources.get(key) not in SOURCES:
                problems.append(f"{reg_no}: no source for {key}")
        if state in RESULT_STATES and (not result or sources.get("result") not in SOURCES):
            problems.append(f"{reg_no}: {state} without a result and its source")
    return problems


@contextmanager
def running_gateway(tmp: Path, **patch: Any) -> Iterator[Gateway]:
    """`appeals run` with its own capture relay; `patch` changes whole settings sections'
    keys (as `Gateway` does). The module fixture `gateway` is this with no patch. At the
    end every appeal must carry its characteristics and every letter sent must have been
    taken by a test."""
    from aiosmtpd.controller import Controller
    from conftest import CaptureRelay

    relay = CaptureRelay("127.0.0.1", gwtest.free_port())
    controller = Controller(relay, hostname=relay.host, port=relay.port)
    controller.start()
    gw = Gateway(tmp, relay, **patch)
    try:
        yield gw.start()
        problems = gw.uncharacterised()
        assert not problems, "appeals without a characteristic or its source:\n" + "\n".join(
            problems
        )
        # Every letter the gateway sent was expected by some test (a stray one would be
        # taken by the next test's wait_letters for one of its own).
        time.sleep(0.5)
        stray = [(lt.rcpt, lt.kind) for lt in gw.unread()]
        assert not stray, f"letters no test expected: {stray}"
        # SIGTERM stops every role promptly (systemd waits for it; a role sleeping out its
        # period once held every stop for 10 s).
        gw.stop()
        slow = [
            ln for ln in gw.log.read_text(errors="replace").splitlines() if "did not stop" in ln
        ]
        assert not slow, slow
    finally:
        gw.stop()
        controller.stop()


def by_rcpt(letters: list[Letter]) -> dict[str, Letter]:
    out = {lt.rcpt: lt for lt in letters}
    assert len(out) == len(letters), [lt.rcpt for lt in letters]
    return out
