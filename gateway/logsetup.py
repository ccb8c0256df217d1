"""Logging configuration with a safety net against personal data.

The rule is never to pass personal data to the logger (log ids, hashes and registration
numbers). The filter below is the net under that rule: it masks anything shaped like an
e-mail address or a phone number in every record before it is written.

Tracebacks are kept whole (every frame, and the exceptions they were raised from) but
without exception messages: the message of an exception raised while handling a letter
may quote the letter (a charset codec error shows the bytes, a KeyError the header, a
database error the row's values). `safe_traceback` renders one that way; the formatter
of `configure` uses it for every `log.exception` in the process.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

import saferegex

_EMAIL = saferegex.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = saferegex.compile(r"(?:\+?38)?0\d{2}[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}")


def _phone(match: saferegex.Match) -> str:
    """A phone number, unless it is part of a longer run of digits (an id, a hash)."""
    text, start, end = match.string, match.start(), match.end()
    if (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit()):
        return str(match.group(0))
    return "<phone>"


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = _PHONE.sub(_phone, _EMAIL.sub("<email>", msg))
        if clean != msg:
            record.msg, record.args = clean, None
        return True


def safe_traceback(exc: BaseException) -> str:
    """Every frame of `exc` and of the exceptions it was raised from or during (file,
    line, function and the line of code), with exception class names and no messages."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)
    blocks = []
    for e in reversed(chain):
        lines = ["Traceback (most recent call last; messages left out):"]
        for frame in traceback.extract_tb(e.__traceback__):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
            if frame.line:
                lines.append(f"    {frame.line.strip()}")
        lines.append(f"{type(e).__module__}.{type(e).__qualname__}")
        blocks.append("\n".join(lines))
    return "\n\nRaised while handling the above:\n".join(blocks)


class SafeFormatter(logging.Formatter):
    """A formatter whose tracebacks carry frames and exception classes, never messages."""

    def formatException(
        self,
        ei: tuple[type[BaseException], BaseException, TracebackType | None]
        | tuple[None, None, None],
    ) -> str:
        exc = ei[1]
        return safe_traceback(exc) if exc is not None else ""


def configure(level: str = "INFO", *, tag: str | None = None) -> None:
    """Log to stderr; `tag` names the process in every line (a child of `appeals run`)."""
    handler = logging.StreamHandler(sys.stderr)
    where = f"[{tag}] " if tag else ""
    handler.setFormatter(SafeFormatter(f"%(asctime)s %(levelname)s {where}%(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # mail.log of aiosmtpd logs envelope addresses at INFO (and message lines at DEBUG),
    # mail-parser the names of attached files at DEBUG: keep them to warnings, whatever
    # the level (tests/acceptance/test_personal_data.py runs at DEBUG).
    for name in ("mail.log", "mailparser"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The attachment readers log what they met inside files (names, property values) at
    # every level up to ERROR; a failure is recorded as a defect of the message instead.
    for name in ("tnefparse", "extract_msg", "RTFDE", "olefile"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
