"""Which files of a message are forwarded, and why the others are not.

Decided from the message alone (`review`), the same way for a new appeal, a citizen's
follow-up and a staff answer:

- executable content is never forwarded: by name (the extensions Windows runs on a double
  click, looked at after the name was made safe, so "скан.pdf.exe" and "virus.exe." are
  caught), by type, and by content (an MZ or ELF header under any name, e.g. a
  "photo.jpg" that is a program); a zip archive that holds such names is refused too;
  an attached message (.eml, .msg) that holds such a file is not forwarded whole, and
  its other files go on one by one;
- then the limits from settings ([attachments]): the size of one file, how many files
  and their total size in one letter (department mailboxes refuse letters over their own
  limit, and base64 makes every file a third larger on the way), in the order the sender
  attached them.

A refused file is still listed (name, size, why) in the department's forward and told to
the citizen; the appeal itself is registered with the rest.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from routing.mail import AttachmentInfo
from routing.ports import AttachmentRef

# What Windows runs or installs when the file is opened, and the classic mail-borne
# script hosts besides the ones every mail filter knows.
EXECUTABLE_EXTENSIONS = frozenset(
    {
        ".exe",
        ".scr",
        ".bat",
        ".cmd",
        ".js",
        ".vbs",
        ".msi",
        ".com",
        ".ps1",
        ".jar",
        ".pif",
        ".cpl",
        ".hta",
        ".jse",
        ".vbe",
        ".wsf",
        ".lnk",
    }
)
EXECUTABLE_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-dosexec",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-executable",
        "application/java-archive",
        "application/x-sh",
    }
)
# Unix ELF, and DOS/Windows "MZ" (every PE file) when a whole 64-byte DOS header follows:
# a short note that happens to start with the letters "MZ" is not a program.
ELF_MAGIC = b"\x7fELF"
MZ_MAGIC = b"MZ"
DOS_HEADER_SIZE = 64
_ZIP_MAGIC = b"PK\x03\x04"

Status = Literal["sent", "inside", "refused"]
REASONS = (
    "executable",
    "archive-with-executable",
    "contains-executable",
    "file-too-large",
    "too-many-files",
    "total-too-large",
)


@dataclass(frozen=True)
class AttachmentLimits:
    """Settings [attachments] (validated straight into this class); 0 switches a limit
    off. The defaults keep a forward under the 25 MB common mail servers accept: base64
    makes 15 MiB of files about 20.5 MB on the wire."""

    max_file_bytes: int = 10 * 1024 * 1024
    max_total_bytes: int = 15 * 1024 * 1024
    max_count: int = 20

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_total_bytes", "max_count"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0 (0 switches the limit off)")

    def as_view(self) -> dict[str, int]:
        return {
            "max_file": self.max_file_bytes,
            "max_total": self.max_total_bytes,
            "max_count": self.max_count,
        }


@dataclass(frozen=True)
class FileDecision:
    """`sent`: goes out as a file of its own; `inside`: travels inside an attached message
    that is sent; `refused`: not forwarded, with the reason (one of REASONS)."""

    info: AttachmentInfo
    status: Status
    reason: str | None = None

    @property
    def forwarded(self) -> bool:
        return self.status != "refused"


def _extension(name: str) -> str:
    stem, dot, ext = name.rstrip(" .").rpartition(".")
    return f".{ext.lower()}" if dot and stem else ""


def is_executable(name: str, content: bytes, content_type: str = "") -> bool:
    return (
        _extension(name) in EXECUTABLE_EXTENSIONS
        or content_type.lower() in EXECUTABLE_TYPES
        or content.startswith(ELF_MAGIC)
        or (content.startswith(MZ_MAGIC) and len(content) >= DOS_HEADER_SIZE)
    )


def _archive_holds_executable(name: str, content: bytes) -> bool:
    if not (content.startswith(_ZIP_MAGIC) or _extension(name) == ".zip"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            # Names only: an encrypted archive shows them too, and nothing is unpacked.
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError):
        return False
    return any(
        _extension(n.replace("\\", "/").rsplit("/", 1)[-1]) in EXECUTABLE_EXTENSIONS for n in names
    )


def _danger(a: AttachmentInfo) -> str | None:
    for name in (a.filename, a.original_name):
        if name and is_executable(name, a.content, a.content_type):
            return "executable"
    if _archive_holds_executable(a.filename, a.content):
        return "archive-with-executable"
    return None


def review(attachments: Sequence[AttachmentInfo], limits: AttachmentLimits) -> list[FileDecision]:
    """One decision per file, in the order of `attachments` (containers before the files
    inside them, as the parser lists them)."""
    danger = {id(a): _danger(a) for a in attachments}
    bad_containers = {a.inside for a in attachments if a.inside and danger[id(a)]}
    status: dict[str, Status] = {}
    out: list[FileDecision] = []
    count = total = 0
    for a in attachments:
        reason = danger[id(a)]
        if reason is None and a.filename in bad_containers:
            reason = "contains-executable"
        if reason is not None:
            decision = FileDecision(a, "refused", reason)
        elif a.inside is not None and status.get(a.inside) in ("sent", "inside"):
            decision = FileDecision(a, "inside")
        elif limits.max_file_bytes and a.size > limits.max_file_bytes:
            decision = FileDecision(a, "refused", "file-too-large")
        elif limits.max_count and count >= limits.max_count:
            decision = FileDecision(a, "refused", "too-many-files")
        elif limits.max_total_bytes and total + a.size > limits.max_total_bytes:
            decision = FileDecision(a, "refused", "total-too-large")
        else:
            decision = FileDecision(a, "sent")
            count += 1
            total += a.size
        status[a.filename] = decision.status
        out.append(decision)
    return out


def refs(decisions: Iterable[FileDecision]) -> list[AttachmentRef]:
    """The files to put on the outgoing letter."""
    return [
        AttachmentRef(d.info.filename, d.info.content_type, d.info.sha256)
        for d in decisions
        if d.status == "sent"
    ]


_LIMIT_OF = {
    "file-too-large": "max_file",
    "too-many-files": "max_count",
    "total-too-large": "max_total",
}


def listed(
    *,
    name: str,
    filename: str,
    size: int,
    status: str,
    reason: str | None,
    inside: str | None,
    unpacked_from: str | None,
    limits: AttachmentLimits | None = None,
) -> dict[str, Any]:
    """One line of the listing letters show, as plain values for the templates; `limit`
    is the limit a refused file went over, when known."""
    key = _LIMIT_OF.get(reason or "")
    return {
        "name": name or filename,
        "file": filename,
        "size": size,
        "status": status,
        "forwarded": status != "refused",
        "reason": reason,
        "limit": limits.as_view()[key] if limits is not None and key else None,
        "inside": inside,
        "unpacked_from": unpacked_from,
    }


def listing(
    decisions: Iterable[FileDecision], limits: AttachmentLimits | None = None
) -> list[dict[str, Any]]:
    return [
        listed(
            name=d.info.display_name,
            filename=d.info.filename,
            size=d.info.size,
            status=d.status,
            reason=d.reason,
            inside=d.info.inside,
            unpacked_from=d.info.unpacked_from,
            limits=limits,
        )
        for d in decisions
    ]
