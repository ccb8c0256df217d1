"""Outbound mail transports: an SMTP relay, or a directory of .eml files.

`SmtpTransport` speaks to the configured relay (STARTTLS, AUTH) and reports per-recipient
outcomes: SMTP separates temporary (4xx) from permanent (5xx) refusals per recipient
(RFC 5321 §4.2.1), and the outbox retries only what may succeed later.
`DirectoryTransport` is the embedded default when no relay is configured: every message
is written as an .eml file so a new user sees exactly what would have been sent.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gateway.errors import DeliveryError


@dataclass(frozen=True)
class SendResult:
    """Recipients the relay refused, with (code, text); an empty dict means all accepted."""

    refused: dict[str, tuple[int, str]] = field(default_factory=dict)


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
                refused = smtp.sendmail(envelope_from, list(recipients), raw)
        except smtplib.SMTPRecipientsRefused as exc:
            return SendResult({r: (c, _text(m)) for r, (c, m) in exc.recipients.items()})
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"relay answered {exc.smtp_code}",
                permanent=500 <= exc.smtp_code < 600,
                code=exc.smtp_code,
            ) from exc
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            # Connection trouble is always worth another try later.
            raise DeliveryError(
                f"relay unreachable: {type(exc).__name__}", permanent=False
            ) from exc
        return SendResult({r: (c, _text(m)) for r, (c, m) in refused.items()})


def _text(m: bytes | str) -> str:
    return m.decode("utf-8", "replace") if isinstance(m, bytes) else str(m)


class DirectoryTransport:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def send(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> SendResult:
        name = f"{uuid.uuid4().hex}.eml"
        tmp = self.directory / f".{name}.tmp"
        envelope = (
            f"X-Envelope-From: <{envelope_from}>\r\n"
            f"X-Envelope-To: {', '.join(f'<{r}>' for r in recipients)}\r\n"
        ).encode()
        with open(tmp, "wb") as fh:
            fh.write(envelope + raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.directory / name)
        return SendResult()
