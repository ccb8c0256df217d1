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
The standard library's compat32 parser reads the MIME tree once (it survives most broken
MIME and records defects per part); the message is held in memory a small constant number
of times: the bytes, the parsed tree and the decoded attachment bodies (a second
parser pass and whole-body copies took a 20 MB message to 10x its size). The tree goes
along in `ParsedMail.mime`, so screening does not parse the message again. Whatever cannot be
read is reported in `defects` in words an admin can act on; an exception is raised only
for input that is not a message at all, and even then as `ParseError` with the reason.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import itertools
import quopri
from collections.abc import Iterator
from dataclasses import replace
from email import policy
from email.feedparser import BytesFeedParser
from email.header import Header, decode_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

import saferegex
from gateway.errors import ParseError
from gateway.intake.attachments import (
    ContainerError,
    UniqueNames,
    display_name,
    guess_type,
    is_outlook_msg,
    is_tnef,
    read_outlook_msg,
    safe_filename,
    unpack_tnef,
)
from gateway.intake.budget import CpuBudget, OverBudget
from routing.htmltext import html_to_text
from routing.mail import (
    Address,
    AttachmentInfo,
    ForwardedMessage,
    ParsedMail,
    one_line,
    repair_surrogates,
)

_CANDIDATES = ("utf-8", "cp1251", "koi8-u", "koi8-r")
_CYR = saferegex.compile(r"[а-яіїєґё]", saferegex.IGNORECASE)
_CYR_LOWER = saferegex.compile(r"[а-яіїєґё]")
_BOX = saferegex.compile(r"[\u2500-\u257f]")
_WORD = saferegex.compile(r"\w+")
_LAT = saferegex.compile(r"[a-z]", saferegex.IGNORECASE)
_MOJIBAKE = saferegex.compile(r"Ð[\u0080-\u00bf]|Ñ[\u0080-\u00bf]|Р[°±Ѓ]|С[ЂЃ‚]|вЂ")
_FOLD = saferegex.compile(r"\s*\r?\n\s+")
_ANGLE_ID = saferegex.compile(r"<[^<>\s]+>")
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
    # "replace" covers bytes a codec rejects, but the UTF-7 and UTF-16 codecs return the
    # halves of a broken surrogate pair without complaint.
    return repair_surrogates(data.decode(charset, "replace")), charset, how


# An RFC 2047 encoded word: printable ASCII only, no "?" inside its parts.
_ENCODED_WORD = saferegex.compile(r"(=\?[!->@-~]+\?[bBqQ]\?[!->@-~]*\?=)")


def _decode_word(word: str) -> str:
    try:
        ((data, charset),) = decode_header(word)
    except Exception:
        return word
    return decode_bytes(data, charset)[0] if isinstance(data, bytes) else str(data)


