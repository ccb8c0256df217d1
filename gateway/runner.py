"""The roles of one process: SMTP listener, worker, sender and ticker (`serve`).

`appeals run` starts these as processes of their own (gateway/supervisor.py), each child
serving its roles here; `[run] mode = "threads"` and the single-role commands serve them
all in one process.

The listener lives on the asyncio loop; the worker, the sender and the scheduler tick run
in their own threads (their database work is synchronous) and are woken early when intake
commits or the worker queues mail in the same process; in separate processes they look
for work every `worker.idle_sleep_seconds` while idle. SIGTERM and SIGINT stop everything
cleanly; a SIGKILL loses nothing because every state lives in the database and the raw
store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import threading
from collections.abc import Callable, Sequence

from gateway.app import App
from gateway.errors import SettingsError
from gateway.intake.committer import GroupCommitter
from gateway.intake.intake_process import ProcessCommitter
from gateway.intake.smtp_server import (
    ClientGate,
    IntakeHandler,
    ListenerLimits,
    bound_port,
    make_acceptor,
    start_server,
    tls_context,
)
from gateway.settings import Settings

log = logging.getLogger(__name__)


def loop_thread(
    name: str,
    step: Callable[[], int],
    stop: threading.Event,
    wakeup: threading.Event,
    idle: float,
) -> threading.Thread:
    def body() -> None:
        while not stop.is_set():
            try:
                n = step()
            except Exception:
                log.exception("%s step failed", name)
                n = 0
            if n == 0:
                wakeup.wait(idle)
                if wakeup is not stop:  # the stop event is never cleared
                    wakeup.clear()

    t = threading.Thread(target=body, name=name, daemon=True)
    t.start()
    return t


def start_background_roles(
    app: App, roles: set[str], stop: threading.Event
) -> list[threading.Thread]:
    idle = app.settings.worker.idle_sleep_seconds
    threads = []
    if "work" in roles:
        worker = app.worker()
        app.load_model()
        batch = app.settings.worker.batch

        def work_step() -> int:
            n = worker.run_once(batch)
            if n:
                app.wakeup_sender.set()
            return n

        threads.append(loop_thread("worker", work_step, stop, app.wakeup_worker, idle))
    if "send" in roles:
        sender = app.sender()
        # Webhook events are delivered by the same role as the letters, as reliably.
        hooks = app.webhook_sender()
        threads.append(
            loop_thread(
                "sender",
                lambda: sender.run_once(20) + hooks.run_once(20),
                stop,
                app.wakeup_sender,
                idle,
            )
        )
    if "tick" in roles:
        from gateway.scheduler import tick

        period = float(app.settings.reminders.tick_seconds)

        def tick_step() -> int:
            tick(app)
            return 0  # always sleep a full period between ticks

        # Woken only by the stop event: a shutdown must not wait out the tick period
        # (systemd's stop, and every test gateway's, waited the 10 s join timeout).
        threads.append(loop_thread("scheduler", tick_step, stop, stop, period))
    if "imap" in roles:
        threads += start_imap_pollers(app, stop)
    return threads


def start_imap_pollers(app: App, stop: threading.Event) -> list[threading.Thread]:
    """One thread per configured mailbox, so a slow or dead server delays only its own."""
    from gateway.intake.imap_poller import MailboxPoller

    threads = []
    for mb in app.settings.imap.mailboxes:
        password = app.settings.secret(mb.password_env)
        if password is None:
            raise SettingsError(
                f"imap mailbox {mb.name!r}: environment variable {mb.password_env} "
                "(its password_env) is not set"
            )
        poller = MailboxPoller(mb, password, app.ingest(), app.sessions, app.clock)
        t = threading.Thread(target=poller.run, args=(stop,), name=f"imap-{mb.name}", daemon=True)
        t.start()
        threads.append(t)
    return threads


def listener_limits(s: Settings) -> ListenerLimits:
    """[smtp_server] as the listener's limits."""
    c = s.smtp_server
    return ListenerLimits(
        max_message_size=c.max_message_size,
        max_recipients=c.max_recipients,
        max_connections=c.max_connections,
        max_connections_per_client=c.max_connections_per_client,
        connections_per_client_per_minute=c.connections_per_client_per_minute,
        messages_per_client_per_minute=c.messages_per_client_per_minute,
        command_timeout_seconds=c.command_timeout_seconds,
        data_timeout_seconds=c.data_timeout_seconds,
        require_starttls=c.require_starttls,
        trusted_clients=frozenset(c.trusted_clients),
    )


def listener_tls(s: Settings) -> ssl.SSLContext | None:
    """The STARTTLS context of [smtp_server], or None; a bad file stops the start."""
    cert, key = s.smtp_server.tls_cert_file, s.smtp_server.tls_key_file
    if cert is None or key is None:
        return None
    try:
        return tls_context(s.path(cert), s.path(key))
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(
            f"smtp_server.tls_cert_file / tls_key_file: cannot load {cert}, {key}: {exc}"
        ) from exc


async def serve(
    app: App,
    roles: set[str],
    *,
    ready: Callable[[int], None] | None = None,
    stopped: asyncio.Event | None = None,
    services: Sequence[Callable[[threading.Event], threading.Thread]] = (),
) -> None:
    """Run the roles until SIGTERM/SIGINT or until `stopped` is set. `services` start
    further threads that stop with the same event (the web console, wired by the command
    line because the runner must not know the operator interfaces)."""
    stop = threading.Event()
    loop = asyncio.get_running_loop()
    stopped = stopped or asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stopped.set)
    threads = start_background_roles(app, roles, stop)
    threads += [start(stop) for start in services]
    server = None
    committer: GroupCommitter | ProcessCommitter | None = None
    port = 0
    if "smtp" in roles:
        s = app.settings
        ingest = app.ingest()
        if ingest.prepares_rows:
            # SQLite: commit in a child process, off this interpreter's lock (see module).
            committer = ProcessCommitter(ingest, s.database_url, s.smtp_server.max_batch)
        else:
            committer = GroupCommitter(ingest, s.smtp_server.max_batch)
        await committer.start()
        gate = ClientGate(listener_limits(s))
        handler = IntakeHandler(
            committer, make_acceptor(s.accepted_recipients(), s.outbound.reply_domain), gate
        )
        server = await start_server(
            handler,
            s.smtp_server.host,
            s.smtp_server.port,
            hostname=s.smtp_server.hostname,
            gate=gate,
            tls=listener_tls(s),
        )
        port = bound_port(server)
    if ready is not None:
        ready(port)
    try:
        await stopped.wait()
    finally:
        log.info("stopping")
        if server is not None:
            server.close()
            await server.wait_closed()
        if committer is not None:
            await committer.stop()
        stop.set()
        app.wakeup_worker.set()
        app.wakeup_sender.set()
        for t in threads:
            t.join(timeout=10)
            if t.is_alive():
                log.warning("role thread %s did not stop within 10 s", t.name)
