"""Attachment files of real mail: names made safe, and the containers clients wrap files in.

Names. A file name comes from the sender's client and is shown to staff, written into the
letters we send and, by whoever saves the file, into a path. `safe_filename` keeps the
last path component only (Internet Explorer and old Outlook versions sent the whole local
path, "C:\\Users\\...\\скан.pdf"; a hostile sender writes "../../etc/passwd"), drops
control and bidirectional-formatting characters (U+202E turns "gpj.exe" into "exe.jpg" on
screen), replaces what Windows forbids in names, drops the leading and trailing dots and
spaces Windows would drop anyway, avoids the DOS device names and caps the length.
`display_name` keeps the name as written, with only the invisible characters shown as
U+FFFD, for the listing people read.

Containers. Outlook sends its own format, TNEF (`winmail.dat`, application/ms-tnef), when
it believes the other side is Outlook too: the real files and often the body are inside,
and nobody else can open it, so it is unpacked with `tnefparse`. An Outlook item dragged
into a letter arrives as a `.msg` file (an OLE compound file); it is forwarded as it is
and its text is read with `extract-msg` so the appeal's reader sees it. Either library may
fail on a file it does not understand: the callers then keep the original file and record
a defect (`ContainerError`).
"""

from __future__ import annotations

import mimetypes
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

import saferegex
from routing.htmltext import html_to_text

MAX_NAME_CHARS = 120
# Most file systems allow 255 bytes per name; the margin leaves room for " (2)" and for
# programs that add their own suffix when they save.
MAX_NAME_BYTES = 200
MAX_DISPLAY_CHARS = 255
_MAX_EXT_CHARS = 16

_SEPARATORS = saferegex.compile(r"[\\/]")
_DRIVE = saferegex.compile(r"^[A-Za-z]:")
_WINDOWS_FORBIDDEN = saferegex.compile(r'[<>:"|?*]')
_SPACES = saferegex.compile(r"\s+")
# DOS device names: on Windows "con.pdf" or "aux.txt" opens the device, not a file.
_BLANK_RUN = saferegex.compile(r"\n{3,}")
_DEVICES = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)
# Characters that are not shown: controls (Cc), formatting incl. bidi overrides (Cf),
# surrogates left by undecodable bytes (Cs), private use (Co), line/paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})

TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
MSG_TYPES = frozenset({"application/vnd.ms-outlook", "application/x-msg"})


class ContainerError(Exception):
    """A container (TNEF, .msg) could not be read; the message says why, without content."""


def _visible(ch: str) -> bool:
    return unicodedata.category(ch) not in _INVISIBLE


def display_name(name: str) -> str:
    """The name as the sender wrote it, for people: invisible characters become U+FFFD
    (so a reader sees that something was there), runs of white space one space."""
    shown = "".join(ch if _visible(ch) or ch in " \t" else "\ufffd" for ch in name)
    shown = _SPACES.sub(" ", shown).strip()
    return shown[:MAX_DISPLAY_CHARS]


def fallback_name(content_type: str) -> str:
    ext = mimetypes.guess_extension(content_type, strict=False) or ".bin"
    return f"attachment{ext}"