def _as_phrase(text: str) -> str:
    """Decoded encoded-word text as an RFC 5322 quoted string, on one line."""
    escaped = one_line(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _decode_words_in(text: str, phrases: bool = False) -> str:
    """Encoded words inside text that is already Unicode: the header mixed raw 8-bit with
    RFC 2047, as UTF-8 mailboxes (RFC 6532) come after an encoded display name
    ("=?UTF-8?B?...?= <оксана@пошта.укр>"). The stdlib would escape the raw part with
    raw-unicode-escape, so each encoded word is decoded on its own here."""
    pieces = _ENCODED_WORD.split(text)
    out: list[str] = []
    run: list[str] = []  # decoded words of one run of adjacent encoded words
    for i, piece in enumerate(pieces):
        if i % 2:
            run.append(_decode_word(piece))
        elif not (0 < i < len(pieces) - 1 and not piece.strip()):
            # White space between two encoded words is dropped (§6.2): a run ends here.
            if run:
                joined = "".join(run)
                out.append(_as_phrase(joined) if phrases else joined)
                run = []
            out.append(piece)
    if run:
        joined = "".join(run)
        out.append(_as_phrase(joined) if phrases else joined)
    return "".join(out)


def _spaces_kept(raw: str, parts: list[str], encoded: list[bool]) -> list[str]:
    """decode_header strips the white space between an encoded word and plain text
    ("=?utf-8?b?...?=\r\n 23.12.2026"), which belongs to the text: RFC 2047 §6.2 drops
    only the space between two encoded words. Put it back where the raw header had it
    (and only there: Outlook writes file names as "=?...?=.pdf")."""
    spaced: list[bool] = []  # per encoded/plain boundary in the raw header, in order
    pieces = [p for p in _ENCODED_WORD.split(raw)]
    kinds = [bool(i % 2) for i in range(len(pieces))]
    kept = [
        (p, k)
        for i, (p, k) in enumerate(zip(pieces, kinds, strict=True))
        if k or (p and not (0 < i < len(pieces) - 1 and not p.strip()))
    ]
    for (left, left_enc), (right, right_enc) in itertools.pairwise(kept):
        if left_enc != right_enc:
            spaced.append(left[-1:].isspace() or right[:1].isspace())
    boundaries = [i for i in range(1, len(parts)) if encoded[i - 1] != encoded[i]]
    if len(boundaries) != len(spaced):
        return parts  # the stdlib split it otherwise: leave it as decoded
    out = list(parts)
    for i, space in reversed(list(zip(boundaries, spaced, strict=True))):
        if space and not out[i - 1][-1:].isspace() and not out[i][:1].isspace():
            out.insert(i, " ")
    return out


def decode_header_value(value: Any, phrases: bool = False) -> str:
    """RFC 2047 encoded words, raw 8-bit headers (any charset) and plain ASCII alike.

    `phrases`: each run of encoded words becomes a quoted string, for address headers,
    where an encoded word can only be a display name (see `_addresses`)."""
    if value is None:
        return ""
    raw = value if isinstance(value, Header) else str(value)
    if isinstance(raw, str) and not raw.isascii() and _ENCODED_WORD.search(raw):
        text = _decode_words_in(raw, phrases)
        return repair_surrogates(_FOLD.sub(" ", text).strip())
    parts = []
    try:
        # A Header holding raw 8-bit bytes decodes to (bytes, "unknown-8bit") chunks.
        chunks = decode_header(raw)
    except Exception:
        chunks = [(str(raw), None)]
    encoded: list[bool] = []
    for chunk, cs in chunks:
        encoded.append(cs is not None)
        if isinstance(chunk, str):
            try:
                # Raw 8-bit header bytes come back as surrogate escapes: recover them.
                chunk = chunk.encode("ascii", "surrogateescape")
            except UnicodeEncodeError:
                parts.append(chunk)  # already real text
                continue
        decoded = decode_bytes(chunk, cs)[0]
        if cs == "unknown-8bit" and _ENCODED_WORD.search(decoded):
            decoded = _decode_words_in(decoded, phrases)
        elif phrases and cs not in (None, "unknown-8bit"):
            decoded = _as_phrase(decoded)  # an encoded word
        parts.append(decoded)
    if isinstance(raw, str) and len(parts) > 1:
        parts = _spaces_kept(raw, parts, encoded)
    text = "".join(parts) if len(chunks) > 1 else (parts[0] if parts else "")
    # A chunk kept "as it is" may still hold surrogate escapes mixed with real text.
    return repair_surrogates(_FOLD.sub(" ", text).strip())


def _addresses(values: list[Any]) -> tuple[Address, ...]:
    """The mailboxes of address headers, as they arrived (raw, not yet decoded).

    An encoded word is only ever text of a display name (RFC 2047 §5), so each one is
    decoded into a quoted string before the list is split into mailboxes. Decoded as plain
    text, a display name could spell ",", "<", ":" or CR LF in an encoded word
    ("=?utf-8?q?x@evil.example=2C?= <ivan@...>") and smuggle in another address that
    acknowledgements would go to. Names become one line (`routing.mail.one_line`)."""
    out = []
    for name, addr in getaddresses([decode_header_value(v, phrases=True) for v in values]):
        addr = addr.strip().strip("<>")
        if "@" in addr and " " not in addr and one_line(addr) == addr:
            local, domain = addr.rsplit("@", 1)
            text = one_line(name).strip('"').strip()
            out.append(Address(name=text, email=f"{local}@{domain.lower()}"))
    return tuple(out)


def part_filename(part: Message) -> str | None:
    """The file name of a MIME part as its sender meant it, decoded.

    Content-Disposition `filename` first, then the older Content-Type `name`. RFC 2231
    values (`filename*=utf-8''%D0%A1...`, continuations `filename*0*=`, `filename*1*=`, as
    Apple Mail and Thunderbird send them) are decoded with their declared charset when it
    fits and guessed otherwise (a missing or wrong charset is common); quoted RFC 2047
    encoded words (`"=?UTF-8?B?...?="`, Outlook and Gmail, against RFC 2047 §5 but
    universal) and raw 8-bit names of webmails are decoded as header values are.
    """
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        value = part.get_param(param, None, header=header)
        if value is None:
            continue
        if isinstance(value, str) and "\ufffd" in value:
            value = _param_from_8bit_header(part, header, param) or value
        if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded text)
            charset, _language, text = value
            try:
                data = str(text).encode("latin-1")
            except UnicodeEncodeError:
                data = str(text).encode("utf-8", "surrogateescape")
            name = decode_bytes(data, charset or None)[0]
            # Some clients put RFC 2047 words inside an RFC 2231 value as well.
            name = decode_header_value(name) if "=?" in name else name
        else:
            name = decode_header_value(value.strip('"'))
        if name.strip():
            return name
    return None


