"""IMAP intake against a real Dovecot: exactly-once storage, flag/move only after the
commit, \\Seen never touched nor relied on, UIDVALIDITY rescans, bad messages skipped
without blocking, and the server dying in the middle of a multi-batch fetch."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest
from gwtest import free_port
from imapclient import IMAPClient
from sqlalchemy import select

from gateway.app import App, build_app, prepare
from gateway.commands.messages import status
from gateway.intake.imap_poller import MailboxPoller
from gateway.intake.items import IncomingItem
from models import InboundMessage, MailboxCursor
from routing.mail import Envelope

pytestmark = pytest.mark.integration

PW_ENV = "IMAP_TEST_PASSWORD"
FLAG = b"$AppealGateway"


def _raw(i: int, tag: str = "") -> bytes:
    m = EmailMessage()
    m["From"] = f"Мешканка {i} <c{i}@example.org>"
    m["To"] = "zvernennia@council.example"
    m["Subject"] = f"Звернення {i} {tag}"
    m["Message-ID"] = f"<imap-{tag}-{i}@example.org>"
    m.set_content(f"Прошу полагодити ліхтар біля будинку {i}.\n")
    return m.as_bytes(policy=SMTP)  # CRLF, as an IMAP server hands messages out


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@pytest.fixture
def user() -> str:
    # The static passdb accepts any name, so each test gets a fresh, empty account.
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def imap_app(make_settings: Callable[..., Any], dovecot: Any, user: str) -> Callable[..., App]:
    def factory(**mailbox: Any) -> App:
        mb = {
            "name": "main",
            "host": dovecot.host,
            "port": dovecot.port,
            "tls": False,
            "username": user,
            "password_env": PW_ENV,
            "idle": False,
            **mailbox,
        }
        settings = make_settings({"imap": {"mailboxes": [mb]}}, env={PW_ENV: dovecot.password})
        app = build_app(settings)
        prepare(app)
        return app

    return factory


def make_poller(app: App, **kwargs: Any) -> MailboxPoller:
    mb = app.settings.imap.mailboxes[0]
    password = app.settings.secret(mb.password_env)
    assert password is not None
    return MailboxPoller(mb, password, app.ingest(), app.sessions, app.clock, **kwargs)


def rows(app: App) -> list[InboundMessage]:
    with app.sessions() as s:
        return list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def cursor(app: App) -> MailboxCursor:
    with app.sessions() as s:
        row = s.get(MailboxCursor, "main")
        assert row is not None
        return row


def hooked_client(hooks: dict[str, Callable[[int, Any], None]]) -> type[IMAPClient]:
    """The real imapclient, with test hooks run before chosen commands (n = call number)."""

    class Hooked(IMAPClient):
        calls: dict[str, int]

        def _hook(self, name: str, arg: Any) -> None:
            counts = type(self).calls
            counts[name] = counts.get(name, 0) + 1
            if name in hooks:
                hooks[name](counts[name], arg)

        def fetch(self, messages: Any, data: Any, modifiers: Any = None) -> Any:
            if any("BODY" in str(d) for d in data):
                self._hook("fetch_body", messages)
            return super().fetch(messages, data, modifiers)

        def add_flags(self, messages: Any, flags: Any, silent: bool = False) -> Any:
            self._hook("add_flags", messages)
            return super().add_flags(messages, flags, silent)

        def move(self, messages: Any, folder: Any) -> Any:
            self._hook("move", messages)
            return super().move(messages, folder)

        def copy(self, messages: Any, folder: Any) -> Any:
            self._hook("copy", messages)
            return super().copy(messages, folder)

    Hooked.calls = {}
    return Hooked


def committed_uids(app: App) -> set[int]:
    with app.sessions() as s:
        return set(s.scalars(select(InboundMessage.uid).where(InboundMessage.mailbox == "main")))


def test_each_message_stored_once_flagged_after_commit_and_seen_untouched(
    imap_app: Callable[..., App], dovecot: Any, user: str
) -> None:
    app = imap_app()
    raws = [_raw(i, "flag") for i in range(5)]
    # Message 1 was already opened by a person in another client: it must still be taken.
    uids = [
        dovecot.deliver(user, r, flags=(b"\\Seen",) if i == 1 else ()) for i, r in enumerate(raws)
    ]
    unflagged_at_flag_time: list[int] = []

    def check_committed(_n: int, messages: Any) -> None:
        unflagged_at_flag_time.extend(set(messages) - committed_uids(app))

    poller = make_poller(
        app, batch_size=2, client_factory=hooked_client({"add_flags": check_committed})
    )
    assert poller.poll_once() == 5
    assert unflagged_at_flag_time == [], "a message was flagged before it was committed"

    stored = rows(app)
    assert sorted(r.uid for r in stored) == sorted(uids)
    assert {r.raw_sha256 for r in stored} == {sha(r) for r in raws}
    assert all(r.mailbox == "main" and r.source == "imap:main" for r in stored)
    assert len({r.uidvalidity for r in stored}) == 1
    for r in stored:
        assert app.ingest().raw(r.id) == raws[uids.index(r.uid)]

    flags = dovecot.uids(user)
    for i, uid in enumerate(uids):
        assert FLAG in flags[uid]
        assert (b"\\Seen" in flags[uid]) == (i == 1), f"\\Seen changed on uid {uid}"

    # A second poll finds nothing new and stores nothing.
    assert poller.poll_once() == 0
    assert len(rows(app)) == 5
    c = cursor(app)
    assert (c.last_uid, c.failures) == (max(uids), 0)
    assert c.last_success_at is not None


def test_only_new_mail_is_fetched_on_later_polls(
    imap_app: Callable[..., App], dovecot: Any, user: str
) -> None:
    app = imap_app()
    dovecot.deliver(user, _raw(0, "later"))
    fetched: list[list[int]] = []
    poller = make_poller(
        app, client_factory=hooked_client({"fetch_body": lambda _n, m: fetched.append(list(m))})
    )
    assert poller.poll_once() == 1
    second = dovecot.deliver(user, _raw(1, "later"))
    assert poller.poll_once() == 1
    # A person's client drops our keyword from the newest message. The cursor, not the
    # flag, says it is done; and "UID n:*" still matches the highest UID even when that is
    # below n (RFC 3501 §6.4.8), so without filtering it would be fetched on every poll.
    c = dovecot.client(user)
    c.select_folder("INBOX")
    c.remove_flags([second], [FLAG])
    c.logout()
    assert poller.poll_once() == 0
    assert fetched[1:] == [[second]]


@pytest.mark.parametrize("has_move", [True, False], ids=["move", "copy-expunge"])
def test_move_after_commit_creates_the_target_folder(
    imap_app: Callable[..., App], dovecot: Any, user: str, has_move: bool
) -> None:
    app = imap_app(after="move", move_to="Appeals-Processed")
    raws = [_raw(i, f"move-{has_move}") for i in range(3)]
    uids = [dovecot.deliver(user, r) for r in raws]
    early: list[int] = []

    def check_committed(_n: int, messages: Any) -> None:
        early.extend(set(messages) - committed_uids(app))

    base = hooked_client({"move": check_committed, "copy": check_committed})

    class Client(base):  # type: ignore[valid-type,misc]
        def has_capability(self, capability: str) -> bool:
            if capability.upper() == "MOVE" and not has_move:
                return False  # a server without RFC 6851
            return bool(super().has_capability(capability))

    poller = make_poller(app, client_factory=Client)
    assert poller.poll_once() == 3
    assert early == []
    assert Client.calls.get("move" if has_move else "copy") == 1
    assert Client.calls.get("copy" if has_move else "move") is None
    assert dovecot.uids(user) == {}
    moved = dovecot.uids(user, "Appeals-Processed")
    assert len(moved) == 3
    assert all(b"\\Seen" not in f and b"\\Deleted" not in f for f in moved.values())
    assert sorted(r.uid for r in rows(app)) == sorted(uids)
    assert poller.poll_once() == 0


def test_uidvalidity_change_rescans_without_duplicates(
    imap_app: Callable[..., App], dovecot: Any, user: str
) -> None:
    app = imap_app(folder="Appeals")
    old = [_raw(i, "uv") for i in range(3)]
    for r in old:
        dovecot.deliver(user, r, folder="Appeals")
    poller = make_poller(app)
    assert poller.poll_once() == 3
    first_validity = cursor(app).uidvalidity

    # The folder is recreated (as after a server migration): same mail, new UIDVALIDITY.
    c = dovecot.client(user)
    c.delete_folder("Appeals")
    c.logout()
    time.sleep(1.1)  # Dovecot derives a new UIDVALIDITY from the clock
    for r in [*old, _raw(9, "uv")]:
        dovecot.deliver(user, r, folder="Appeals")

    assert poller.poll_once() == 1  # only the new message is new
    stored = rows(app)
    assert len(stored) == 4
    assert len({r.raw_sha256 for r in stored}) == 4
    cur = cursor(app)
    assert cur.uidvalidity != first_validity
    assert cur.last_uid == 4
    assert all(FLAG in f for f in dovecot.uids(user, "Appeals").values())


@pytest.mark.parametrize(
    ("hook", "call", "stored_before", "cursor_before"),
    [
        # Dies while the second batch is fetched: batch 1 is stored and flagged.
        ("fetch_body", 2, 2, 2),
        # Dies after batch 3 was committed but before it was flagged: the cursor stays
        # after batch 2, so batch 3 is fetched again later and must not be stored twice.
        ("add_flags", 3, 6, 4),
    ],
    ids=["during-second-fetch", "after-commit-before-flag"],
)
def test_server_stopped_mid_fetch_loses_nothing_and_stores_nothing_twice(
    imap_app: Callable[..., App],
    dovecot: Any,
    user: str,
    hook: str,
    call: int,
    stored_before: int,
    cursor_before: int,
) -> None:
    app = imap_app()
    raws = [_raw(i, f"drop-{hook}") for i in range(10)]
    uids = [dovecot.deliver(user, r) for r in raws]

    def stop_server(n: int, _messages: Any) -> None:
        if n == call:
            dovecot.stop()

    poller = make_poller(app, batch_size=2, client_factory=hooked_client({hook: stop_server}))
    try:
        with pytest.raises((OSError, IMAPClient.Error)):
            poller.poll_once()
        assert len(rows(app)) == stored_before
        c = cursor(app)
        assert c.last_uid == uids[cursor_before - 1]
        assert c.failures == 1 and c.last_error
        board = status(app)["mailboxes"]
        assert board[0]["name"] == "main" and board[0]["failures"] == 1
        assert board[0]["last_error"]
        # Still down: the next attempt fails too and is counted.
        with pytest.raises(OSError):
            poller.poll_once()
        assert cursor(app).failures == 2
    finally:
        dovecot.start()

    assert poller.poll_once() == 10 - stored_before
    stored = rows(app)
    assert len(stored) == 10
    assert len({r.raw_sha256 for r in stored}) == 10
    assert sorted(r.uid for r in stored) == sorted(uids)
    assert {r.raw_sha256 for r in stored} == {sha(r) for r in raws}
    assert all(FLAG in f for f in dovecot.uids(user).values())
    c = cursor(app)
    assert (c.last_uid, c.failures) == (uids[-1], 0)
    assert status(app)["mailboxes"][0]["failures"] == 0


def test_a_message_the_server_cannot_read_is_skipped_not_blocking(
    imap_app: Callable[..., App], dovecot: Any, user: str
) -> None:
    app = imap_app()
    uids = [dovecot.deliver(user, _raw(i, "bad")) for i in range(4)]
    # Make one message's file unreadable for the mail process (which runs as the dovecot
    # user, not root): Dovecot fails the FETCH and, by default, drops the connection
    # (imap_fetch_failure = disconnect-immediately).
    bad = _maildir_file(dovecot.maildir(user), _raw(1, "bad"))
    base = bad.name.split(":")[0]  # Dovecot renames new/X to cur/X:2,<flags>
    bad.chmod(0)
    tries = 0
    try:
        poller = make_poller(app, fetch_attempts=2)
        while True:
            tries += 1
            assert tries <= 6, "the broken message blocks the mailbox"
            try:
                poller.poll_once()
                break
            except Exception:
                continue
    finally:
        for f in dovecot.maildir(user).glob(f"*/{base}*"):
            f.chmod(0o600)
    assert tries > 1
    rows_ = rows(app)
    assert sorted(r.uid for r in rows_) == [uids[0], uids[2], uids[3]]
    c = cursor(app)
    assert c.last_uid == uids[3]
    assert f"uid {uids[1]}" in (c.last_error or "")
    assert c.failures == 0  # the last poll succeeded
    flags = dovecot.uids(user)
    assert FLAG not in flags[uids[1]], "the skipped message must stay visible in the mailbox"
    assert all(FLAG in flags[u] for u in (uids[0], uids[2], uids[3]))
    assert poller.poll_once() == 0


def _maildir_file(maildir: Path, raw: bytes) -> Path:
    for f in [*maildir.glob("new/*"), *maildir.glob("cur/*")]:
        if f.read_bytes().replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n"):
            return f
    raise AssertionError("message file not found in the maildir")


def test_uid_already_naming_other_bytes_is_stored_without_uid(
    imap_app: Callable[..., App], dovecot: Any, user: str
) -> None:
    app = imap_app()
    uids = [dovecot.deliver(user, _raw(i, "conflict")) for i in range(3)]
    c = dovecot.client(user)
    validity = int(c.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"])
    c.logout()
    # A row that already claims (main, validity, uid 2) with different bytes.
    app.ingest().accept_batch(
        [
            IncomingItem(
                b"Subject: other\r\n\r\nx\r\n",
                Envelope("imap:main", None),
                "main",
                validity,
                uids[1],
            )
        ]
    )
    poller = make_poller(app, batch_size=3)
    assert poller.poll_once() == 3
    stored = rows(app)
    assert len(stored) == 4
    without_uid = [r for r in stored if r.uid is None]
    assert len(without_uid) == 1
    assert app.ingest().raw(without_uid[0].id) == _raw(1, "conflict")
    assert f"uid {uids[1]}" in (cursor(app).last_error or "")
    assert all(FLAG in f for f in dovecot.uids(user).values())


def test_run_reconnects_with_exponential_backoff_and_counts_failures(
    imap_app: Callable[..., App],
) -> None:
    app = imap_app(port=free_port())  # nothing listens there
    stop = threading.Event()
    delays: list[float] = []

    def wait(seconds: float) -> bool:
        delays.append(seconds)
        if len(delays) == 10:
            stop.set()
        return stop.is_set()

    make_poller(app, wait=wait, timeout=2).run(stop)
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    c = cursor(app)
    assert c.failures == 10
    assert "ConnectionRefusedError" in (c.last_error or "")
    assert status(app)["mailboxes"][0]["failures"] == 10


def test_idle_picks_up_new_mail_without_polling(
    imap_app: Callable[..., App], dovecot: Any, user: str
) -> None:
    app = imap_app(idle=True, poll_seconds=3600)
    stop = threading.Event()
    waits: list[float] = []
    poller = make_poller(app, wait=lambda s: waits.append(s))
    t = threading.Thread(target=poller.run, args=(stop,), daemon=True)
    t.start()
    try:
        _until(lambda: cursor_exists(app), "first poll")
        time.sleep(0.3)
        dovecot.deliver(user, _raw(1, "idle"))
        _until(lambda: len(rows(app)) == 1, "IDLE delivery")
    finally:
        stop.set()
        t.join(timeout=10)
    assert not t.is_alive(), "run() did not stop"
    assert waits == [], "the poller slept instead of using IDLE"
    assert FLAG in next(iter(dovecot.uids(user).values()))


def cursor_exists(app: App, name: str = "main") -> bool:
    with app.sessions() as s:
        row = s.get(MailboxCursor, name)
        return row is not None and row.last_success_at is not None


def _until(cond: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_imap_role_runs_one_poller_per_mailbox(
    make_settings: Callable[..., Any], dovecot: Any, run_gateway: Callable[..., Any]
) -> None:
    users = [f"r{uuid.uuid4().hex[:10]}" for _ in range(2)]
    mailboxes = [
        {
            "name": f"box{i}",
            "host": dovecot.host,
            "port": dovecot.port,
            "tls": False,
            "username": u,
            "password_env": PW_ENV,
            "after": "move" if i else "flag",
        }
        for i, u in enumerate(users)
    ]
    settings = make_settings({"imap": {"mailboxes": mailboxes}}, env={PW_ENV: dovecot.password})
    app = build_app(settings)
    prepare(app)
    dovecot.deliver(users[0], _raw(0, "role"))
    gw = run_gateway(app, {"imap"})
    _until(lambda: cursor_exists(app, "box1"), "first poll of box1")
    time.sleep(0.3)
    dovecot.deliver(users[1], _raw(1, "role"))  # arrives while the poller is in IDLE
    _until(lambda: len(rows(app)) == 2, "both mailboxes taken")
    assert gw.thread.is_alive()  # stopped by the fixture
    assert sorted(r.mailbox or "" for r in rows(app)) == ["box0", "box1"]
    assert [c["name"] for c in sorted(status(app)["mailboxes"], key=lambda c: c["name"])] == [
        "box0",
        "box1",
    ]
    assert dovecot.uids(users[1]) == {}  # moved away after the commit
    assert len(dovecot.uids(users[1], "Processed")) == 1
