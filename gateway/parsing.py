"""Bytes -> `routing.mail.ParsedMail`. (v0: standard-library parser; hardened later.)"""

from __future__ import annotations

import hashlib
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from routing.mail import Address, AttachmentInfo, ParsedMail


def _addr_list(values: list[str]) -> tuple[Address, ...]:
    return tuple(
        Address(name=n, email=e.strip()) for n, e in getaddresses(values) if e and "@" in e
    )


def parse(raw: bytes) -> ParsedMail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    headers: dict[str, list[str]] = {}
    for k, v in msg.items():
        headers.setdefault(k.lower(), []).append(str(v))
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = html_part.get_content() if html_part is not None else None
    atts = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        atts.append(
            AttachmentInfo(
                filename=part.get_filename() or "attachment",
                content_type=part.get_content_type(),
                size=len(payload),
                sha256=hashlib.sha256(payload).hexdigest(),
                content=payload,
            )
        )
    froms = _addr_list(headers.get("from", []))
    reply_tos = _addr_list(headers.get("reply-to", []))
    date = None
    if "date" in headers:
        try:
            date = parsedate_to_datetime(headers["date"][0])
        except (TypeError, ValueError):
            date = None
    return ParsedMail(
        raw=raw,
        message_id=(headers.get("message-id") or [None])[0],
        in_reply_to=tuple(headers.get("in-reply-to", [""])[0].split()),
        references=tuple(" ".join(headers.get("references", [])).split()),
        from_addr=froms[0] if froms else None,
        reply_to=reply_tos[0] if reply_tos else None,
        to=_addr_list(headers.get("to", [])),
        cc=_addr_list(headers.get("cc", [])),
        subject=(headers.get("subject") or [""])[0],
        date=date,
        headers={k: tuple(v) for k, v in headers.items()},
        content_type=msg.get_content_type(),
        text=text,
        html=html,
        charset=(text_part or msg).get_content_charset(),
        attachments=tuple(atts),
        defects=tuple(str(d) for d in msg.defects),
    )