def _param_from_8bit_header(part: Message, header: str, param: str) -> str | None:
    """A parameter of a header that carries raw 8-bit bytes (webmails write UTF-8 or
    windows-1251 file names unencoded): the standard library shows those as U+FFFD, so the
    header's bytes are decoded first and the parameter read from the text."""
    for name, raw in part.raw_items():
        if name.lower() != header or not isinstance(raw, str):
            continue
        text = decode_bytes(raw.encode("ascii", "surrogateescape"), None)[0]
        probe = Message()
        probe[header] = text
        value = probe.get_param(param, None, header=header)
        return value if isinstance(value, str) else None
    return None


# How deep attached messages inside attached messages are read; deeper ones are still
# forwarded as files.
_MAX_DEPTH = 3
_MESSAGE_TYPES = ("message/rfc822", "message/global")


def _leaves(part: Message) -> Iterator[Message]:
    """The parts to look at, in order: like `Message.walk` but an attached message is one
    part (it becomes an .eml file) rather than a tree to descend into."""
    if part.get_content_type() in _MESSAGE_TYPES:
        yield part
        return
    if part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                yield from _leaves(sub)
        return
    yield part


def _attached_message_bytes(part: Message) -> bytes:
    """The bytes of the message inside a message/rfc822 part."""
    inner = part.get_payload()
    msg = inner[0] if isinstance(inner, list) and inner else None
    if not isinstance(msg, Message):
        return str(inner or "").encode("utf-8", "surrogateescape")
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte in ("base64", "quoted-printable"):
        # RFC 2046 §5.2.1 forbids encoding message/rfc822, but some clients do; the parser
        # then read the encoded text as a message with no headers.
        encoded = msg.as_bytes(policy=_GENERATE) if msg.keys() else str(msg.get_payload())
        if isinstance(encoded, str):
            encoded = encoded.encode("ascii", "replace")
        try:
            if cte == "base64":
                return base64.b64decode(b"".join(encoded.split()), validate=False)
            return quopri.decodestring(encoded)
        except (ValueError, binascii.Error):
            return encoded
    return msg.as_bytes(policy=_GENERATE)


# An attached message is written back from the parsed tree with CRLF and without refolding
# its headers or quoting "From " lines: for what clients send that gives the bytes that
# came in, so the department's .eml is the citizen's.
_GENERATE = policy.compat32.clone(linesep="\r\n", mangle_from_=False, max_line_length=0)