def _split_ext(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > _MAX_EXT_CHARS or " " in ext:
        return name, ""
    return stem, f".{ext}"


def _cap(stem: str, ext: str) -> str:
    while stem and (
        len(stem) + len(ext) > MAX_NAME_CHARS or len((stem + ext).encode()) > MAX_NAME_BYTES
    ):
        stem = stem[:-1]
    return (stem.rstrip(" .") or "attachment") + ext


def safe_filename(name: str | None, content_type: str = "application/octet-stream") -> str:
    """A name that is safe in a MIME header of an outgoing letter and as a file name on
    Windows and Unix: one path component, visible characters only, bounded length."""
    text = unicodedata.normalize("NFC", name or "")
    # Control characters separate words ("скан\aзаяви"); formatting ones are invisible.
    text = "".join(
        ch if _visible(ch) else " " if unicodedata.category(ch) == "Cc" else "" for ch in text
    )
    text = _SEPARATORS.split(text)[-1]
    text = _DRIVE.sub("", text)
    text = _WINDOWS_FORBIDDEN.sub("_", text)
    text = _SPACES.sub(" ", text).strip(" .")
    if not text:
        return fallback_name(content_type)
    stem, ext = _split_ext(text)
    if stem.split(".")[0].strip().lower() in _DEVICES:
        stem = f"_{stem}"
    return _cap(stem, ext)


@dataclass
class UniqueNames:
    """Names already given within one message: a second "image.jpg" becomes
    "image (2).jpg", so that files saved side by side do not overwrite each other."""

    taken: set[str] = field(default_factory=set)

    def claim(self, name: str) -> str:
        candidate, n = name, 1
        while candidate.lower() in self.taken:
            n += 1
            stem, ext = _split_ext(name)
            candidate = _cap(stem, f" ({n}){ext}")
        self.taken.add(candidate.lower())
        return candidate


def guess_type(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


# -- Outlook TNEF (winmail.dat) ---------------------------------------------------------


def is_tnef(name: str, content_type: str, data: bytes) -> bool:
    return (
        content_type in TNEF_TYPES
        or name.lower() in ("winmail.dat", "win.dat")
        or data.startswith(TNEF_SIGNATURE)
    )


@dataclass(frozen=True)
class TnefContent:
    files: tuple[tuple[str, bytes], ...]  # (name as written, bytes)
    text: str  # the body as plain text, "" when there is none
    skipped: int = 0  # parts with no file data (OLE objects, rendering data only)


def _as_text(value: object, codepage: str) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode(codepage, "replace")
    else:
        text = str(value or "")
    return text.rstrip("\x00").strip()


def _codec(name: str | None) -> str:
    import codecs

    try:
        return codecs.lookup(name or "").name
    except LookupError:
        return "cp1252"


def unpack_tnef(data: bytes) -> TnefContent:
    """The files and the body inside an Outlook TNEF stream. Raises ContainerError."""
    try:
        from tnefparse.properties import MAPI_ATTACH_LONG_FILENAME
        from tnefparse.tnef import TNEF

        tnef = TNEF(data, do_checksum=False)
    except Exception as exc:
        raise ContainerError(f"TNEF not readable ({type(exc).__name__})") from exc
    codepage = _codec(tnef.codepage)
    files: list[tuple[str, bytes]] = []
    skipped = 0
    for att in tnef.attachments:
        payload = att.data if isinstance(att.data, bytes) else b""
        if not payload:
            skipped += 1
            continue
        long_names = [a.data for a in att.mapi_attrs if a.name == MAPI_ATTACH_LONG_FILENAME]
        # The title attribute holds an 8.3 name in the sender's OEM code page (cp1251 on a
        # Ukrainian Windows); the MAPI long file name, when present, is the real one.
        name = _as_text(long_names[0], codepage) if long_names else ""
        name = name or _as_text(getattr(att, "_name", b""), codepage)
        files.append((name, payload))
    text = ""
    try:
        if tnef.body:
            text = _as_text(tnef.body, codepage)
        elif tnef.htmlbody:
            text = html_to_text(_as_text(tnef.htmlbody, codepage))
        elif tnef.rtfbody:
            text = rtf_to_text(tnef.rtfbody)
    except Exception as exc:
        raise ContainerError(f"TNEF body not readable ({type(exc).__name__})") from exc
    if not files and not text:
        raise ContainerError("TNEF holds no files and no text")
    return TnefContent(tuple(files), text, skipped)


_RTF_TOKEN = saferegex.compile(
    rb"\\'([0-9a-fA-F]{2})"  # a byte in the document's code page
    rb"|\\u(-?\d+) ?\??"  # a UTF-16 unit
    rb"|\\([a-zA-Z]+)(-?\d+)? ?"  # a control word
    rb"|\\([{}\\])|\\\S|([{}])|[\r\n]|([^\\{}\r\n]+)"
)
_RTF_SKIP = frozenset(
    {b"fonttbl", b"colortbl", b"stylesheet", b"info", b"pict", b"object", b"header", b"footer"}
)


def rtf_to_text(rtf: bytes) -> str:
    """Readable text out of RTF (Outlook's compressed-RTF body, decompressed): control
    words dropped, \\'hh and \\uN decoded, destination groups skipped."""
    out: list[str] = []
    codepage = "cp1252"
    depth, skip_from = 0, None
    fallback = False  # after \uN: the next \'hh is the same character for old readers
    for m in _RTF_TOKEN.finditer(rtf):
        hexbyte, uni, word, arg, escaped, brace, plain = m.groups()
        if brace == b"{":
            depth += 1
            continue
        if brace == b"}":
            depth -= 1
            if skip_from is not None and depth < skip_from:
                skip_from = None
            continue
        if skip_from is not None:
            continue
        if word is not None:
            if word in _RTF_SKIP:
                skip_from = depth
            elif word == b"ansicpg" and arg:
                codepage = _codec(f"cp{int(arg)}")
            elif word in (b"par", b"line"):
                out.append("\n")
            elif word == b"tab":
                out.append("\t")
            continue
        if m.group(0) == b"\\*":
            skip_from = depth
        elif hexbyte is not None:
            if not fallback:
                out.append(bytes([int(hexbyte, 16)]).decode(codepage, "replace"))
        elif uni is not None:
            out.append(chr(int(uni) % 65536))
            fallback = True
            continue
        elif escaped is not None:
            out.append(escaped.decode())
        elif plain is not None:
            out.append(plain.decode(codepage, "replace"))
        fallback = False
    text = "".join(out)
    return _BLANK_RUN.sub("\n\n", text).strip()


# -- Outlook .msg -----------------------------------------------------------------------


def is_outlook_msg(name: str, content_type: str) -> bool:
    return content_type in MSG_TYPES or name.lower().endswith(".msg")


@dataclass(frozen=True)
class MsgContent:
    from_: str
    date: str
    subject: str
    text: str
    files: tuple[tuple[str, bytes], ...]


def _date_text(value: object) -> str:
    # The form of a Date header, as an attached .eml shows it.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return format_datetime(value)
    return str(value or "")


def read_outlook_msg(data: bytes) -> MsgContent:
    """Sender, date, subject, body and files of an Outlook .msg. Raises ContainerError."""
    if not data.startswith(OLE_SIGNATURE):
        raise ContainerError("not an OLE compound file")
    try:
        import extract_msg

        # openMsg gives the class the file declares (a Message for "IPM.Note"); the
        # attributes read below are those of a message, looked up as such.
        msg: Any = extract_msg.openMsg(data)
    except Exception as exc:
        raise ContainerError(f"Outlook message not readable ({type(exc).__name__})") from exc
    try:
        text = msg.body or ""
        if not text.strip():
            html = getattr(msg, "htmlBody", None)
            if html:
                text = html_to_text(html.decode("utf-8", "replace"))
        files = []
        for att in getattr(msg, "attachments", []) or []:
            payload = getattr(att, "data", None)
            if not isinstance(payload, bytes) or not payload:
                continue  # an embedded Outlook item or an empty part: its text is not ours
            name = (
                getattr(att, "longFilename", None)
                or getattr(att, "shortFilename", None)
                or getattr(att, "name", None)
                or ""
            )
            files.append((str(name), payload))
        return MsgContent(
            from_=str(msg.sender or ""),
            date=_date_text(msg.date),
            subject=str(msg.subject or ""),
            text=text.replace("\r\n", "\n").strip(),
            files=tuple(files),
        )
    except Exception as exc:
        raise ContainerError(f"Outlook message not readable ({type(exc).__name__})") from exc
    finally:
        msg.close()
