"""Bytes -> `routing.mail.ParsedMail`: readable text from whatever real mail looks like.

No encoding is trusted (Salmon's rule). Each text part's bytes are decoded with its declared
charset only when that decoding is clean *and* plausible; otherwise the candidates (UTF-8,
windows-1251, KOI8-U, KOI8-R, charset-normalizer's guess) are scored and the best wins.
The two classic confusions of Cyrillic mail are handled explicitly:
- KOI8 read as windows-1251 (and back) swaps the cases: KOI8 puts lower-case letters at
  0xC0-0xDF, where windows-1251 has capitals. Real prose is mostly lower case, so the case
  ratio tells them apart.
- KOI8-R and KOI8-U differ only where KOI8-U has Ukrainian letters (є і ї ґ) and KOI8-R
  box-drawing characters; box-drawing inside words means KOI8-U.
mail-parser does the first pass (it survives most broken MIME and reports defects by
category); the standard library parser is the fallback when it fails. Whatever cannot be
read is reported in `defects` in words an admin can act on; an exception is raised only
for input that is not a message at all, and even then as `ParseError` with the reason.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import re
from email import message_from_bytes, policy
from email.header import Header, decode_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from gateway.errors import ParseError
from routing.htmltext import html_to_text
from routing.mail import Address, AttachmentInfo, ParsedMail

_CANDIDATES = ("utf-8", "cp1251", "koi8-u", "koi8-r")
_CYR = re.compile(r"[а-яіїєґё]", re.I)
_CYR_LOWER = re.compile(r"[а-яіїєґё]")
_BOX = re.compile(r"[\u2500-\u257f]")
_WORD = re.compile(r"\w+")
_LAT = re.compile(r"[a-z]", re.I)
_MOJIBAKE = re.compile(r"Ð[\u0080-\u00bf]|Ñ[\u0080-\u00bf]|Р[°±Ѓ]|С[ЂЃ‚]|вЂ")
_ALIASES = {
    "win-1251": "cp1251",
    "windows1251": "cp1251",
    "x-cp1251": "cp1251",
    "koi8": "koi8-r",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "ks_c_5601-1987": "cp949",
    "x-unknown": "",
    "unknown-8bit": "",
}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    n = name.strip().strip('"').lower()
    n = _ALIASES.get(n, n)
    if not n:
        return None
    try:
        return codecs.lookup(n).name
    except LookupError:
        return None


def plausibility(text: str) -> float:
    """Higher is more like real prose. Penalises mojibake, replacement characters, control
    characters and KOI8/cp1251 case inversion."""
    if not text:
        return 0.0
    letters = sum(ch.isalpha() for ch in text) or 1
    cyr = len(_CYR.findall(text))
    score = letters / len(text)
    if cyr:
        # Mostly lower case is what prose looks like; weighted by how Cyrillic the text is.
        score += (2.0 * len(_CYR_LOWER.findall(text)) / cyr - 1.0) * (cyr / letters)
    score -= 3.0 * len(_MOJIBAKE.findall(text)) / letters
    score -= 5.0 * text.count("\ufffd") / letters
    score -= 3.0 * len(_BOX.findall(text)) / letters
    score -= 3.0 * sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t") / len(text)
    # Words mixing Latin and Cyrillic letters ("Cвmara") are what a wrong 8-bit guess makes.
    words = _WORD.findall(text)
    if words:
        score -= 3.0 * sum(1 for w in words if _LAT.search(w) and _CYR.search(w)) / len(words)
    return score


_CYRILLIC_8BIT = {"cp1251", "koi8-r", "koi8-u", "iso8859-5", "cp866", "mac-cyrillic"}
_LATIN_8BIT = {"latin-1", "iso8859-1", "iso8859-2", "iso8859-15", "cp1252", "ascii"}


def _lower_ratio(text: str) -> float:
    cyr = len(_CYR.findall(text))
    return len(_CYR_LOWER.findall(text)) / cyr if cyr else 1.0


def _non_ascii_letter_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(ord(ch) > 127 for ch in letters) / len(letters) if letters else 0.0


def _best_guess(data: bytes, extra: tuple[str, ...] = ()) -> tuple[str, float]:
    scored: dict[str, float] = {}
    for cand in (*_CANDIDATES, *extra):
        try:
            scored[cand] = plausibility(data.decode(cand))
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:20000]).best()
        guess = _codec(best.encoding) if best is not None else None
        if guess and guess not in scored:
            scored[guess] = plausibility(data.decode(guess, "replace")) - 0.05
    except Exception:
        pass
    if not scored:
        return "cp1251", 0.0
    name = max(scored, key=lambda k: scored[k])
    return name, scored[name]


def detect_charset(data: bytes, declared: str | None) -> tuple[str, str]:
    """(charset used, how it was decided) for decoding `data`.

    A declared charset that decodes cleanly is kept unless the result shows the classic
    signs of a wrong label: Cyrillic with inverted case (KOI8 <-> windows-1251), KOI8-R box
    drawing where KOI8-U has letters, or a Latin label on text that is almost all non-ASCII
    letters (Cyrillic bytes read as Latin-1).
    """
    codec = _codec(declared)
    if not any(b > 0x7F for b in data):
        return (codec or "us-ascii"), "ascii"
    if codec and codec != "utf-8":
        # 8-bit text that is valid UTF-8 is UTF-8 whatever the label says: Cyrillic in
        # windows-1251 or KOI8 practically never forms valid multi-byte sequences.
        try:
            data.decode("utf-8")
            return "utf-8", f"declared {codec} but is UTF-8"
        except UnicodeDecodeError:
            pass
    if codec:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            name, _ = _best_guess(data)
            return name, f"declared {codec} does not decode"
        if codec in _CYRILLIC_8BIT:
            if codec == "koi8-r" and _BOX.search(text):
                alt = data.decode("koi8-u")
                if not _BOX.search(alt) or len(_BOX.findall(alt)) < len(_BOX.findall(text)):
                    return "koi8-u", "declared koi8-r looked wrong"
            if _lower_ratio(text) < 0.5:
                for alt_name in ("cp1251", "koi8-u", "koi8-r"):
                    if alt_name == codec:
                        continue
                    alt = data.decode(alt_name, "replace")
                    if _lower_ratio(alt) > 0.7 and not _BOX.search(alt):
                        return alt_name, f"declared {codec} looked wrong"
            return codec, "declared"
        if codec in _LATIN_8BIT and _non_ascii_letter_share(text) > 0.3:
            name, score = _best_guess(data)
            if name != codec and score > plausibility(text):
                return name, f"declared {codec} looked wrong"
        return codec, "declared"
    try:
        data.decode("utf-8")
        return "utf-8", "guessed"
    except UnicodeDecodeError:
        pass
    name, _ = _best_guess(data, ("latin-1",))
    return name, "guessed"


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str, str]:
    charset, how = detect_charset(data, declared)
    return data.decode(charset, "replace"), charset, how


def decode_header_value(value: Any) -> str:
    """RFC 2047 encoded words, raw 8-bit headers (any charset) and plain ASCII alike."""
    if value is None:
        return ""
    raw = value if isinstance(value, Header) else str(value)
    parts = []
    try:
        # A Header holding raw 8-bit bytes decodes to (bytes, "unknown-8bit") chunks.
        chunks = decode_header(raw)
    except Exception:
        chunks = [(str(raw), None)]
    for chunk, cs in chunks:
        if isinstance(chunk, str):
            try:
                # Raw 8-bit header bytes come back as surrogate escapes: recover them.
                chunk = chunk.encode("ascii", "surrogateescape")
            except UnicodeEncodeError:
                parts.append(chunk)  # already real text
                continue
        parts.append(decode_bytes(chunk, cs)[0])
    text = "".join(parts) if len(chunks) > 1 else (parts[0] if parts else "")
    return re.sub(r"\s*\r?\n\s+", " ", text).strip()


def _addresses(values: list[str]) -> tuple[Address, ...]:
    out = []
    for name, addr in getaddresses([decode_header_value(v) for v in values]):
        addr = addr.strip().strip("<>")
        if "@" in addr and " " not in addr:
            local, domain = addr.rsplit("@", 1)
            out.append(Address(name=name.strip().strip('"'), email=f"{local}@{domain.lower()}"))
    return tuple(out)


def _filename(part: Message) -> str | None:
    name = part.get_filename()
    if name is None:
        return None
    return decode_header_value(name) or None


def parse(raw: bytes) -> ParsedMail:
    if not isinstance(raw, bytes | bytearray):
        raise ParseError("not bytes")
    defects: list[str] = []
    msg: Message | None = None
    try:
        import mailparser

        mp = mailparser.parse_from_bytes(bytes(raw))
        msg = mp.message
        defects += [f"mime: {c}" for c in sorted(set(mp.defects_categories or []))]
    except Exception as exc:
        defects.append(f"mail-parser failed ({type(exc).__name__}); standard parser used")
    if msg is None:
        msg = message_from_bytes(bytes(raw), policy=policy.compat32)
        defects += [f"mime: {type(d).__name__}" for d in msg.defects]

    # Top-level headers straight from the bytes: raw 8-bit header values survive there as
    # surrogate escapes, which decode_header_value turns into the right charset.
    headers: dict[str, list[str]] = {}
    for k, v in BytesHeaderParser(policy=policy.compat32).parsebytes(bytes(raw)).items():
        headers.setdefault(k.lower(), []).append(decode_header_value(v))

    texts: list[str] = []
    htmls: list[str] = []
    charset = None
    attachments: list[AttachmentInfo] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        try:
            filename = _filename(part)
        except Exception:
            filename = None
            defects.append(f"{ctype}: unreadable attachment file name")
        payload: bytes | None
        try:
            decoded = part.get_payload(decode=True)
            payload = decoded if isinstance(decoded, bytes) else None
        except Exception:
            payload = None
            defects.append(f"{ctype}: content transfer encoding could not be decoded")
        if payload is None:
            inner = part.get_payload()
            payload = inner.encode("utf-8", "surrogateescape") if isinstance(inner, str) else b""
        elif str(part.get("Content-Transfer-Encoding", "")).strip().lower() == "base64":
            # The stdlib hands back the undecoded text when base64 is invalid; notice it.
            encoded = re.sub(rb"\s+", b"", str(part.get_payload()).encode("ascii", "replace"))
            try:
                base64.b64decode(encoded + b"=" * (-len(encoded) % 4), validate=True)
            except (ValueError, binascii.Error):
                defects.append(f"corrupt: {ctype} base64 body could not be decoded")
        is_text = (
            ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename
        )
        if is_text:
            text, used, how = decode_bytes(payload, part.get_content_charset())
            if how not in ("declared", "ascii"):
                defects.append(f"{ctype}: charset {how}, read as {used}")
            if ctype == "text/plain":
                texts.append(text)
                charset = charset or used
            else:
                htmls.append(text)
                charset = charset or used
            continue
        if ctype.startswith("multipart/"):
            continue
        attachments.append(
            AttachmentInfo(
                filename=(filename or f"attachment.{ctype.split('/')[-1]}")[:255],
                content_type=ctype,
                size=len(payload),
                sha256=hashlib.sha256(payload).hexdigest(),
                content=payload,
                inline=disposition == "inline",
            )
        )
    html = "\n".join(htmls) if htmls else None
    text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    if not text and html:
        text = html_to_text(html)
    if not texts and not htmls and not attachments and raw.strip():
        # Not MIME at all (or headers only): keep whatever follows the header block.
        body = raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[-1]
        text, charset, _ = decode_bytes(body, None)
        defects.append("no readable MIME body; raw content shown")

    date = None
    if "date" in headers:
        try:
            date = parsedate_to_datetime(headers["date"][0])
        except (TypeError, ValueError, IndexError):
            defects.append("unreadable Date header")
    froms = _addresses(headers.get("from", []))
    if not froms and headers.get("from"):
        defects.append("From header has no usable address")
    reply_tos = _addresses(headers.get("reply-to", []))

    def ids(name: str) -> tuple[str, ...]:
        return tuple(re.findall(r"<[^<>\s]+>", " ".join(headers.get(name, []))))

    mid = ids("message-id")
    return ParsedMail(
        raw=bytes(raw),
        message_id=mid[0] if mid else None,
        in_reply_to=ids("in-reply-to"),
        references=ids("references"),
        from_addr=froms[0] if froms else None,
        reply_to=reply_tos[0] if reply_tos else None,
        to=_addresses(headers.get("to", [])),
        cc=_addresses(headers.get("cc", [])),
        subject=(headers.get("subject") or [""])[0],
        date=date,
        headers={k: tuple(v) for k, v in headers.items()},
        content_type=msg.get_content_type(),
        text=text,
        html=html,
        charset=charset,
        attachments=tuple(attachments),
        defects=tuple(dict.fromkeys(defects)),
    )


def to_dict(parsed: ParsedMail) -> dict[str, Any]:
    """A JSON-friendly summary for `appeals check-message --json`."""
    return {
        "charset": parsed.charset,
        "content_type": parsed.content_type,
        "subject": parsed.subject,
        "from": str(parsed.from_addr) if parsed.from_addr else None,
        "to": [str(a) for a in parsed.to],
        "date": parsed.date.isoformat() if parsed.date else None,
        "message_id": parsed.message_id,
        "text": parsed.text[:2000],
        "html": bool(parsed.html),
        "attachments": [
            {"name": a.filename, "type": a.content_type, "size": a.size, "sha256": a.sha256}
            for a in parsed.attachments
        ],
        "defects": list(parsed.defects),
        "size": parsed.size,
    }
