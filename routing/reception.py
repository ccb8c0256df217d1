"""The internet reception's submissions as mail: checking the form's fields, writing the
RFC 5322 message the worker registers like any e-mail, and the marks that say a message
really came from our form.

Why a message and not a row of its own: a web appeal must go through the same screening,
registration, routing and letters as an e-mail (one code path, one registry). The form
becomes a letter from the citizen's address with the contacts in labelled lines
(`routing.citizen` reads "ПІБ:", "Адреса:", "Телефон:" as certain) and is stored through
the same intake (`Ingest.accept`) as SMTP and `appeals inject`.

A citizen's e-mail must not be able to pass for a form submission (the registry's form
of receipt is a legal characteristic, Cabinet of Ministers resolution No. 858), so the
message carries `X-Appeal-Gateway-Reception` with a MAC of its Message-ID under the
reply-token key: only the gateway can write a valid one; a copied header fails for any
other Message-ID, and a message whose Message-ID was reused is one delivery anyway.

The other signed values here are the receipt page's token (the citizen's browser is sent
there right after submitting, before the worker has numbered the appeal) and the status
page's token (in every acknowledgement). Both are HMAC-SHA256 under the same key with a
label of their own, so none can be made from another; the status token carries 128 bits
of MAC because it is a bearer link that is never rotated.

Pure: no I/O, the clock and key are passed in.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from typing import Literal

from routing.mail import ParsedMail
from routing.tokens import b32decode_int, b32encode_int

HEADER = "X-Appeal-Gateway-Reception"
Kind = Literal["appeal", "info_request"]
KINDS: tuple[Kind, ...] = ("appeal", "info_request")

# Field sizes: a postal address or a name longer than this is not one; the text limit
# keeps one submission within what a department reads (and what the forward carries).
MAX_NAME = 200
MAX_ADDRESS = 400
MAX_EMAIL = 254  # RFC 5321 §4.5.3.1.3 path limit
MAX_PHONE = 40


@dataclass(frozen=True)
class Upload:
    """One attached file as the browser sent it."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class FormLimits:
    max_text_chars: int = 20000
    max_file_bytes: int = 10 * 1024 * 1024
    max_total_bytes: int = 15 * 1024 * 1024
    max_count: int = 5


@dataclass(frozen=True)
class Submission:
    kind: Kind
    name: str
    address: str
    email: str
    phone: str
    text: str
    language: str
    files: tuple[Upload, ...] = ()


def _clean(value: str | None, limit: int) -> str:
    """One line, trimmed, control characters out (a header or labelled line must never
    gain a second line from a field)."""
    s = "".join(ch if ch >= " " or ch == "\t" else " " for ch in (value or ""))
    return " ".join(s.split())[: limit + 1]


def _plausible_email(a: str) -> bool:
    local, at, domain = a.rpartition("@")
    return (
        bool(at and local and domain)
        and "." in domain
        and not any(c in a for c in ' <>()[]\\,;:"')
        and not domain.startswith(".")
        and not domain.endswith(".")
    )


def validate(
    fields: Mapping[str, str], files: Sequence[Upload], limits: FormLimits, language: str
) -> tuple[Submission | None, dict[str, str]]:
    """The submission, or the problems keyed by field name (codes the page translates).

    Art. 5 of the Law "On citizens' appeals": surname and name, place of residence, the
    essence of the matter; an electronic appeal also names the e-mail to answer to. The
    acknowledgement goes by e-mail, so the e-mail is required; the phone is optional."""
    errors: dict[str, str] = {}
    name = _clean(fields.get("name"), MAX_NAME)
    address = _clean(fields.get("address"), MAX_ADDRESS)
    email = _clean(fields.get("email"), MAX_EMAIL).lower()
    phone = _clean(fields.get("phone"), MAX_PHONE)
    text = (fields.get("text") or "").replace("\r\n", "\n").strip()
    kind: Kind = "appeal"
    if fields.get("kind") == "info_request":
        kind = "info_request"
    elif fields.get("kind") not in (None, "", "appeal"):
        errors["kind"] = "invalid"
    if not name:
        errors["name"] = "required"
    elif len(name) > MAX_NAME or len(name.split()) < 2:
        errors["name"] = "full-name"
    if not address:
        errors["address"] = "required"
    elif len(address) > MAX_ADDRESS:
        errors["address"] = "too-long"
    if not email:
        errors["email"] = "required"
    elif len(email) > MAX_EMAIL or not _plausible_email(email):
        errors["email"] = "invalid"
    if phone and (
        len(phone) > MAX_PHONE
        or sum(c.isdigit() for c in phone) < 7
        or any(not (c.isdigit() or c in " +-()") for c in phone)
    ):
        errors["phone"] = "invalid"
    if len(text) < 20:
        errors["text"] = "too-short" if text else "required"
    elif len(text) > limits.max_text_chars:
        errors["text"] = "too-long"
    if fields.get("consent") != "yes":
        errors["consent"] = "required"
    real = [f for f in files if f.filename or f.data]
    if real:
        total = sum(len(f.data) for f in real)
        if limits.max_count and len(real) > limits.max_count:
            errors["files"] = "too-many"
        elif (limits.max_file_bytes and any(len(f.data) > limits.max_file_bytes for f in real)) or (
            limits.max_total_bytes and total > limits.max_total_bytes
        ):
            errors["files"] = "too-big"
        elif any(not f.data for f in real):
            errors["files"] = "empty"
    if errors:
        return None, errors
    return (
        Submission(
            kind=kind,
            name=name,
            address=address,
            email=email,
            phone=phone,
            text=text,
            language="en" if language == "en" else "uk",
            files=tuple(real),
        ),
        {},
    )


