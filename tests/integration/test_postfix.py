"""The gateway behind a real Postfix, configured from docs/deploy.md.

A private Postfix instance (its own config, queue and data directories in a temp dir, no
chroot) runs the doc's main.cf and transport table, with only what a test must change:
its ports, its directories, TLS off and loopback addresses for the two next hops. The
real `appeals run` process runs with the doc's settings (outbound relay = that Postfix,
department mailboxes apart from intake addresses). "The council's mail server" and "the
Internet" beyond Postfix are one capturing SMTP server. A citizen writes from 127.0.0.2,
an address outside Postfix's mynetworks, as a client from the Internet would:

citizen -> Postfix -> gateway (registered) -> Postfix -> citizen (acknowledgement) and
department mailbox (forward); staff answer -> Postfix -> gateway -> Postfix -> citizen.

Plain-text mail only. Skips without /usr/sbin/postfix or root, but fails under CI=true.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import gwtest
import pytest
from deploydoc import (
    MAIN_CF,
    RELAY_RECIPIENTS,
    REPO,
    TRANSPORT,
    doc_blocks,
    merge_fragment,
    parse_main_cf,
    parse_table,
    settings_fragments,
    write_main_cf,
)

from gateway.settings import Settings, load_settings, settings_from_dict

pytestmark = pytest.mark.integration

POSTFIX = Path("/usr/sbin/postfix")
POSTMAP = Path("/usr/sbin/postmap")
INTERNET_CLIENT = "127.0.0.2"  # outside mynetworks below: an Internet client to Postfix


def missing_server(reason: str) -> None:
    """Skip locally, fail in CI (the rule of tests/conftest.py)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required test server missing in CI: {reason}")
    pytest.skip(reason)


@dataclass
class PrivatePostfix:
    """One Postfix instance living in `root`: config in root/etc, queue, data, maillog."""

    root: Path
    port: int

    @property
    def conf(self) -> Path:
        return self.root / "etc"

    @property
    def maillog(self) -> Path:
        return self.root / "maillog"

    def log(self) -> str:
        return self.maillog.read_text(errors="replace") if self.maillog.exists() else ""

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(POSTFIX), "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self) -> None:
        done = self.run("start")
        if done.returncode != 0:
            raise RuntimeError(f"postfix start failed: {done.stderr}\n{self.log()[-2000:]}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=5) as smtp:
                    smtp.noop()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"postfix is not listening on {self.port}\n{self.log()[-2000:]}")

    def stop(self) -> None:
        if self.run("status").returncode == 0 and self.run("stop").returncode != 0:
            self.run("abort")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.run("status").returncode == 0:
            time.sleep(0.1)


def master_cf(original: str, port: int) -> str:
    """The package's master.cf: the smtp listener on 127.0.0.1:<port>, no chroot."""
    out = []
    for line in original.splitlines():
        fields = line.split()
        if line and not line[0].isspace() and not line.startswith("#") and len(fields) >= 8:
            if fields[0] == "smtp" and fields[1] == "inet":
                line = f"127.0.0.1:{port} inet n - n - - smtpd"
            else:
                fields[4] = "n"  # chroot: the temp dirs are not inside a chroot jail
                line = " ".join(fields)
        out.append(line)
    return "\n".join(out) + "\n"


def main_cf(root: Path, conf: Path, capture_port: int) -> dict[str, str]:
    """The doc's main.cf with what a private test instance must change."""
    params = parse_main_cf(doc_blocks(MAIN_CF)[0])
    for name in list(params):
        if name.startswith(("smtpd_tls_", "smtp_tls_")):
            del params[name]  # no certificate here; TLS is not what this test is about
    params.update(
        queue_directory=str(root / "queue"),
        data_directory=str(root / "data"),
        maillog_file=str(root / "maillog"),
        maillog_file_prefixes="/",
        mydestination="",
        inet_interfaces="127.0.0.1",
        inet_protocols="ipv4",
        # The gateway connects from 127.0.0.1 (trusted, as on the real host); the
        # citizen's client uses 127.0.0.2, which stands for the Internet.
        mynetworks="127.0.0.1/32",
        transport_maps=f"hash:{conf / 'transport'}",
        relay_recipient_maps=f"hash:{conf / 'relay_recipients'}",
        # "The Internet" is the capturing server too; no DNS anywhere.
        relayhost=f"[127.0.0.1]:{capture_port}",
        smtp_dns_support_level="disabled",
        smtpd_peername_lookup="no",
        smtpd_tls_security_level="none",
        smtp_tls_security_level="none",
        smtp_connection_cache_on_demand="no",
    )
    return params


