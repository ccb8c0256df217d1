"""Regular expressions over untrusted text, in time linear in the text.

Python's `re` backtracks: `^\\s*-*\\s*(...)` over a run of blank lines cost a worker 72 s
of CPU on a 5.4 KB message. Every pattern the gateway applies to mail goes through this
module instead, which compiles it with RE2 (google-re2): an automaton, no backtracking,
so a search costs O(pattern x text) whatever the text holds.

RE2's character classes are ASCII and Python's are Unicode, so `compile` rewrites the
Perl classes the way Python means them on `str`: `\\w` is `[\\p{L}\\p{N}_]` (what
`str.isalnum()` or `_` is), `\\d` is `\\p{Nd}`, `\\s` is Unicode whitespace. RE2 has no
look-around and only an ASCII `\\b`; `compile` refuses them, and the callers spell the
boundary out (`(?:^|\\W)...`) or check the neighbouring character in code.

`bytes` patterns run in Latin-1 mode, byte for byte, as Python's `re` does on bytes.

The module holds no state: a `Pattern` is a value, compiled where it is defined.
tests/qa/test_regex_linear.py finds every module-level `Pattern` under `gateway`,
`routing` and `classifier` and times it on adversarial text against a plain scan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, AnyStr, Generic

import re2

IGNORECASE = 2  # the values of re.I, re.M and re.S, so call sites read as before
MULTILINE = 8
DOTALL = 16

# Python's meaning of the Perl classes on str (see the module docstring).
_WORD = r"\p{L}\p{N}_"
_DIGIT = r"\p{Nd}"
_SPACE = r"\t\n\x0b\f\r\x1c-\x1f\x85\p{Z}"
_IN_CLASS = {"w": _WORD, "d": _DIGIT, "s": _SPACE}
_OUTSIDE = {
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "d": _DIGIT,
    "D": r"\P{Nd}",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
}


# A match object (re2's, with the `re.Match` methods group/groups/start/end/span).
Match = Any


class UnsupportedPattern(ValueError):
    """The pattern needs backtracking (look-around, back-references) or a Unicode `\\b`."""


def _translate(pattern: str) -> str:
    """`pattern` with Python's Unicode Perl classes spelled as RE2 Unicode classes."""
    out: list[str] = []
    i, in_class, n = 0, False, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e in "pP" and i + 2 < n and pattern[i + 2] == "{":
                close = pattern.index("}", i)
                out.append(pattern[i : close + 1])
                i = close + 1
                continue
            if e == "b" or e == "B":
                if in_class:
                    out.append(r"\x08" if e == "b" else "\\B")
                    i += 2
                    continue
                raise UnsupportedPattern(
                    "RE2's \\b is ASCII-only: write (?:^|\\W) / (?:\\W|$) or check in code"
                )
            if e in "uU":  # Python's \uXXXX and \UXXXXXXXX are RE2's \x{...}
                width = 4 if e == "u" else 8
                out.append("\\x{" + pattern[i + 2 : i + 2 + width] + "}")
                i += 2 + width
                continue
            if e == "Z":
                out.append("\\z")
                i += 2
                continue
            if e.isdigit() and e != "0":
                raise UnsupportedPattern("back-references need backtracking")
            if in_class and e in _IN_CLASS:
                out.append(_IN_CLASS[e])
            elif in_class and e in "WDS":
                raise UnsupportedPattern("a negated Perl class inside [...]: use \\P{...}")
            elif not in_class and e in _OUTSIDE:
                out.append(_OUTSIDE[e])
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            if c == "[" and i + 1 < n and pattern[i + 1] == ":":
                close = pattern.index(":]", i)
                out.append(pattern[i : close + 2])
                i = close + 2
                continue
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            if i + 1 < n and pattern[i + 1] == "^":
                out.append("[^")
                i += 2
            else:
                out.append("[")
                i += 1
            if i < n and pattern[i] == "]":  # a literal ] first in a class
                out.append("\\]")
                i += 1
            continue
        if c == "(" and pattern.startswith(("(?=", "(?!", "(?<=", "(?<!", "(?>"), i):
            raise UnsupportedPattern("look-around and atomic groups need backtracking")
        out.append(c)
        i += 1
    return "".join(out)


def _flag_prefix(flags: int) -> str:
    letters = "".join(
        ch for bit, ch in ((IGNORECASE, "i"), (MULTILINE, "m"), (DOTALL, "s")) if flags & bit
    )
    unknown = flags & ~(IGNORECASE | MULTILINE | DOTALL)
    if unknown:
        raise UnsupportedPattern(f"flags {unknown:#x} are not supported")
    return f"(?{letters})" if letters else ""


class Pattern(Generic[AnyStr]):
    """A compiled pattern with the `re.Pattern` methods the gateway uses."""

    __slots__ = ("_rx", "flags", "pattern")

    def __init__(self, pattern: AnyStr, flags: int = 0) -> None:
        self.pattern: AnyStr = pattern
        self.flags = flags
        options = re2.Options()
        if isinstance(pattern, bytes):
            options.encoding = re2.Options.Encoding.LATIN1
            source: Any = _flag_prefix(flags).encode("ascii") + pattern
        else:
            source = _flag_prefix(flags) + _translate(pattern)
        # The automaton may use more memory than the default 8 MB for a large Unicode
        # alternation; past that RE2 falls back to its (still linear) NFA.
        options.max_mem = 64 << 20
        options.log_errors = False
        try:
            self._rx = re2.compile(source, options)
        except re2.error as err:
            raise UnsupportedPattern(f"{pattern!r}: {err}") from None

    def __repr__(self) -> str:
        return f"saferegex.compile({self.pattern!r}, {self.flags})"

    @property
    def groups(self) -> int:
        return int(self._rx.groups)

    def search(self, text: AnyStr, pos: int = 0) -> Any:
        return self._rx.search(text, pos)

    def match(self, text: AnyStr, pos: int = 0) -> Any:
        return self._rx.match(text, pos)

    def fullmatch(self, text: AnyStr) -> Any:
        return self._rx.fullmatch(text)

    def finditer(self, text: AnyStr) -> Iterator[Any]:
        return iter(self._rx.finditer(text))

    def findall(self, text: AnyStr) -> list[Any]:
        return list(self._rx.findall(text))

    def split(self, text: AnyStr) -> list[AnyStr]:
        return list(self._rx.split(text))

    def sub(self, repl: AnyStr | Callable[[Any], AnyStr], text: AnyStr, count: int = 0) -> AnyStr:
        result: AnyStr = self._rx.sub(repl, text, count)
        return result


def compile(pattern: AnyStr, flags: int = 0) -> Pattern[AnyStr]:
    """`pattern` (Python `re` syntax without look-around) compiled for linear-time matching."""
    return Pattern(pattern, flags)


def escape_bytes(literal: bytes) -> bytes:
    """`literal` as a literal inside a bytes pattern: every byte but ASCII letters and
    digits written as \\x{HH}, which Latin-1 mode reads as that byte."""
    return b"".join(
        bytes([c]) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else b"\\x{%02x}" % c
        for c in literal
    )


def escape(text: str) -> str:
    """`text` as a literal inside a pattern."""
    return str(re2.escape(text))