def _mac(key: bytes, label: str, value: str, chars: int) -> str:
    digest = hmac.new(key, f"{label}:{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:chars]


def mark(key: bytes, message_id: str) -> str:
    return _mac(key, "reception", message_id.strip(), 32)


def is_web_submission(parsed: ParsedMail, keys: Sequence[bytes]) -> bool:
    """Whether the message carries our form's mark for its own Message-ID (any key still
    known: a submission can wait in the queue across a key rotation)."""
    value = parsed.header(HEADER)
    if not value or not parsed.message_id:
        return False
    sigs = [p.strip()[4:] for p in value.split(";") if p.strip().startswith("sig=")]
    if len(sigs) != 1:
        return False
    return any(
        hmac.compare_digest(sigs[0].encode(), mark(k, parsed.message_id).encode()) for k in keys
    )


# Subject lines the worker's kind detection reads (routing.numbering: "запит на публічну
# інформацію" is an info request by its wording, whatever address it came to).
SUBJECTS = {
    ("appeal", "uk"): "Звернення через інтернет-приймальню",
    ("appeal", "en"): "Appeal via the internet reception",
    ("info_request", "uk"): "Запит на публічну інформацію (інтернет-приймальня)",
    ("info_request", "en"): "Запит на публічну інформацію / public information request",
}
LABELS = {
    "uk": ("ПІБ", "Адреса", "Телефон", "E-mail"),
    "en": ("Name", "Адреса", "Телефон", "E-mail"),
}


def build_message(
    sub: Submission,
    *,
    to: str,
    message_id: str,
    key: bytes,
    now: datetime,
) -> bytes:
    """The letter the form stands for, as bytes for `Ingest.accept`."""
    m = EmailMessage(policy=SMTP)
    m["From"] = formataddr((sub.name, sub.email))
    m["To"] = to
    m["Subject"] = SUBJECTS[(sub.kind, sub.language)]
    m["Date"] = format_datetime(now)
    m["Message-ID"] = message_id
    m[HEADER] = f"form; kind={sub.kind}; consent=yes; sig={mark(key, message_id)}"
    # Labelled lines after "--": routing.citizen reads them as certain (a labelled line),
    # the street is read by routing.addresses like any letter's. "Адреса"/"Телефон" are
    # the labels the Ukrainian reader knows in both languages' letters.
    name_l, addr_l, phone_l, mail_l = LABELS[sub.language]
    lines = [sub.text, "", "--", f"{name_l}: {sub.name}", f"{addr_l}: {sub.address}"]
    if sub.phone:
        lines.append(f"{phone_l}: {sub.phone}")
    lines.append(f"{mail_l}: {sub.email}")
    m.set_content("\n".join(lines) + "\n", charset="utf-8")
    for f in sub.files:
        maintype, _, subtype = (f.content_type or "application/octet-stream").partition("/")
        if not subtype or "\n" in f.content_type:
            maintype, subtype = "application", "octet-stream"
        m.add_attachment(
            f.data, maintype=maintype, subtype=subtype, filename=safe_filename(f.filename)
        )
    # Last: set_content and add_attachment move every Content-* header into the parts.
    m["Content-Language"] = sub.language
    return m.as_bytes()


def safe_filename(name: str) -> str:
    """The last path part only (browsers on Windows once sent full paths), no controls."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch >= " " and ch != "\x7f").strip()
    return base[:150] or "file"


# -- the page tokens ----------------------------------------------------------------------
def _token(key: bytes, label: str, n: int, chars: int) -> str:
    return f"{b32encode_int(n).lower()}-{_mac(key, label, str(n), chars)}"


def _check(token: str, keys: Sequence[bytes], label: str, chars: int) -> int | None:
    id_part, dash, mac = (token or "").partition("-")
    if not dash or len(mac) != chars or len(id_part) > 13:
        return None
    n = b32decode_int(id_part)
    if n is None:
        return None
    for k in keys:
        if hmac.compare_digest(mac.encode(), _mac(k, label, str(n), chars).encode()):
            return n
    return None


def receipt_token(key: bytes, inbound_id: int) -> str:
    """The receipt page's token for one stored submission (its inbound message)."""
    return _token(key, "receipt", inbound_id, 24)


def check_receipt(token: str, keys: Sequence[bytes]) -> int | None:
    return _check(token, keys, "receipt", 24)


def status_token(key: bytes, appeal_id: int) -> str:
    """The status page's token for one appeal: 128 bits of HMAC (a bearer link)."""
    return _token(key, "status", appeal_id, 32)


def check_status(token: str, keys: Sequence[bytes]) -> int | None:
    return _check(token, keys, "status", 32)