class _Collector:
    """What the parts of one message (and of the messages attached to it) add up to."""

    def __init__(self, names: UniqueNames, depth: int, budget: CpuBudget | None) -> None:
        self.names = names
        self.depth = depth
        self.budget = budget
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.charset: str | None = None
        self.attachments: list[AttachmentInfo] = []
        self.forwarded: list[ForwardedMessage] = []
        self.defects: list[str] = []

    def add_file(
        self,
        written: str | None,
        content_type: str,
        data: bytes,
        *,
        inline: bool = False,
        inside: str | None = None,
        unpacked_from: str | None = None,
    ) -> AttachmentInfo:
        original = display_name(written or "")
        info = AttachmentInfo(
            filename=self.names.claim(safe_filename(written, content_type)),
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content=data,
            inline=inline,
            original_name=original,
            inside=inside,
            unpacked_from=unpacked_from,
        )
        self.attachments.append(info)
        return info

    def attached_message(self, part: Message, written: str | None) -> None:
        data = _attached_message_bytes(part)
        try:
            inner = (
                _parse(data, self.names, self.depth + 1, self.budget)
                if self.depth < _MAX_DEPTH
                else None
            )
        except OverBudget:
            raise
        except Exception as exc:  # the outer letter must still be registered
            inner = None
            self.defects.append(f"attached message not readable ({type(exc).__name__})")
        if not written:
            subject = inner.subject if inner is not None else ""
            written = f"{subject or 'message'}.eml"
        elif not written.lower().endswith((".eml", ".msg")):
            written = f"{written}.eml"
        eml = self.add_file(written, part.get_content_type(), data)
        if inner is None:
            return
        self.forwarded.append(
            ForwardedMessage(
                filename=eml.filename,
                from_=str(inner.from_addr) if inner.from_addr else inner.header("from") or "",
                date=inner.header("date") or "",
                subject=inner.subject,
                text=inner.text,
            )
        )
        self.forwarded += inner.forwarded
        # Its files travel inside the .eml; listed so that what is inside is checked too.
        self.attachments += [replace(a, inside=eml.filename) for a in inner.attachments]
        self.defects += [f"attached message {eml.filename}: {d}" for d in inner.defects]

    def tnef(self, written: str | None, content_type: str, data: bytes) -> None:
        try:
            content = unpack_tnef(data)
        except ContainerError as exc:
            self.add_file(written, content_type, data)
            self.defects.append(f"winmail.dat kept as it is: {exc}")
            return
        origin = display_name(written or "winmail.dat")
        for name, blob in content.files:
            self.add_file(name, guess_type(name), blob, unpacked_from=origin)
        if content.skipped:
            self.defects.append(f"winmail.dat: {content.skipped} part(s) without file data")
        body = content.text.strip()
        # Outlook usually sends the body as text/plain beside winmail.dat as well.
        if body and not any(_said_in(body, t) for t in self.texts):
            self.texts.append(body)

    def outlook_msg(self, written: str | None, content_type: str, data: bytes) -> None:
        item = self.add_file(written, content_type, data)
        try:
            content = read_outlook_msg(data)
        except ContainerError as exc:
            self.defects.append(f"{item.filename} kept as it is: {exc}")
            return
        self.forwarded.append(
            ForwardedMessage(
                item.filename, content.from_, content.date, content.subject, content.text
            )
        )
        for name, blob in content.files:
            self.add_file(name, guess_type(name), blob, inside=item.filename)


def _said_in(part: str, whole: str) -> bool:
    return " ".join(part.split()) in " ".join(whole.split())


def parse(raw: bytes, budget: CpuBudget | None = None) -> ParsedMail:
    """`raw` parsed; with a `budget`, `OverBudget` is raised between the pieces fed to the
    MIME parser once the message's CPU seconds are used up."""
    if not isinstance(raw, bytes | bytearray):
        raise ParseError("not bytes")
    return _parse(bytes(raw), UniqueNames(), 0, budget)


_NOT_BASE64 = saferegex.compile(r"[^A-Za-z0-9+/=\s]")
_DATA_AFTER_PADDING = saferegex.compile(r"=\s*[A-Za-z0-9+/]")


def _valid_base64(body: str) -> bool:
    """What `base64.b64decode(validate=True)` of the body without white space would say,
    without making those copies of a body that may be most of the message: only the
    alphabet, no data after the padding, and not one character left over at the end."""
    if body.count("=") > 2 or _NOT_BASE64.search(body) or _DATA_AFTER_PADDING.search(body):
        return False
    spaces = sum(body.count(c) for c in " \t\r\n\x0b\x0c")
    return (len(body) - spaces - body.count("=")) % 4 != 1


_FEED_CHUNK = 1 << 16


def _mime_tree(raw: bytes, budget: CpuBudget | None) -> Message:
    """The compat32 tree of `raw`, fed to the parser in pieces: `message_from_bytes`
    decodes the whole message into one string and splits it into a list of lines at once,
    two extra copies of the message (the bodies are copies of their own anyway)."""
    parser = BytesFeedParser(policy=policy.compat32)
    view = memoryview(raw)
    for start in range(0, len(raw), _FEED_CHUNK):
        parser.feed(bytes(view[start : start + _FEED_CHUNK]))
        if budget is not None:
            budget.check("parsing")
    msg = parser.close()
    assert isinstance(msg, Message)
    return msg


