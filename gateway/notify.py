"""Rendering notices into complete messages and queueing them in the outbox.

Routing says *what* to send (`NoticeSink.add(kind, to, context)`); this module renders
the Jinja templates `templates/<lang>/<audience>/<event>.{subject,txt}.j2` (StrictUndefined:
a missing variable is an error, not an empty string), builds the MIME message with our
headers, and inserts an `OutboundMessage` row in the caller's session, so the notice
commits together with the state change that caused it. Rendering at enqueue time makes the
outbox an exact audit record of what was sent.

Headers on everything we send:
- `Message-ID` on our own domain (stored, so replies and bounces can be matched);
- `Auto-Submitted` (RFC 3834 §5): `auto-replied` for acknowledgements, `auto-generated`
  for the rest, so well-behaved responders on the other side stay quiet;
- `X-Auto-Response-Suppress: All`: Exchange's switch for not sending OOF replies to us;
- `X-Appeal-Gateway`: our loop marker; mail carrying it that comes back is discarded;
- a `Reply-To` carrying the appeal's unforgeable token, so a plain Reply comes back here;
- `In-Reply-To`/`References` to keep the conversation threaded in mail clients.
The envelope sender is a VERP-style address (`bounces+<id>@<reply domain>`): a bounce
names the exact message it is about even when it quotes nothing (issue 5).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.rawstore import RawStore
from models import OutboundMessage
from routing.ports import AttachmentRef, Clock
from routing.tokens import ReplyAddressCodec

LOOP_HEADER = "X-Appeal-Gateway"
AUDIENCES = ("citizen", "department", "admin")


class Renderer:
    """Jinja environment over the site override directory, then the shipped templates."""

    def __init__(self, dirs: Sequence[Path], default_language: str = "uk") -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.default_language = default_language

    def render(self, kind: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
        lang = language if self._exists(f"{language}/{kind}.txt.j2") else self.default_language
        subject = self.env.get_template(f"{lang}/{kind}.subject.j2").render(context)
        body = self.env.get_template(f"{lang}/{kind}.txt.j2").render(context)
        return " ".join(subject.split()), body

    def _exists(self, name: str) -> bool:
        try:
            self.env.get_template(name)
        except jinja2.TemplateNotFound:
            return False
        return True


@dataclass(frozen=True)
class OutboundConfig:
    from_address: str
    from_name: str
    message_id_domain: str
    reply_domain: str
    bounce_local: str = "bounces"
    plus_delimiter: str = "+"
    instance_id: str = "appeal-gateway"
    max_per_recipient_per_day: int = 20


class Notifier:
    """A `routing.ports.NoticeSink` bound to one session (one transaction)."""

    def __init__(
        self,
        session: Session,
        renderer: Renderer,
        config: OutboundConfig,
        codec: ReplyAddressCodec,
        rawstore: RawStore,
        clock: Clock,
    ) -> None:
        self.session = session
        self.renderer = renderer
        self.config = config
        self.codec = codec
        self.rawstore = rawstore
        self.clock = clock

    def add(
        self,
        kind: str,
        *,
        to: Sequence[str],
        context: Mapping[str, Any],
        appeal_id: int | None,
        language: str = "uk",
        reply_token_for: int | None = None,
        thread_with: Sequence[str] = (),
        attachments: Sequence[AttachmentRef] = (),
        automatic: bool = True,
    ) -> str | None:
        now = self.clock.now()
        recipients = [a.strip() for a in to if a and a.strip()]
        if automatic:
            recipients = [r for r in recipients if self._under_daily_cap(r, now)]
        if not recipients:
            return None
        subject, body = self.renderer.render(kind, language, context)
        unique = secrets.token_hex(10)
        message_id = f"<{unique}@{self.config.message_id_domain}>"
        msg = EmailMessage(policy=SMTP)
        msg["From"] = HeaderAddress(self.config.from_name, addr_spec=self.config.from_address)
        msg["To"] = ", ".join(recipients)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = message_id
        if reply_token_for is not None:
            msg["Reply-To"] = self.codec.address_for(reply_token_for)
        refs = [m for m in thread_with if m]
        if refs:
            msg["In-Reply-To"] = refs[-1]
            msg["References"] = " ".join(refs)
        audience = kind.split("/", 1)[0]
        msg["Auto-Submitted"] = "auto-replied" if kind == "citizen/ack" else "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
        msg[LOOP_HEADER] = f"{self.config.instance_id}; kind={kind}"
        msg.set_content(body, charset="utf-8", cte="quoted-printable")
        for att in attachments:
            data = self.rawstore.get(att.sha256)
            maintype, _, subtype = att.content_type.partition("/")
            msg.add_attachment(
                data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=att.filename,
            )
        envelope_from = (
            f"{self.config.bounce_local}{self.config.plus_delimiter}{unique}"
            f"@{self.config.reply_domain}"
        )
        self.session.add(
            OutboundMessage(
                kind=kind,
                appeal_id=appeal_id,
                message_id=message_id,
                envelope_from=envelope_from,
                recipients=recipients,
                first_recipient=recipients[0].lower(),
                audience=audience if audience in AUDIENCES else "other",
                subject=subject,
                raw=msg.as_bytes(),
                automatic=automatic,
                state="queued",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
                failed_recipients=[],
            )
        )
        return message_id

    def _under_daily_cap(self, recipient: str, now: Any) -> bool:
        """Last line of defence against mail loops (Mailman's max_autoresponses_per_day):
        at most N automatic messages to one address in 24 hours."""
        since = now - timedelta(days=1)
        # The recipient list is JSON; the common case is one recipient, stored as ["x"].
        count = self.session.scalar(
            select(func.count(OutboundMessage.id)).where(
                OutboundMessage.automatic.is_(True),
                OutboundMessage.created_at >= since,
                OutboundMessage.first_recipient == recipient.lower(),
            )
        )
        return (count or 0) < self.config.max_per_recipient_per_day
