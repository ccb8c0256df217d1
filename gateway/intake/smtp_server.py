"""The SMTP listener (aiosmtpd): never an open relay, and 250 only after a durable commit.

- RCPT: only our intake addresses and the reply domain are accepted; anything else gets
  550 5.1.1 (Mailman's LMTP runner does the same), so we can never relay or backscatter.
- SIZE / DATA: aiosmtpd itself answers 552 when a message exceeds `data_size_limit`.
- DATA: the exact bytes (`decode_data=False`; `original_content` is untouched) go to the
  group committer, which commits the inbound row with them off the event loop; the
  client hears 250 only after that returns, and 451 4.3.0 on any failure of ours so that
  the sending MTA keeps the message and retries (RFC 5321 §4.2.5).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from aiosmtpd.smtp import Session as SmtpSession

from gateway.intake.items import AcceptResult, IncomingItem
from routing.mail import Envelope

log = logging.getLogger(__name__)


class Committer(Protocol):
    """Makes a message durable and says where it is: gateway.intake.committer.GroupCommitter (a
    thread) or gateway.intake.intake_process.ProcessCommitter (a child process, SQLite)."""

    async def submit(self, item: IncomingItem) -> AcceptResult: ...


class IntakeHandler:
    def __init__(self, committer: Committer, accepts: Callable[[str], bool]) -> None:
        self.committer = committer
        self.accepts = accepts

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
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content
        if raw is None:
            return "451 4.3.0 No message data"
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        item = IncomingItem(
            raw=bytes(raw),
            envelope=Envelope(
                source="smtp",
                mail_from=envelope.mail_from or None,
                rcpt_tos=tuple(envelope.rcpt_tos),
                peer=peer,
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
        return a in accepted or a.rsplit("@", 1)[-1] == domain

    return accepts


async def start_server(
    handler: IntakeHandler,
    host: str,
    port: int,
    *,
    hostname: str,
    data_size_limit: int,
) -> asyncio.Server:
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(
            handler,
            hostname=hostname,
            data_size_limit=data_size_limit,
            decode_data=False,
            enable_SMTPUTF8=True,
            ident="appeal-gateway",
        )

    server = await loop.create_server(factory, host=host, port=port)
    log.info("SMTP listener on %s", ", ".join(str(s.getsockname()) for s in server.sockets))
    return server


def bound_port(server: Any) -> int:
    return int(server.sockets[0].getsockname()[1])