def header_block(raw: bytes) -> bytes:
    """The bytes up to the first empty line (RFC 5322 §2.1), or all of them."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i != -1]
    return raw[: min(ends) + 2] if ends else raw


def _parse(raw: bytes, names: UniqueNames, depth: int, budget: CpuBudget | None) -> ParsedMail:
    defects: list[str] = []
    msg = _mime_tree(raw, budget)
    categories = {type(d).__name__ for part in msg.walk() for d in part.defects}
    defects += [f"mime: {c}" for c in sorted(categories)]

    # Top-level headers straight from the bytes: raw 8-bit header values survive there as
    # surrogate escapes, which decode_header_value turns into the right charset. Only the
    # header block is read again, not the whole message.
    headers: dict[str, list[str]] = {}
    raw_headers: dict[str, list[Any]] = {}  # address headers: decoded as phrases, below
    for k, v in BytesHeaderParser(policy=policy.compat32).parsebytes(header_block(raw)).items():
        headers.setdefault(k.lower(), []).append(decode_header_value(v))
        raw_headers.setdefault(k.lower(), []).append(v)

    got = _Collector(names, depth, budget)
    # The top-level part is the letter itself even when it is an attached message type.
    parts = _leaves(msg) if msg.get_content_type() not in _MESSAGE_TYPES else iter([msg])
    for part in parts:
        if budget is not None:
            budget.check("reading parts")
        ctype = part.get_content_type()
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        try:
            filename = part_filename(part)
        except Exception:
            filename = None
            defects.append(f"{ctype}: unreadable attachment file name")
        if ctype in _MESSAGE_TYPES and part is not msg:
            got.attached_message(part, filename)
            continue
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
        elif str(
            part.get("Content-Transfer-Encoding", "")
        ).strip().lower() == "base64" and not _valid_base64(str(part.get_payload())):
            # The stdlib decodes invalid base64 leniently (or hands back the text); notice it.
            defects.append(f"corrupt: {ctype} base64 body could not be decoded")
        is_text = (
            ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename
        )
        if is_text:
            text, used, how = decode_bytes(payload, part.get_content_charset())
            if how not in ("declared", "ascii"):
                defects.append(f"{ctype}: charset {how}, read as {used}")
            (got.texts if ctype == "text/plain" else got.htmls).append(text)
            got.charset = got.charset or used
            continue
        if ctype.startswith("multipart/"):
            continue
        if is_tnef(filename or "", ctype, payload):
            got.tnef(filename, ctype, payload)
        elif is_outlook_msg(filename or "", ctype):
            got.outlook_msg(filename, ctype, payload)
        else:
            got.add_file(filename, ctype, payload, inline=disposition == "inline")
    defects += got.defects
    texts, htmls, charset = got.texts, got.htmls, got.charset
    html = "\n".join(htmls) if htmls else None
    text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    if not text and html:
        text = html_to_text(html)
    if not texts and not htmls and not got.attachments and raw.strip():
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
    froms = _addresses(raw_headers.get("from", []))
    if not froms and headers.get("from"):
        defects.append("From header has no usable address")
    reply_tos = _addresses(raw_headers.get("reply-to", []))

    def ids(name: str) -> tuple[str, ...]:
        return tuple(_ANGLE_ID.findall(" ".join(headers.get(name, []))))

    mid = ids("message-id")
    return ParsedMail(
        raw=raw,
        mime=msg,
        message_id=mid[0] if mid else None,
        in_reply_to=ids("in-reply-to"),
        references=ids("references"),
        from_addr=froms[0] if froms else None,
        reply_to=reply_tos[0] if reply_tos else None,
        to=_addresses(raw_headers.get("to", [])),
        cc=_addresses(raw_headers.get("cc", [])),
        subject=one_line((headers.get("subject") or [""])[0]),
        date=date,
        headers={repair_surrogates(k): tuple(v) for k, v in headers.items()},
        content_type=repair_surrogates(msg.get_content_type()),
        text=repair_surrogates(text),
        html=repair_surrogates(html) if html is not None else None,
        charset=charset,
        attachments=tuple(got.attachments),
        defects=tuple(dict.fromkeys(repair_surrogates(d) for d in defects)),
        forwarded=tuple(got.forwarded),
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
            {
                "name": a.filename,
                "written": a.display_name,
                "type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                **({"inside": a.inside} if a.inside else {}),
                **({"unpacked_from": a.unpacked_from} if a.unpacked_from else {}),
            }
            for a in parsed.attachments
        ],
        "forwarded": [
            {"file": f.filename, "from": f.from_, "date": f.date, "subject": f.subject}
            for f in parsed.forwarded
        ],
        "defects": list(parsed.defects),
        "size": parsed.size,
    }
