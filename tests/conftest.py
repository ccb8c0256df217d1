"""Shared fixtures: settings factory, apps on a temporary SQLite, a capturing SMTP relay,
PostgreSQL. Servers that cannot be started skip with the reason, except under CI=true,
where a missing server is a failure (never a silent skip)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from gwtest import free_port

from gateway.app import App, build_app, prepare
from gateway.settings import Settings, settings_from_dict

REPO = Path(__file__).resolve().parent.parent
TOKEN_ENV = {"APPEALS_TOKEN_KEY": "test-token-key"}


def missing_server(reason: str) -> None:
    """Skip locally, fail in CI."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required test server missing in CI: {reason}")
    pytest.skip(reason)


def corpora_dir() -> Path:
    return Path(os.environ.get("APPEALS_CORPORA", REPO.parent / "shared" / "corpora"))


def base_settings_dict(var_dir: Path) -> dict[str, Any]:
    """The shipped settings.toml with the var dir moved into the test's tmp dir."""
    import tomllib

    with (REPO / "settings.toml").open("rb") as fh:
        data = tomllib.load(fh)
    data["paths"]["var_dir"] = str(var_dir)
    data["smtp_server"]["port"] = 0
    data["classifier"]["train_on_first_run"] = False
    return data


def deep_update(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_update(base[k], v)
        else:
            base[k] = v
    return base


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def factory(patch: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Settings:
        data = deep_update(base_settings_dict(tmp_path / "var"), patch or {})
        return settings_from_dict(data, base_dir=REPO, env={**TOKEN_ENV, **(env or {})})

    return factory


@pytest.fixture
def make_app(make_settings: Callable[..., Settings]) -> Callable[..., App]:
    def factory(
        patch: dict[str, Any] | None = None, env: dict[str, str] | None = None, **kwargs: Any
    ) -> App:
        app = build_app(make_settings(patch, env), **kwargs)
        prepare(app)
        return app

    return factory


@dataclass
class CapturedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    smtp_utf8: bool = False  # MAIL FROM carried SMTPUTF8 (RFC 6531)


@dataclass
class CaptureRelay:
    """An aiosmtpd server that records every message it is given (the test's relay)."""

    host: str
    port: int
    messages: list[CapturedMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse: dict[str, str] = field(default_factory=dict)  # rcpt -> SMTP reply

    async def handle_RCPT(
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,
        options: Any,
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(
                CapturedMessage(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content),
                    bool(envelope.smtp_utf8),
                )
            )
        return "250 OK"

    def snapshot(self) -> list[CapturedMessage]:
        with self.lock:
            return list(self.messages)


@pytest.fixture
def capture_relay() -> Iterator[CaptureRelay]:
    relay = CaptureRelay("127.0.0.1", free_port())
    controller = Controller(relay, hostname=relay.host, port=relay.port)
    controller.start()
    try:
        yield relay
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("APPEALS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            pass
    except Exception as exc:
        missing_server(f"PostgreSQL not reachable at {url}: {type(exc).__name__}")
    return url


@dataclass
class RunningGateway:
    app: App
    port: int
    loop: Any
    stopped: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stopped.set)
        self.thread.join(timeout=20)


@pytest.fixture
def run_gateway() -> Iterator[Callable[..., RunningGateway]]:
    """Start `serve()` for an app in a background thread; stopped at teardown."""
    import asyncio

    from gateway.runner import serve

    started: list[RunningGateway] = []

    def start(app: App, roles: set[str] | None = None) -> RunningGateway:
        roles = roles or {"smtp", "work", "send"}
        ready = threading.Event()
        box: dict[str, Any] = {}

        def body() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            stopped = asyncio.Event()
            box["loop"], box["stopped"] = loop, stopped

            def on_ready(port: int) -> None:
                box["port"] = port
                ready.set()

            try:
                loop.run_until_complete(serve(app, roles, ready=on_ready, stopped=stopped))
            finally:
                loop.close()

        t = threading.Thread(target=body, daemon=True)
        t.start()
        assert ready.wait(30), "gateway did not start"
        gw = RunningGateway(app, box["port"], box["loop"], box["stopped"], t)
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A throwaway schema in the PostgreSQL test database, so runs never collide."""
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = postgres_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# --- Dovecot ---------------------------------------------------------------------------
# A throwaway Dovecot IMAP server per test session (facts: shared/design/test-servers.md).
# The master runs as root (it has to, to switch users), the login and mail processes as
# the unprivileged `dovenull`/`dovecot` users; everything lives in one temp directory.
DOVECOT_BIN = Path("/usr/sbin/dovecot")
DOVECOT_PASSWORD = "imap-test-secret"


@dataclass
class DovecotServer:
    """A running Dovecot on loopback; any user name logs in with `password`."""

    root: Path
    host: str
    port: int
    password: str = DOVECOT_PASSWORD
    users: tuple[str, ...] = ("intake", "other")

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def base_dir(self) -> Path:
        return self.root / "run"

    def maildir(self, user: str) -> Path:
        return self.root / "mail" / user

    def _pid(self) -> int | None:
        try:
            return int((self.base_dir / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self) -> None:
        import subprocess
        import time

        (self.base_dir / "master.pid").unlink(missing_ok=True)
        subprocess.run([str(DOVECOT_BIN), "-c", str(self.config)], check=True, timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                self.client().logout()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start listening on {self.host}:{self.port}")

    def stop(self) -> None:
        """Stop the whole server (master and children): open connections drop."""
        import signal
        import time

        pid = self._pid()
        if pid is None:
            return
        # The master's children (imap, imap-login, auth...) outlive a master that exits
        # and keep serving open connections for a while; `systemctl stop dovecot` kills
        # the whole group, and so do we, so that connections really drop.
        children = _descendants(pid)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("dovecot master did not exit")
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        (self.base_dir / "master.pid").unlink(missing_ok=True)

    def client(self, user: str | None = None) -> Any:
        """A logged-in imapclient connection (logged out only if `user` is given)."""
        from imapclient import IMAPClient

        c = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        if user is not None:
            c.login(user, self.password)
        return c

    def deliver(
        self, user: str, raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()
    ) -> int:
        """APPEND a message as the user; returns its UID (Dovecot has UIDPLUS)."""
        c = self.client(user)
        try:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            resp = c.append(folder, raw, flags=flags)
        finally:
            c.logout()
        # "[APPENDUID <uidvalidity> <uid>] Append completed." (RFC 4315 §3)
        text = resp.decode() if isinstance(resp, bytes) else str(resp)
        return int(text.split("]")[0].split()[-1])

    def uids(self, user: str, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """UID -> flags of every message in a folder (read-only select: changes nothing)."""
        c = self.client(user)
        try:
            if not c.folder_exists(folder):
                return {}
            c.select_folder(folder, readonly=True)
            data = c.fetch(c.search("ALL"), ["FLAGS"])
            return {uid: tuple(d[b"FLAGS"]) for uid, d in data.items()}
        finally:
            c.logout()

    def reset_user(self, user: str) -> None:
        """Delete every folder but INBOX and every message of a user (test isolation)."""
        c = self.client(user)
        try:
            for _flags, _delim, name in c.list_folders():
                if name.upper() != "INBOX":
                    c.delete_folder(name)
            c.select_folder("INBOX")
            uids = c.search("ALL")
            if uids:
                c.delete_messages(uids)
                c.expunge()
        finally:
            c.logout()


def _descendants(pid: int) -> list[int]:
    """All processes below `pid` (read from /proc; Linux only, like the fixture)."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        frontier += kids
    return found


def _dovecot_config(root: Path, port: int, password: str) -> str:
    return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {root}/dovecot.log
mail_location = maildir:{root}/mail/%u
# Dovecot also re-checks an IDLE mailbox on a timer (default 30 s) in case a change
# slipped past its inotify watch; short here so a rare race cannot stall a test.
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"""


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    import shutil
    import tempfile

    if not DOVECOT_BIN.exists():
        missing_server("dovecot not installed: apt-get install dovecot-imapd")
    if os.geteuid() != 0:
        missing_server("the throwaway Dovecot master must run as root")
    # Not under pytest's basetemp: pytest keeps /tmp/pytest-of-<user> at mode 0700, and
    # the dovecot/dovenull processes must be able to reach the sockets and mail dirs.
    root = Path(tempfile.mkdtemp(prefix="appeals-dovecot-"))
    root.chmod(0o755)
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(mode=0o755)
    for sub in ("mail", "home"):
        shutil.chown(root / sub, "dovecot", "dovecot")
    server = DovecotServer(root=root, host="127.0.0.1", port=free_port())
    server.config.write_text(_dovecot_config(root, server.port, server.password))
    try:
        try:
            server.start()
        except Exception as exc:
            log = root / "dovecot.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            server.stop()
            pytest.fail(f"dovecot failed to start: {exc}\n{tail}")
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