def transport_table(settings: Settings, shipped: Settings, gw_port: int, other: int) -> str:
    """The doc's transport table, next hops moved to this test's ports."""
    doc_hop = f"smtp:[{shipped.smtp_server.host}]:{shipped.smtp_server.port}"
    table = parse_table(doc_blocks(TRANSPORT)[0])
    lines = []
    for key, hop in table.items():
        new = f"smtp:[127.0.0.1]:{gw_port}" if hop == doc_hop else f"smtp:[127.0.0.1]:{other}"
        lines.append(f"{key} {new}")
    return "\n".join(lines) + "\n"


def relay_recipients(settings: Settings) -> str:
    """The doc's relay_recipients plus every mailbox the settings deliver to (the doc's
    "... and every other mailbox of council.example")."""
    keys = set(parse_table(doc_blocks(RELAY_RECIPIENTS)[0]))
    keys |= settings.accepted_recipients() | {f"@{settings.outbound.reply_domain}"}
    keys.add(settings.instance.admin_email)
    for d in settings.departments:
        keys.add(d.email)
        if d.head_email:
            keys.add(d.head_email)
    return "".join(f"{k.lower()} OK\n" for k in sorted(keys))


@pytest.fixture
def postfix_root() -> Iterator[Path]:
    if not POSTFIX.exists() or not POSTMAP.exists():
        missing_server("postfix not installed: apt-get install postfix (.ci/install-servers)")
    if os.geteuid() != 0:
        missing_server("a private Postfix instance must be started as root")
    # Not pytest's tmp_path (mode 0700 under /tmp/pytest-of-root): Postfix's daemons run
    # as the `postfix` user and must reach the queue and data directories.
    root = Path(tempfile.mkdtemp(prefix="appeals-postfix-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def documented_settings_file(tmp: Path, gw_port: int, postfix_port: int) -> Path:
    """settings.toml with the doc's production changes, moved into `tmp`."""
    with (REPO / "settings.toml").open("rb") as fh:
        data = tomllib.load(fh)
    for fragment in settings_fragments():
        merge_fragment(data, fragment)
    data["database"]["url"] = ""  # SQLite: the doc's PostgreSQL is for scaling out
    data["paths"]["var_dir"] = str(tmp / "var")
    data["paths"]["templates"] = str(REPO / "templates")
    data["smtp_server"]["port"] = gw_port
    data["outbound"].update(relay_port=postfix_port, first_retry_seconds=1)
    data["worker"].update(idle_sleep_seconds=0.1, lease_seconds=5)
    path = tmp / "settings.toml"
    path.write_text(gwtest._to_toml(data), encoding="utf-8")
    return path


def appeals_cli(settings: Path, *args: str) -> Any:
    env = {**os.environ, "APPEALS_TOKEN_KEY": "e2e-key", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "--settings", str(settings), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def parsed(data: bytes) -> Message:
    return email.message_from_bytes(data, policy=policy.default)


def test_appeal_through_postfix_registered_acknowledged_forwarded_and_answered(
    postfix_root: Path, tmp_path: Path, capture_relay: Any
) -> None:
    gw_port, pf_port = gwtest.free_port(), gwtest.free_port()
    settings_file = documented_settings_file(tmp_path, gw_port, pf_port)
    settings = load_settings(settings_file, env={})
    shipped = settings_from_dict(
        tomllib.loads((REPO / "settings.toml").read_text(encoding="utf-8")),
        base_dir=REPO,
        env={},
    )
    assert settings.outbound.relay_host == "127.0.0.1"  # the doc's relay: this Postfix

    # -- the private Postfix, from the doc's configuration --------------------------------
    root = postfix_root
    pf = PrivatePostfix(root, pf_port)
    shutil.copytree("/etc/postfix", pf.conf, symlinks=True)
    for sub in ("queue", "data"):
        (root / sub).mkdir(mode=0o755)
    shutil.chown(root / "data", "postfix")
    (pf.conf / "master.cf").write_text(master_cf((pf.conf / "master.cf").read_text(), pf_port))
    (pf.conf / "main.cf").write_text(write_main_cf(main_cf(root, pf.conf, capture_relay.port)))
    (pf.conf / "transport").write_text(
        transport_table(settings, shipped, gw_port, capture_relay.port)
    )
    (pf.conf / "relay_recipients").write_text(relay_recipients(settings))
    for table in ("transport", "relay_recipients"):
        subprocess.run(
            [str(POSTMAP), "-c", str(pf.conf), f"hash:{pf.conf / table}"], check=True, timeout=30
        )
    proc = None
    try:
        try:
            pf.start()
        except RuntimeError as exc:
            pytest.fail(str(exc))
        proc = gwtest.start(settings_file, tmp_path / "gateway.log")

        def gateway_log() -> str:
            return (tmp_path / "gateway.log").read_text(errors="replace")[-3000:]

        def wait_for_mail(rcpt: str, count: int = 1, timeout: float = 60) -> list[Message]:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                got = [m for m in capture_relay.snapshot() if m.rcpt_tos == [rcpt]]
                if len(got) >= count:
                    return [parsed(m.data) for m in got]
                time.sleep(0.1)
            raise AssertionError(
                f"no mail for {rcpt}\n-- postfix --\n{pf.log()[-3000:]}\n-- gateway --\n"
                f"{gateway_log()}"
            )

        # Postfix itself, as the doc configures it, towards an Internet client.
        with smtplib.SMTP("127.0.0.1", pf_port, source_address=(INTERNET_CLIENT, 0)) as smtp:
            smtp.ehlo("client.example.org")
            smtp.mail("spam@example.org")
            code, _ = smtp.rcpt("nobody@council.example")
            assert code == 550, "unlisted council recipient must be refused (relay_recipients)"
            code, _ = smtp.rcpt("someone@example.net")
            assert code == 554, "no open relay"

        # 1. The citizen's appeal, to a general intake address, through Postfix.
        m = EmailMessage()
        m["From"] = "Петро Сидоренко <petro@example.org>"
        m["To"] = "appeals@council.example"
        m["Subject"] = "Яма на дорозі"
        m["Message-ID"] = "<postfix-1@example.org>"
        m.set_content(
            "Доброго дня. На вулиці Рівненській біля будинку 12 велика яма на проїжджій "
            "частині, машини пошкоджують колеса. Прошу відремонтувати дорожнє покриття.\n\n"
            "З повагою, Петро Сидоренко\nм. Луцьк, вул. Рівненська, 12, кв. 3"
        )
        with smtplib.SMTP("127.0.0.1", pf_port, source_address=(INTERNET_CLIENT, 0)) as smtp:
            smtp.ehlo("mail.example.org")
            smtp.send_message(m)

        # 2. The acknowledgement reaches the citizen through Postfix.
        (ack,) = wait_for_mail("petro@example.org")
        reg_no = str(ack["Subject"]).split("]")[0].lstrip("[")
        assert reg_no.startswith("A-"), ack["Subject"]
        assert reg_no in ack.get_body().get_content()
        assert any("(Postfix)" in str(h) for h in ack.get_all("Received", []))
        relayed_in = f"relay=127.0.0.1[127.0.0.1]:{gw_port}"
        assert relayed_in in pf.log(), "Postfix did not hand the appeal to the gateway"

        # 3. The gateway registered it (its own CLI, in a separate process).
        shown = appeals_cli(settings_file, "appeal", "show", reg_no)
        assert shown["reg_no"] == reg_no and shown["kind"] == "appeal"
        status = appeals_cli(settings_file, "status", "--json")
        assert sum(status["appeals"].values()) == 1, status

        # 4. The forward reaches the department's mailbox, which is not an intake address:
        #    it went on to the council's mail server instead of looping into the gateway.
        department = next(d for d in settings.departments if d.code == shown["department"])
        assert department.email.lower() not in settings.accepted_recipients()
        (fwd,) = wait_for_mail(department.email)
        assert fwd["Subject"].startswith(f"[{reg_no}]")
        reply_to = fwd["Reply-To"].addresses[0].addr_spec
        assert reply_to.endswith("@" + settings.outbound.reply_domain)

        # 5. Staff answer from their mailbox to the Reply-To address; Postfix sends the
        #    reply domain to the gateway, which relays the answer to the citizen.
        r = EmailMessage()
        r["From"] = f"Олена Бондар <{department.email}>"
        r["To"] = reply_to
        r["Subject"] = "Re: " + fwd["Subject"]
        r["In-Reply-To"] = fwd["Message-ID"]
        r["References"] = fwd["Message-ID"]
        answer = "Яму на вул. Рівненській, 12 закладено асфальтом 20.05, покриття відновлено."
        r.set_content(f"{answer}\n\n--\nОлена Бондар\n{department.name}\n")
        with smtplib.SMTP("127.0.0.1", pf_port, source_address=(INTERNET_CLIENT, 0)) as smtp:
            smtp.ehlo("mail.council.example")
            smtp.sendmail(department.email, [reply_to], r.as_bytes(policy=policy.SMTP))
        _ack, reply = wait_for_mail("petro@example.org", count=2)
        assert answer in reply.get_body().get_content()
        shown = appeals_cli(settings_file, "appeal", "show", reg_no)
        assert shown["state"] == "closed", shown
        status = appeals_cli(settings_file, "status", "--json")
        assert status["outbox_failures"] == [], status
        assert status["held_by_reason"] == {}, status
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        pf.stop()
