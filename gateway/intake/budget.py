"""Per-message work budgets for the worker: size, structure, memory and CPU.

A hostile message must never hold the queue: one of 5.4 KB once cost 72 s of CPU and
five of 20 MB took the process to 4.6 GB. Before a message is parsed, `precheck` reads
its bytes in one linear pass without building the MIME tree (its size, its header
block, how many parts and how deep its multipart nesting are) and names the limit it is
over; the worker then holds it with that reason instead of parsing it. While it is
parsed and processed, `CpuBudget` is checked between steps and between the pieces the
parser is fed, so a message whose work runs over its CPU seconds stops there, is held
as `over-budget-cpu`, and the next message goes on.

Memory: parsing holds the message a small constant number of times (the bytes, the
parsed tree with its bodies, the decoded attachments; `tests/qa/test_message_memory.py`
measures it). `MEMORY_FACTOR` is that measured multiple with room to spare; a message
whose size times the factor does not fit in `memory_mb` is held as `over-budget-memory`
before anything is read into memory but its bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

import saferegex

# Peak memory while a message is parsed and processed, as a multiple of its size
# (measured 7.5x RSS growth for a 20 MB message in one base64 part; see the module doc).
MEMORY_FACTOR = 10


@dataclass(frozen=True)
class MessageLimits:
    max_message_bytes: int = 25 * 1024 * 1024
    max_header_bytes: int = 256 * 1024
    max_mime_parts: int = 500
    max_mime_depth: int = 20
    message_cpu_seconds: float = 20.0
    memory_mb: int = 1024


class OverBudget(Exception):
    """The message used up its CPU seconds; `reason` is the hold reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class CpuBudget:
    """CPU seconds of the current thread since the message was started (`time.thread_time`
    in the worker; injected so tests can drive it)."""

    def __init__(self, seconds: float, cpu_clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self.cpu_clock = cpu_clock
        self.start = cpu_clock()

    @property
    def used(self) -> float:
        return self.cpu_clock() - self.start

    def check(self, step: str) -> None:
        if self.used > self.seconds:
            raise OverBudget(
                "over-budget-cpu", f"{step}: {self.used:.1f} s of CPU > {self.seconds:g} s"
            )


# A multipart Content-Type header with its folded continuation lines, and the boundary
# parameter inside it (RFC 2046 §5.1.1: 1 to 70 characters; 200 tolerated).
_MULTIPART_HEADER = saferegex.compile(
    rb"(?im)^content-type:[ \t]*multipart/[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*"
)
_BOUNDARY = saferegex.compile(rb'(?i)boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))')


def header_bytes(raw: bytes) -> int:
    """Length of the header block: up to the first empty line (RFC 5322 §2.1)."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i != -1]
    return min(ends) if ends else len(raw)


def precheck(raw: bytes, limits: MessageLimits) -> tuple[str, str] | None:
    """(reason, detail) of the first limit `raw` is over, or None. Linear in the size and
    never more than `max_mime_parts` steps of Python per message."""
    size = len(raw)
    if size > limits.max_message_bytes:
        return "too-large", f"{size} bytes > {limits.max_message_bytes}"
    if size * MEMORY_FACTOR > limits.memory_mb * 1024 * 1024:
        return "over-budget-memory", f"{size} bytes x {MEMORY_FACTOR} > {limits.memory_mb} MB"
    head = header_bytes(raw)
    if head > limits.max_header_bytes:
        return "headers-too-large", f"{head} header bytes > {limits.max_header_bytes}"
    # The multipart containers, in order: (position, boundary).
    declared: list[tuple[int, bytes]] = []
    for m in islice(_MULTIPART_HEADER.finditer(raw), limits.max_mime_parts + 1):
        b = _BOUNDARY.search(m.group(0))
        if b is not None:
            declared.append((m.start(), b.group(1) or b.group(2)))
    if len(declared) > limits.max_mime_parts:
        return "too-many-parts", f"more than {limits.max_mime_parts} multipart containers"
    if not declared:
        return None
    boundaries = sorted({b for _, b in declared}, key=len, reverse=True)
    delimiter = saferegex.compile(
        rb"(?m)^--(" + b"|".join(saferegex.escape_bytes(b) for b in boundaries) + rb")(--)?"
    )
    delimiters = [
        (m.start(), m.group(1), m.group(2) is not None)
        for m in islice(delimiter.finditer(raw), limits.max_mime_parts + 2)
    ]
    parts = sum(1 for _, _, closing in delimiters if not closing)
    if parts > limits.max_mime_parts:
        return "too-many-parts", f"more than {limits.max_mime_parts} MIME parts"
    depth = _depth(declared, delimiters)
    if depth > limits.max_mime_depth:
        return "too-deep", f"multipart nesting {depth} > {limits.max_mime_depth}"
    return None


def _depth(declared: list[tuple[int, bytes]], delimiters: list[tuple[int, bytes, bool]]) -> int:
    """How deep the multipart containers nest: a container is open from its Content-Type
    to its close delimiter (`--boundary--`). A container never closed counts as open to
    the end, so broken mail can only look deeper than it is, never shallower."""
    events = sorted(
        [(pos, 0, b, False) for pos, b in declared]
        + [(pos, 1, b, closing) for pos, b, closing in delimiters]
    )
    open_: list[bytes] = []
    deepest = 0
    for _, kind, boundary, closing in events:
        if kind == 0:
            open_.append(boundary)
            deepest = max(deepest, len(open_))
        elif closing and boundary in open_:
            while open_ and open_.pop() != boundary:
                pass
    return deepest
