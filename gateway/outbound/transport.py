"""Outbound mail transports: an SMTP relay, or a directory of .eml files.

`SmtpTransport` speaks to the configured relay (STARTTLS, AUTH) and reports per-recipient
outcomes: SMTP separates temporary (4xx) from permanent (5xx) refusals per recipient
(RFC 5321 §4.2.1), and the outbox retries only what may succeed later.
Internationalised addresses (gateway.outbound.addresses): domains go out as IDNA
A-labels; a UTF-8 local part or UTF-8 header is sent with SMTPUTF8 when the relay offers
it (RFC 6531), and is otherwise refused here, permanently, with the reason: a relay
without SMTPUTF8 will not take it tomorrow either.
`DirectoryTransport` is the embedded default when no relay is configured: every message
is written as an .eml file so a new user sees exactly what would have been sent. The file
is named after the message's Message-ID and written once: a temporary file is linked to
its final name, which fails if the name exists, so a message handed off again (after a
sender was killed between writing and recording it, or by two senders at once) is found
delivered instead of written twice.
`SigningTransport` puts a DKIM signature (RFC 6376, dkimpy) on every message just before
either of them hands it off, when [outbound.dkim] names a key: receivers can then tell the
council's letters from forgeries, and DMARC passes for the From domain.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Protocol

import dkim

import saferegex
from gateway.errors import DeliveryError, SettingsError
from gateway.outbound.addresses import AddressError, envelope_form, needs_smtputf8

# The reply a relay gives a UTF-8 mailbox it cannot take (RFC 6531 §3.5); written by us
# when the relay does not even offer the extension, so the outbox records why.
NO_SMTPUTF8 = (553, "5.6.7 the relay does not offer SMTPUTF8, needed for a non-ASCII address")


@dataclass(frozen=True)
class SendResult:
    """Recipients the relay refused, with (code, text); an empty dict means all accepted."""

    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    note: str = ""  # recorded with the attempt (the directory transport's "already there")


class MailTransport(Protocol):
    def send(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> SendResult: ...


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool,
        username: str = "",
        password: str | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout = timeout
        self.local_hostname = local_hostname

    def send(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> SendResult:
        # Refusals are keyed by the address as the outbox row holds it, not its wire form.
        refused: dict[str, tuple[int, str]] = {}
        wire: dict[str, str] = {}  # wire form -> the row's address
        for r in recipients:
            try:
                wire[envelope_form(r)] = r
            except AddressError as exc:
                refused[r] = (553, f"5.1.3 {exc}")
        try:
            sender = envelope_form(envelope_from)
        except AddressError as exc:
            raise DeliveryError(f"envelope sender: {exc}", permanent=True) from exc
        # UTF-8 in the header block (a UTF-8 mailbox in To) needs SMTPUTF8 for everyone.
        utf8_message = not raw.split(b"\r\n\r\n", 1)[0].isascii() or needs_smtputf8(sender)
        try:
            with smtplib.SMTP(
                self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname
            ) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password or "")
                options: list[str] = []
                if utf8_message or any(needs_smtputf8(w) for w in wire):
                    if smtp.has_extn("smtputf8"):
                        options = ["SMTPUTF8"]
                        if smtp.has_extn("8bitmime"):
                            options.append("BODY=8BITMIME")  # UTF-8 headers are 8-bit data
                    else:
                        for w in [w for w in wire if utf8_message or needs_smtputf8(w)]:
                            refused[wire.pop(w)] = NO_SMTPUTF8
                if not wire:
                    return SendResult(refused)
                got = smtp.sendmail(sender, list(wire), raw, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            return SendResult(
                {
                    **refused,
                    **{wire.get(r, r): (c, _text(m)) for r, (c, m) in exc.recipients.items()},
                }
            )
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"relay answered {exc.smtp_code}",
                permanent=500 <= exc.smtp_code < 600,
                code=exc.smtp_code,
            ) from exc
        except UnicodeError as exc:
            # Text smtplib could not put on the wire: it will not go better next time.
            raise DeliveryError(
                f"cannot be written for the relay: {type(exc).__name__}", permanent=True
            ) from exc
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            # Connection trouble is always worth another try later.
            raise DeliveryError(
                f"relay unreachable: {type(exc).__name__}", permanent=False
            ) from exc
        return SendResult(
            {**refused, **{wire.get(r, r): (c, _text(m)) for r, (c, m) in got.items()}}
        )


def _text(m: bytes | str) -> str:
    return m.decode("utf-8", "replace") if isinstance(m, bytes) else str(m)


class DirectoryTransport:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def send(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> SendResult:
        final = self.directory / file_name(raw)
        if final.exists():
            return SendResult(note=f"already delivered: {final.name}")
        tmp = self.directory / f".{final.name}.{uuid.uuid4().hex}.tmp"
        envelope = (
            f"X-Envelope-From: <{envelope_from}>\r\n"
            f"X-Envelope-To: {', '.join(f'<{r}>' for r in recipients)}\r\n"
        ).encode()
        try:
            with open(tmp, "wb") as fh:
                fh.write(envelope + raw)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                # link, not rename: rename would replace a file another sender wrote.
                os.link(tmp, final)
            except FileExistsError:
                return SendResult(note=f"already delivered: {final.name}")
        finally:
            tmp.unlink(missing_ok=True)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the new name itself survives a power cut
        finally:
            os.close(dir_fd)
        return SendResult()


class DkimSigner:
    """Signs messages for one domain and selector with an RSA key (PEM, PKCS#1: what
    `openssl genrsa` and `opendkim-genkey` write)."""

    def __init__(self, selector: str, domain: str, private_key: bytes) -> None:
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("ascii")
        self._key = private_key

    @classmethod
    def from_file(cls, selector: str, domain: str, key_file: Path) -> DkimSigner:
        """Read the key and sign a probe, so a missing or unreadable key stops the start
        instead of every letter."""
        try:
            key = key_file.read_bytes()
        except OSError as exc:
            raise SettingsError(f"outbound.dkim.key_file: cannot read {key_file}: {exc}") from exc
        signer = cls(selector, domain, key)
        try:
            signer.sign(b"From: probe@" + signer.domain + b"\r\nSubject: probe\r\n\r\nprobe\r\n")
        except (dkim.DKIMException, ValueError) as exc:  # binascii.Error is a ValueError
            raise SettingsError(
                f"outbound.dkim.key_file: not a usable RSA key ({type(exc).__name__})"
            ) from exc
        return signer

    def sign(self, raw: bytes) -> bytes:
        # relaxed/relaxed (RFC 6376 §3.4): survives relays that refold headers or trim
        # trailing white space. dkimpy's default header list signs From, To, Subject,
        # Date, Message-ID, the threading and MIME headers, and oversigns From.
        signature = dkim.sign(
            raw,
            self.selector,
            self.domain,
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            linesep=b"\r\n",
        )
        return signature + raw


class SigningTransport:
    """Signs, then hands off to the real transport (SMTP relay or directory)."""

    def __init__(self, inner: MailTransport, signer: DkimSigner) -> None:
        self.inner = inner
        self.signer = signer

    def send(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> SendResult:
        try:
            signed = self.signer.sign(raw)
        except dkim.DKIMException as exc:
            raise DeliveryError(f"DKIM signing failed: {exc}", permanent=False) from exc
        return self.inner.send(envelope_from, recipients, signed)


_UNSAFE = saferegex.compile(r"[^A-Za-z0-9._@+=-]")


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID header of a message, unfolded, without its angle brackets."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    msg = BytesHeaderParser(policy=compat32).parsebytes(head + b"\r\n\r\n")
    value = msg.get("Message-ID")
    if value is None:
        return None
    mid = "".join(str(value).split()).strip("<>")
    return mid or None


def file_name(raw: bytes) -> str:
    """`<message-id made safe>-<12 hex of its sha256>.eml`: readable, and distinct for
    distinct Message-IDs even when making them safe for a file name maps two to one. A
    message without a Message-ID (the gateway always sets one) is named by its bytes."""
    mid = message_id_of(raw)
    if mid is None:
        return f"no-message-id-{hashlib.sha256(raw).hexdigest()[:24]}.eml"
    digest = hashlib.sha256(mid.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{_UNSAFE.sub('_', mid)[:150]}-{digest}.eml"
