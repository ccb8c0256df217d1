"""Which files are forwarded: executables by name, type, content and inside archives and
attached messages; then the per-file, per-count and per-letter limits, in order."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from routing.attachments import AttachmentLimits, is_executable, listing, refs, review
from routing.mail import AttachmentInfo

MZ = b"MZ\x90\x00" + b"\x00" * 60


def file(
    name: str, data: bytes = b"%PDF-1.4", ctype: str = "application/pdf", **kw: object
) -> AttachmentInfo:
    return AttachmentInfo(name, ctype, len(data), hashlib.sha256(data).hexdigest(), data, **kw)  # type: ignore[arg-type]


def zipped(*names: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in names:
            z.writestr(n, b"x")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "ctype", "expected"),
    [
        ("setup.exe", b"x", "application/octet-stream", True),
        ("скан.pdf.exe", b"x", "application/pdf", True),
        ("virus.EXE.", b"x", "application/octet-stream", True),  # Windows drops the dot
        ("run.ps1", b"x", "text/plain", True),
        ("app.jar", b"PK", "application/zip", True),
        ("photo.jpg", MZ, "image/jpeg", True),  # a program under a photo's name
        ("tool", b"x", "application/x-msdownload", True),
        ("elf.bin", b"\x7fELF\x02", "application/octet-stream", True),
        ("scan.pdf", b"%PDF-1.4", "application/pdf", False),
        ("initials.txt", b"MZ, 3.12.2026", "text/plain", False),
        ("exe", b"x", "text/plain", False),
    ],
)
def test_is_executable(name: str, data: bytes, ctype: str, expected: bool) -> None:
    assert is_executable(name, data, ctype) is expected


def test_executables_are_refused_whatever_the_limits() -> None:
    files = [
        file("a.pdf"),
        file("b.exe", MZ),
        file("c.zip", zipped("docs/x.pdf")),
        file("d.zip", zipped("x\\setup.scr")),
    ]
    got = [(d.info.filename, d.status, d.reason) for d in review(files, AttachmentLimits(0, 0, 0))]
    assert got == [
        ("a.pdf", "sent", None),
        ("b.exe", "refused", "executable"),
        ("c.zip", "sent", None),
        ("d.zip", "refused", "archive-with-executable"),
    ]


def test_the_original_name_counts_too() -> None:
    # The safe name lost the executable extension; the name as written still has it.
    (d,) = review([file("report", original_name="report.exe")], AttachmentLimits())
    assert d.reason == "executable"


def test_limits_in_the_order_files_were_attached() -> None:
    limits = AttachmentLimits(max_file_bytes=100, max_total_bytes=150, max_count=3)
    files = [
        file("big.pdf", b"x" * 101),
        file("a.jpg", b"x" * 80),
        file("b.jpg", b"x" * 80),  # 160 > 150 with a.jpg
        file("c.jpg", b"x" * 30),
        file("d.jpg", b"x" * 10),
        file("e.jpg", b"x" * 1),  # a fourth file
    ]
    got = [(d.info.filename, d.status, d.reason) for d in review(files, limits)]
    assert got == [
        ("big.pdf", "refused", "file-too-large"),
        ("a.jpg", "sent", None),
        ("b.jpg", "refused", "total-too-large"),
        ("c.jpg", "sent", None),
        ("d.jpg", "sent", None),
        ("e.jpg", "refused", "too-many-files"),
    ]
    assert [r.filename for r in refs(review(files, limits))] == ["a.jpg", "c.jpg", "d.jpg"]
    assert listing(review(files, limits), limits)[0]["limit"] == 100


def test_files_inside_an_attached_message_travel_with_it() -> None:
    files = [file("fwd.eml", b"From: x", "message/rfc822"), file("akt.pdf", inside="fwd.eml")]
    got = [(d.info.filename, d.status) for d in review(files, AttachmentLimits(max_count=1))]
    assert got == [("fwd.eml", "sent"), ("akt.pdf", "inside")]


def test_an_attached_message_holding_a_program_is_not_forwarded_but_its_other_files_are() -> None:
    files = [
        file("fwd.eml", b"From: x", "message/rfc822"),
        file("akt.pdf", inside="fwd.eml"),
        file("run.exe", MZ, inside="fwd.eml"),
    ]
    got = [(d.info.filename, d.status, d.reason) for d in review(files, AttachmentLimits())]
    assert got == [
        ("fwd.eml", "refused", "contains-executable"),
        ("akt.pdf", "sent", None),
        ("run.exe", "refused", "executable"),
    ]
