"""The values intake passes around: a received message with its envelope, a row prepared
for the database, and what a caller is told once the message is durable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routing.mail import Envelope


@dataclass(frozen=True)
class IncomingItem:
    raw: bytes
    envelope: Envelope
    mailbox: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None


@dataclass(frozen=True)
class AcceptResult:
    inbound_id: int
    sha256: str
    duplicate: bool


@dataclass(frozen=True)
class PreparedRow:
    """One message's inbound row, ready for the SQLite driver: the values of
    `_INTAKE_COLUMNS` in order, already through each column type's bind processor."""

    sha256: str
    values: tuple[Any, ...]
