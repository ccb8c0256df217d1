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
- `X-Appeal-Gateway`: our loop marker with a MAC of the Message-ID; mail carrying a
  valid one that comes back is discarded, a copied or invented one decides nothing;
- a `Reply-To` carrying the appeal's unforgeable token, so a plain Reply comes back here;
- `In-Reply-To`/`References` to keep the conversation threaded in mail clients: what the
  sender names, else the citizen's own letter for letters to the citizen and the forward
  for letters to the department (`routing.threads`, RFC 5322 §3.6.4).
No header is ever built from text with a line break or control character in it: subjects
are put on one line (`routing.mail.one_line`, which also undoes what an encoded word in the
citizen's subject decoded to), recipients must each be one plain address
(`email.headerregistry.Address`), and `build_message` refuses anything else
(`HeaderInjection`), so a citizen's name or subject can never add a header or a recipient.
HTML templates (`*.html.j2`, when a site adds one) are rendered with autoescape on, and
make the letter multipart/alternative with the text version first.
The envelope sender is a VERP-style address (`bounces+<id>@<reply domain>`): a bounce
names the exact message it is about even when it quotes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.outbound.addresses import header_form
from gateway.rawstore import RawStore
from models import OutboundMessage
from routing import reception
from routing.mail import one_line
from routing.ports import AttachmentRef, Clock
from routing.threads import default_thread
from routing.tokens import ReplyAddressCodec

LOOP_HEADER = "X-Appeal-Gateway"
_QP_UTF8 = Charset("utf-8")
_QP_UTF8.body_encoding = QP
_WIRE = compat32.clone(linesep="\r\n")
AUDIENCES = ("citizen", "department", "admin")
# Headers that hold bare addresses only (ours: no display names).
_ADDRESS_HEADERS = frozenset({"to", "cc"})
# What may never be in a header value we write: a line break would start a new header.
_UNSAFE = frozenset({*map(chr, range(0x20)), "\x7f", "\u2028", "\u2029"})


def _unsafe(text: str) -> bool:
    return not _UNSAFE.isdisjoint(text)


class HeaderInjection(ValueError):
    """A header value that would change the message's headers (a line break, a second
    address): refused, never sent."""


def plain_address(address: str) -> bool:
    """True when `address` is exactly one mailbox address and nothing more (no display
    name, no list, no line break). A UTF-8 local part (RFC 6532) is checked in its shape:
    the stdlib's parser takes ASCII only, so each non-ASCII letter stands in as "x"."""
    if not address or _unsafe(address) or any(c.isspace() for c in address):
        return False
    shape = "".join(c if c.isascii() else "x" for c in address)
    try:
        parsed = Address(addr_spec=shape)
    except (ValueError, IndexError):
        return False
    return parsed.addr_spec == shape and bool(parsed.username) and bool(parsed.domain)


def check_header(name: str, value: str) -> None:
    """Raise HeaderInjection unless `value` is safe as the value of header `name`."""
    if _unsafe(value) or _unsafe(name) or ":" in name:
        raise HeaderInjection(f"{name}: a line break or control character in the value")
    if name.lower() in _ADDRESS_HEADERS:
        for address in value.split(", "):
            if not plain_address(address):
                raise HeaderInjection(f"{name}: not a single plain address")


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
        self._missing: set[str] = set()

    def render(self, kind: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
        lang = language if self._exists(f"{language}/{kind}.txt.j2") else self.default_language
        subject = self.env.get_template(f"{lang}/{kind}.subject.j2").render(context)
        body = self.env.get_template(f"{lang}/{kind}.txt.j2").render(context)
        return one_line(subject), body

    def render_html(self, kind: str, language: str, context: Mapping[str, Any]) -> str | None:
        """The HTML version of a letter, when a template for it exists (none is shipped;
        a site may add `<lang>/<kind>.html.j2`). Autoescaped: a citizen's `<script>` is
        text in it, never markup."""
        lang = language if self._exists(f"{language}/{kind}.txt.j2") else self.default_language
        name = f"{lang}/{kind}.html.j2"
        return self.env.get_template(name).render(context) if self._exists(name) else None

    def _exists(self, name: str) -> bool:
        if name in self._missing:
            return False
        try:
            self.env.get_template(name)
        except jinja2.TemplateNotFound:
            # Remembered: jinja caches the templates it found, not the ones it did not,
            # and every letter asks for its (usually absent) HTML version.
            self._missing.add(name)
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
    # [reception] public_url: the citizen's letters about an appeal carry its status
    # page's signed link (routing.reception.status_token); "" = no link.
    status_base_url: str = ""


def build_message(
    headers: Mapping[str, str],
    body: str,
    attachments: Sequence[tuple[str, str, bytes]],
    html: str | None = None,
) -> bytes:
    """An RFC 5322 message with CRLF line ends.

    Built with the compat32 MIME classes and headers encoded up front (RFC 2047): the
    modern email policy refolds every non-ASCII header through a slow path (tens of
    milliseconds per Cyrillic subject), which dominated the cost of queueing reminders.
    """
    # The stdlib takes a Charset object here (it is how quoted-printable is chosen);
    # typeshed only admits a charset name.
    text: Message = MIMEText(body, "plain", _QP_UTF8)  # type: ignore[arg-type]
    if html is not None:
        # RFC 2046 §5.1.4: the richest version last; clients show the last they can.
        alternative = MIMEMultipart("alternative")
        alternative.attach(text)
        alternative.attach(MIMEText(html, "html", _QP_UTF8))  # type: ignore[arg-type]
        text = alternative
    if attachments:
        msg: Message = MIMEMultipart("mixed")
        msg.attach(text)
        for filename, content_type, data in attachments:
            maintype, _, subtype = content_type.partition("/")
            if maintype.lower() == "message":
                # An attached message (.eml) goes as a file: message/rfc822 may not be
                # base64-encoded (RFC 2046 §5.2.1), and sending it as it is would need an
                # 8-bit clean path for whatever the citizen's client wrote. Clients open a
                # ".eml" file as a message.
                maintype, subtype = "application", "octet-stream"
            part = MIMEBase(maintype or "application", subtype or "octet-stream")
            part.set_payload(data)
            encoders.encode_base64(part)
            # RFC 2231 parameter encoding keeps non-ASCII file names intact.
            part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
            msg.attach(part)
    else:
        msg = text
    lines = []
    for name, value in headers.items():
        check_header(name, value)
        # Non-ASCII values become RFC 2047 encoded words, folded by the Header class;
        # ASCII values go in as they are (ours are short and need no folding). An address
        # cannot be an encoded word (RFC 2047 §5): a UTF-8 mailbox stays UTF-8 (RFC 6532),
        # which only an SMTPUTF8 relay takes (gateway.outbound.transport checks).
        if not value.isascii() and name.lower() not in _ADDRESS_HEADERS:
            value = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("utf-8") + msg.as_bytes(policy=_WIRE)


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
        # Only plain addresses: a "recipient" with a line break or a list in it came from
        # a hostile header and would add recipients (see the module docstring).
        recipients = [a.strip() for a in to if a and plain_address(a.strip())]
        audience = kind.split("/", 1)[0]
        # The loop cap guards against automatic exchanges with outsiders; mail to our own
        # departments and admins (reminders, digests) is bounded by the plan instead.
        if automatic and audience not in ("department", "admin"):
            recipients = [r for r in recipients if self._under_daily_cap(r, now)]
        if not recipients:
            return None
        if audience == "citizen" and appeal_id is not None and self.config.status_base_url:
            token = reception.status_token(self.codec.key, appeal_id)
            context = {**context, "status_url": f"{self.config.status_base_url}/status/{token}"}
        subject, body = self.renderer.render(kind, language, context)
        html = self.renderer.render_html(kind, language, context)
        unique = secrets.token_hex(10)
        message_id = f"<{unique}@{self.config.message_id_domain}>"
        headers = {
            "From": formataddr((self.config.from_name, self.config.from_address), "utf-8"),
            "To": ", ".join(header_form(r) for r in recipients),
            "Subject": subject,
            "Date": format_datetime(now),
            "Message-ID": message_id,
        }
        if reply_token_for is not None:
            # Only the department's own letters carry the department's token; everyone
            # else (the citizen, an outside body) gets one that can only add to the appeal.
            headers["Reply-To"] = self.codec.address_for(
                reply_token_for, "department" if audience == "department" else "citizen"
            )
        # A sender that names no thread gets the one its audience belongs to: the
        # citizen's own letter, or the forward to the department (routing.threads).
        refs = [m for m in thread_with if m] or default_thread(
            self.session, kind, appeal_id, recipients
        )
        if refs:
            headers["In-Reply-To"] = refs[-1]
            headers["References"] = " ".join(refs)
        acknowledgement = kind in ("citizen/ack", "citizen/info_ack")
        headers["Auto-Submitted"] = "auto-replied" if acknowledgement else "auto-generated"
        headers["X-Auto-Response-Suppress"] = "All"
        # The MAC ties the marker to this Message-ID: only our own mail coming back is
        # recognised as an echo, a copied header is not (docs/security.md T12).
        mark = self.codec.loop_mark(message_id)
        headers[LOOP_HEADER] = f"{self.config.instance_id}; kind={kind}; sig={mark}"
        raw = build_message(
            headers,
            body,
            [
                (att.filename, att.content_type, self.rawstore.get(att.sha256))
                for att in attachments
            ],
            html,
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
                raw=raw,
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
