"""Logging configuration with a safety net against personal data.

The rule is never to pass personal data to the logger (log ids, hashes and registration
numbers). The filter below is the net under that rule: it masks anything shaped like an
e-mail address or a phone number in every record before it is written.
"""

from __future__ import annotations

import logging
import re
import sys

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(?:\+?38)?0\d{2}[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?!\d)")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = _PHONE.sub("<phone>", _EMAIL.sub("<email>", msg))
        if clean != msg:
            record.msg, record.args = clean, None
        return True


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # mail.log of aiosmtpd logs envelope addresses at INFO; keep it to warnings.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # The attachment readers log what they met inside files (names, property values) at
    # every level up to ERROR; a failure is recorded as a defect of the message instead.
    for name in ("tnefparse", "extract_msg", "RTFDE", "olefile"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
