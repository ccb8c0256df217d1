"""The SMTP listener (aiosmtpd): never an open relay, bounded per client, and 250 only after
a durable commit.

- RCPT: only our intake addresses and the reply domain are accepted; anything else gets
  550 5.1.1, so we can never relay or backscatter. Local parts with `%`, `!` or a
  source route (`@a:b@c`) are refused too: they are the classic ways of asking a host to
  pass mail on (RFC 5321 §3.6.1, App. C). Past `max_recipients` recipients a message gets
  452 4.5.3 (RFC 5321 §4.5.3.1.8: the client sends the rest in another transaction).
- SIZE / DATA: EHLO advertises SIZE (RFC 1870); a MAIL with a bigger SIZE= gets 552 from
  aiosmtpd. A client that does not declare the size and streams past the limit hears
  552 5.3.4 as soon as it crosses it: what arrives after that is dropped unread (never
  buffered), and the connection is closed once the client ends the data or after a short
  linger. A message is never buffered beyond the limit, and nothing of it is stored.
- Connections: at most `max_connections` in all and `max_connections_per_client` from one
  IP address, and at most `connections_per_client_per_minute` new ones from one address;
  past a limit the client hears 421 4.7.0 and is disconnected (RFC 5321 §4.2.3: 421 is
  "service not available, closing transmission channel"). `messages_per_client_per_minute`
  limits MAIL commands from one address (451 4.7.1: try again later). `trusted_clients`
  (the council's MTA in front of the listener) are held to the total only.
- Timeouts: a client has `command_timeout_seconds` for each command and
  `data_timeout_seconds` for the whole of DATA; a slow client (slowloris: bytes dribbled,
  or a connection left idle) hears 421 4.4.2 and is disconnected. RFC 5321 §4.5.3.2 asks
  for minutes; a gateway behind the council's own MTA can afford seconds.
- STARTTLS (RFC 3207) with the configured certificate; with `require_starttls` MAIL before
  STARTTLS gets 530 (aiosmtpd's `require_starttls`).
- DATA: the exact bytes (`decode_data=False`; `original_content` is untouched) go to the
  group committer, which commits the inbound row with them off the event loop; the
  client hears 250 only after that returns, and 451 4.3.0 on any failure of ours so that
  the sending MTA keeps the message and retries (RFC 5321 §4.2.5).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from aiosmtpd.smtp import Session as SmtpSession

from gateway.intake.items import AcceptResult, IncomingItem
from routing.mail import Envelope

log = logging.getLogger(__name__)

# After an early 552 the rest of the data is dropped for at most this long, so that the
# client reads the reply before the connection closes (closing a socket with unread data
# sends a reset, which may destroy the reply in the client's buffer).
_OVERSIZE_LINGER_SECONDS = 5.0
# Bytes past the limit before the early 552: the end-of-data line and a pipelined command.
_DATA_SLACK = 1024
# Commands a client may repeat in one session. NOOP and RSET reset the command timer, so
# without a limit a client could hold a connection forever with them.
_CALL_LIMITS = {"NOOP": 10, "RSET": 50, "HELP": 5, "VRFY": 5, "EXPN": 5, "*": 2000}


class Committer(Protocol):
    """Makes a message durable and says where it is: gateway.intake.committer.GroupCommitter (a
    thread) or gateway.intake.intake_process.ProcessCommitter (a child process, SQLite)."""

    async def submit(self, item: IncomingItem) -> AcceptResult: ...


@dataclass(frozen=True)
class ListenerLimits:
    """What one client and all clients together may take of the listener."""

    max_message_size: int = 25 * 1024 * 1024
    max_recipients: int = 100
    max_connections: int = 100
    max_connections_per_client: int = 10
    connections_per_client_per_minute: int = 60
    messages_per_client_per_minute: int = 60
    command_timeout_seconds: float = 30.0
    data_timeout_seconds: float = 120.0
    require_starttls: bool = False
    # Addresses exempt from the per-client limits and rates (only the total applies): the
    # council's own MTA in front of the listener delivers everything from one address.
    trusted_clients: frozenset[str] = frozenset()


class ClientGate:
    """Counts open connections and recent connections and messages per client address.

    One per listener (no global state); `now` is a monotonic clock, injected so tests can
    move time."""

    def __init__(self, limits: ListenerLimits, now: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._now = now
        self._open: dict[str, int] = {}
        self._total = 0
        self._connects: dict[str, deque[float]] = {}
        self._messages: dict[str, deque[float]] = {}

    @property
    def open_connections(self) -> int:
        return self._total

    def admit(self, client: str) -> str | None:
        """None when the connection may go on, otherwise why it may not (for the 421)."""
        lim = self.limits
        if self._total >= lim.max_connections:
            return "Too many connections, try again later"
        if client not in lim.trusted_clients:
            if self._open.get(client, 0) >= lim.max_connections_per_client:
                return "Too many connections from your address"
            if not self._take(self._connects, client, lim.connections_per_client_per_minute):
                return "Too many connections from your address in a minute"
        self._open[client] = self._open.get(client, 0) + 1
        self._total += 1
        return None

    def release(self, client: str) -> None:
        n = self._open.get(client, 0) - 1
        if n > 0:
            self._open[client] = n
        else:
            self._open.pop(client, None)
        self._total = max(0, self._total - 1)

    def message_allowed(self, client: str) -> bool:
        if client in self.limits.trusted_clients:
            return True
        return self._take(self._messages, client, self.limits.messages_per_client_per_minute)

    def _take(self, windows: dict[str, deque[float]], client: str, per_minute: int) -> bool:
        """A sliding one-minute window of events per client."""
        now = self._now()
        if len(windows) > 10_000:
            # Forget clients quiet for a minute, so the table cannot grow without bound.
            for key in [k for k, w in windows.items() if not w or w[-1] <= now - 60]:
                del windows[key]
        window = windows.setdefault(client, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= per_minute:
            return False
        window.append(now)
        return True


def client_address(peer: Any) -> str:
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


class IntakeHandler:
    def __init__(
        self,
        committer: Committer,
        accepts: Callable[[str], bool],
        gate: ClientGate | None = None,
    ) -> None:
        self.committer = committer
        self.accepts = accepts
        self.gate = gate or ClientGate(ListenerLimits())

    async def handle_MAIL(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if not self.gate.message_allowed(client_address(session.peer)):
            return "451 4.7.1 Too many messages from your address, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self.accepts(address):
            return "550 5.1.1 No such recipient here"
        if len(envelope.rcpt_tos) >= self.gate.limits.max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content
        if raw is None:
            return "451 4.3.0 No message data"
        item = IncomingItem(
            raw=bytes(raw),
            envelope=Envelope(
                source="smtp",
                mail_from=envelope.mail_from or None,
                rcpt_tos=tuple(envelope.rcpt_tos),
                peer=client_address(session.peer),
            ),
        )
        try:
            result = await self.committer.submit(item)
        except Exception:
            log.exception("intake failed; answering 451")
            return "451 4.3.0 Temporary failure, please retry"
        return f"250 2.0.0 Stored as {result.inbound_id}"


def make_acceptor(accepted: set[str], reply_domain: str) -> Callable[[str], bool]:
    accepted = {a.lower() for a in accepted}
    domain = reply_domain.lower()

    def accepts(address: str) -> bool:
        a = address.strip().lower()
        local, at, host = a.rpartition("@")
        if not at or not local or any(c in local for c in "%!@:") or a.startswith("@"):
            return False
        return a in accepted or host == domain

    return accepts


class GatewaySMTP(SMTP):
    """aiosmtpd's SMTP with the connection gate, the early 552 and the DATA timeout."""

    def __init__(self, handler: Any, *, gate: ClientGate, hostname: str, **kwargs: Any) -> None:
        limits = gate.limits
        super().__init__(
            handler,
            hostname=hostname,
            data_size_limit=limits.max_message_size,
            timeout=limits.command_timeout_seconds,
            command_call_limit=_CALL_LIMITS,
            **kwargs,
        )
        self._gate = gate
        self._greeting_host = hostname
        self._client: str | None = None  # set while the gate counts this connection
        self._refused = False
        self._in_data = False
        self._data_seen = 0
        self._discarding = False
        self._tail = b""

    # -- connections ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._original_transport is None and self._client is None:  # not the STARTTLS
            client = client_address(transport.get_extra_info("peername"))
            why = self._gate.admit(client)
            if why is not None:
                self._refused = True
                log.warning("connection refused: %s", why)
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(f"421 4.7.0 {self._greeting_host} {why}\r\n".encode())
                transport.close()
                return
            self._client = client
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return  # aiosmtpd never saw this connection
        if self._client is not None:
            self._gate.release(self._client)
            self._client = None
        super().connection_lost(error)

    def _timeout_cb(self) -> None:
        # RFC 5321 §4.2.2: 421 tells the client why the channel closes.
        transport = self.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(
                f"421 4.4.2 {self._greeting_host} Timeout, closing connection\r\n".encode()
            )
        super()._timeout_cb()

    # -- DATA -----------------------------------------------------------------------
    async def smtp_DATA(self, arg: str) -> None:
        # The whole of DATA gets its own time: aiosmtpd resets its timer only on commands.
        self._reset_timeout(self._gate.limits.data_timeout_seconds)
        self._in_data, self._data_seen = True, 0
        try:
            await super().smtp_DATA(arg)
        finally:
            self._in_data = False
        if not self._discarding:
            self._reset_timeout()

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            seen = self._tail + data
            self._tail = seen[-5:]
            if b"\r\n.\r\n" in seen and self.transport is not None:
                self.transport.close()  # the client has ended its data: the reply is read
            return
        if self._in_data:
            self._data_seen += len(data)
            if self._data_seen > self._gate.limits.max_message_size + _DATA_SLACK:
                self._refuse_oversize(data)
                return
        super().data_received(data)

    def _refuse_oversize(self, data: bytes) -> None:
        self._discarding, self._in_data, self._tail = True, False, data[-5:]
        log.warning("message over the size limit while streaming; answering 552")
        transport = self.transport
        if not isinstance(transport, asyncio.WriteTransport):
            return
        transport.write(
            f"552 5.3.4 Message exceeds the size limit of "
            f"{self._gate.limits.max_message_size} bytes\r\n".encode()
        )
        self.loop.call_later(_OVERSIZE_LINGER_SECONDS, transport.close)


def tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """The server side of STARTTLS: TLS 1.2 or later with the configured certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_file), str(key_file))
    return context


async def start_server(
    handler: Any,
    host: str,
    port: int,
    *,
    hostname: str,
    gate: ClientGate,
    tls: ssl.SSLContext | None = None,
) -> asyncio.Server:
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return GatewaySMTP(
            handler,
            gate=gate,
            hostname=hostname,
            decode_data=False,
            enable_SMTPUTF8=True,
            ident="appeal-gateway",
            tls_context=tls,
            require_starttls=bool(tls) and gate.limits.require_starttls,
        )

    server = await loop.create_server(factory, host=host, port=port)
    log.info("SMTP listener on %s", ", ".join(str(s.getsockname()) for s in server.sockets))
    return server


def bound_port(server: Any) -> int:
    return int(server.sockets[0].getsockname()[1])
