"""Value types that cross the layers: what a message looked like on arrival.

`gateway.intake.parsing` turns raw bytes into a `ParsedMail`; everything in `routing` works on
these frozen values and never on a third-party parser's objects, so a lenient parser API
cannot leak into domain decisions. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: none
# belongs in a one-line value, and CR or LF in a header value would start a new header.
_BREAKS = {c: " " for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)}


def repair_surrogates(text: str) -> str:
    """`text` without lone surrogates, which no encoding can write (printing, JSON for
    PostgreSQL and the database drivers all refuse them).

    Real mail produces them: UTF-7 spells a character outside the BMP as two base64
    UTF-16 halves and a sloppy encoder splits or truncates the pair ("+2D0-"), and bytes
    read with surrogateescape leave U+DC80-U+DCFF behind. A high-low pair is joined into
    the character it encodes; any other surrogate becomes U+FFFD.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")  # a C scan: fails exactly when a surrogate is present
        return text
    except UnicodeEncodeError:
        pass
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def one_line(text: str) -> str:
    """A display name or subject from mail as one line of text: every control character
    or line break becomes a space and runs of white space become one. What a hostile
    sender hides there ("Ivan\\r\\nBcc: x@evil.example", the same as an encoded word) can
    then never become a header of a letter that quotes it."""
    return " ".join(text.translate(_BREAKS).split())


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope (or its equivalent for IMAP and pipe delivery)."""

    source: str  # "smtp", "pipe", "imap:<mailbox name>"
    mail_from: str | None  # None or "" is the null reverse-path of bounces (RFC 5321 §4.5.5)
    rcpt_tos: tuple[str, ...] = ()
    peer: str | None = None


@dataclass(frozen=True)
class Address:
    name: str
    email: str  # lower-cased domain part, local part as received

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class AttachmentInfo:
    """One file of a message.

    `filename` is safe to put in an outgoing letter or a file path (no folders, no control
    characters, a bounded length, unique within the message); `original_name` is the name
    as the sender's client gave it, decoded, for people to read. A file found inside
    another one says where: `unpacked_from` for the contents of an Outlook `winmail.dat`
    (separate files now), `inside` for the files of an attached message (.eml, .msg), whose
    bytes travel inside that message's file.
    """

    filename: str
    content_type: str
    size: int
    sha256: str
    content: bytes = field(repr=False, compare=False)
    inline: bool = False
    original_name: str = ""
    inside: str | None = None
    unpacked_from: str | None = None

    @property
    def display_name(self) -> str:
        return self.original_name or self.filename


@dataclass(frozen=True)
class ForwardedMessage:
    """A message attached to a message (message/rfc822, an Outlook .msg): its file, and
    what a reader of the appeal needs to see of it."""

    filename: str  # the attachment that holds it (safe name)
    from_: str
    date: str
    subject: str
    text: str


@dataclass(frozen=True)
class ParsedMail:
    """A decoded message. `text` is readable text in Python `str` whatever the wire charset.
    No string in it (texts, header values, addresses, file names) holds a lone surrogate
    (`repair_surrogates`).

    `headers` maps lower-cased header names to their decoded values (RFC 2047 resolved), in
    the order they appear. `defects` lists what was wrong with the MIME structure or the
    encodings, in words an admin can act on; an empty tuple means a clean parse.
    """

    raw: bytes = field(repr=False, compare=False)
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_addr: Address | None
    reply_to: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: datetime | None
    headers: Mapping[str, tuple[str, ...]]
    content_type: str
    text: str
    html: str | None
    charset: str | None
    attachments: tuple[AttachmentInfo, ...] = ()
    defects: tuple[str, ...] = ()
    forwarded: tuple[ForwardedMessage, ...] = ()
    # The parsed MIME tree (email.message.Message), kept so that screening reads the
    # structure without parsing the bytes a second time; None when built by hand.
    mime: Any = field(default=None, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        """The first value of a header, or None when it is absent."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def header_all(self, name: str) -> tuple[str, ...]:
        return tuple(self.headers.get(name.lower(), ()))

    @property
    def size(self) -> int:
        return len(self.raw)
