"""Fuzzing the parser and the worker path with hypothesis.

Generated messages: MIME trees of random shape (multipart nesting, text and binary
leaves, attached messages), random charsets (UTF-8, cp1251, KOI8-U, KOI8-R, UTF-7,
UTF-16, ones that do not exist) with bodies often in a charset other than the one
declared, 7bit / 8bit / base64 / quoted-printable (sometimes broken), encoded words in
headers (valid, truncated, in unknown charsets), broken and missing boundaries, huge
and folded headers, runs of white space and blank lines, and plain random bytes.

Properties:
- `parse` never raises (only `ParseError` for what is not a message) and gives text
  free of lone surrogates;
- through the real worker on SQLite (intake, raw store, parser, screening, pipeline,
  letters) every message ends in a recorded state, processed, held or discarded, with a
  reason, and never as `crash` or `unparseable`.

The default run is bounded (`max_examples` 60 and 40, a deadline per example); set
`APPEALS_FUZZ_EXAMPLES=5000` for a long run.
"""

from __future__ import annotations

import base64
import os
import quopri
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from worker_probe import Probe, probe

from gateway.errors import ParseError
from gateway.intake.parsing import parse

EXAMPLES = int(os.environ.get("APPEALS_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=EXAMPLES or 60,
    deadline=None if EXAMPLES else 5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not EXAMPLES,  # the CI run is the same every time; a long run explores
    database=None,
)

CHARSETS = ["utf-8", "cp1251", "koi8-u", "koi8-r", "utf-7", "utf-16", "iso-8859-5", "x-unknown"]
WORDS = st.sampled_from(
    [
        "Прошу",
        "відремонтувати",
        "дорогу",
        "вул.",
        "Шевченка",
        "З повагою",
        "Іваненко",
        "Петро",
        "тел.",
        "050 123 45 67",
        "скарга",
        "Re:",
        "#extend 10",
        "-----Original Message-----",
        "Undelivered Mail",
        "550 5.1.1",
        "<a@b.example>",
        ">",
        "--",
        "=?",
        "?=",
        "ґїєі",
        "😀",
        "\t",
        " " * 50,
        "\n" * 30,
    ]
)
TEXT = st.lists(WORDS | st.text(max_size=20), max_size=40).map(" ".join)


def _encode_text(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset, "replace")
    except LookupError:
        return text.encode("utf-8")


@st.composite
def header_value(draw: st.DrawFn) -> str:
    text = draw(TEXT)[:300]
    kind = draw(st.sampled_from(["plain", "b", "q", "broken", "unknown", "long"]))
    if kind == "plain":
        return text.encode("ascii", "replace").decode()
    if kind == "b":
        cs = draw(st.sampled_from(CHARSETS[:4]))
        return f"=?{cs}?B?{base64.b64encode(_encode_text(text, cs)).decode()}?="
    if kind == "q":
        return f"=?koi8-u?Q?{quopri.encodestring(_encode_text(text, 'koi8-u')).decode()}?="
    if kind == "broken":
        return "=?utf-8?B?" + base64.b64encode(text.encode()).decode()[:-3]
    if kind == "unknown":
        return f"=?x-nonsense?B?{base64.b64encode(text.encode()).decode()}?="
    return "\r\n ".join(["x" * 70] * draw(st.integers(1, 400)))


@st.composite
def leaf(draw: st.DrawFn) -> bytes:
    ctype = draw(
        st.sampled_from(["text/plain", "text/html", "application/pdf", "message/rfc822", ""])
    )
    declared = draw(st.sampled_from(CHARSETS))
    actual = draw(st.sampled_from(CHARSETS)) if draw(st.booleans()) else declared
    body = _encode_text(draw(TEXT), actual)
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.binary(max_size=500))
    cte = draw(st.sampled_from(["", "7bit", "8bit", "base64", "quoted-printable", "x-junk"]))
    if cte == "base64":
        body = base64.encodebytes(body)
        if draw(st.booleans()):
            body = body[: len(body) // 2] + b"!!*" + body[len(body) // 2 :]
    elif cte == "quoted-printable":
        body = quopri.encodestring(body)
    head = []
    if ctype:
        name = draw(st.sampled_from(["", '; name="scan.pdf"', "; name*=utf-8''%D0%BF.txt"]))
        head.append(f"Content-Type: {ctype}; charset={declared}{name}")
    if cte:
        head.append(f"Content-Transfer-Encoding: {cte}")
    if draw(st.booleans()):
        head.append('Content-Disposition: attachment; filename="../../etc/passwd"')
    if ctype == "message/rfc822":
        body = b"From: x@example.org\r\nSubject: inner\r\n\r\n" + body
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


def tree(depth: int) -> st.SearchStrategy[bytes]:
    if depth == 0:
        return leaf()

    @st.composite
    def multipart(draw: st.DrawFn) -> bytes:
        b = draw(st.sampled_from(["b1", "==x==", "----=_Part_0", "a" * 70, "b1"]))
        kids = draw(st.lists(tree(depth - 1), min_size=0, max_size=4))
        sub = draw(st.sampled_from(["mixed", "alternative", "related", "report", "digest"]))
        out = f'Content-Type: multipart/{sub}; boundary="{b}"\r\n\r\npreamble\r\n'.encode()
        for kid in kids:
            out += f"--{b}\r\n".encode() + kid + b"\r\n"
        if draw(st.booleans()):  # often, no closing delimiter
            out += f"--{b}--\r\n".encode()
        return out

    return st.one_of(leaf(), multipart())


@st.composite
def message(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 14)) == 0:
        return draw(st.binary(min_size=1, max_size=3000))
    headers = [
        f"From: {draw(header_value())} <{draw(st.sampled_from(['c@example.org', 'bad', '']))}>",
        "To: appeals@council.example",
        f"Subject: {draw(header_value())}",
    ]
    if draw(st.booleans()):
        headers.append(f"Message-ID: <{draw(st.integers(0, 10**9))}@example.org>")
    if draw(st.booleans()):
        headers.append(f"Date: {draw(st.sampled_from(['Thu, 3 Dec 2026 10:00 +0200', 'junk']))}")
    if draw(st.booleans()):
        headers.append(draw(st.sampled_from(["Auto-Submitted: auto-replied", "Precedence: bulk"])))
    if draw(st.booleans()):
        headers.append(f"X-Extra: {draw(header_value())}")
    body = draw(tree(draw(st.integers(0, 3))))
    raw = "\r\n".join(headers).encode("utf-8", "surrogateescape") + b"\r\nMIME-Version: 1.0\r\n"
    return raw + body


@given(message())
@FUZZ
def test_the_parser_never_raises_and_never_leaves_surrogates(raw: bytes) -> None:
    try:
        parsed = parse(raw)
    except ParseError:
        return
    for text in (parsed.text, parsed.subject, parsed.html or "", *parsed.defects):
        text.encode("utf-8")  # no lone surrogates
    for a in parsed.attachments:
        assert "/" not in a.filename and "\\" not in a.filename


@pytest.fixture(scope="module")
def gateway_probe() -> Iterator[Probe]:
    with probe() as p:
        yield p


WORKER_FUZZ = settings(FUZZ, max_examples=EXAMPLES or 40)


@given(raw=message(), mail_from=st.sampled_from(["c@example.org", "", None]))
@WORKER_FUZZ
def test_every_generated_message_ends_in_a_recorded_state(
    gateway_probe: Probe, raw: bytes, mail_from: str | None
) -> None:
    r = gateway_probe.feed(raw, mail_from=mail_from)
    assert r.state in ("processed", "held", "discarded"), r
    assert r.reason, r
    assert r.reason not in ("crash", "unparseable"), r
