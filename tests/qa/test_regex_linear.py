"""No pattern over untrusted text can backtrack.

`^\\s*-*\\s*(...)` with MULTILINE cost a worker 72 s of CPU on a 5.4 KB bounce, and 1,000
empty lines froze `appeals run` for minutes. Every pattern in `gateway`, `routing` and
`classifier` is a `saferegex.Pattern` (RE2); this module

1. refuses the standard `re` module in those packages, except where the text is ours;
2. finds every `saferegex.Pattern` those modules define (module attributes, and inside
   the tuples, lists and dicts they hold), plus the ones built from settings;
3. times each on adversarial text (long runs of whitespace, dashes, blank lines, the
   pattern's own characters) at two sizes, as a ratio to a plain scan of the same text.
   A backtracking pattern grows with the square or cube of the run: its ratio at the
   larger size is many times its ratio at the smaller one, and far above the bound.

Ratios, not absolute times: the machine is shared and slow or fast by the minute.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import saferegex
from routing.config import RegistrationConfig
from routing.numbering import reg_number_pattern

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "routing", "classifier")
# Modules that may use `re`: the text they match is the gateway's own.
STDLIB_RE_ALLOWED = {
    "gateway/settings.py": "pydantic's error messages about settings.toml",
    "classifier/registry.py": "model version directory names the registry wrote",
}

SMALL, LARGE = 10_000, 40_000
# Linear work keeps the ratio to the plain scan about the same at 4x the size; a
# quadratic pattern's ratio grows about 4x, a cubic one's 16x. The bound on growth
# leaves room for a noisy machine; the absolute bound catches a blow-up at either size.
MAX_GROWTH = 2.5
MAX_RATIO = 20_000


def _modules() -> Iterator[Any]:
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, name + "."):
            if info.name.endswith("__main__"):
                continue
            yield importlib.import_module(info.name)


def _patterns_in(value: Any, depth: int = 0) -> Iterator[saferegex.Pattern[Any]]:
    if isinstance(value, saferegex.Pattern):
        yield value
    elif depth < 3 and isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from _patterns_in(item, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for item in value.values():
            yield from _patterns_in(item, depth + 1)


def all_patterns() -> dict[str, saferegex.Pattern[Any]]:
    found: dict[str, saferegex.Pattern[Any]] = {}
    seen: set[int] = set()
    for module in _modules():
        for attr, value in vars(module).items():
            for i, p in enumerate(_patterns_in(value)):
                if id(p) not in seen:  # a name imported elsewhere is the same pattern
                    seen.add(id(p))
                    found[f"{module.__name__}.{attr}[{i}]"] = p
    found["routing.numbering.reg_number_pattern(default)"] = reg_number_pattern(
        RegistrationConfig("{series}-{year}-{seq:06d}", "A", "I", ())
    )
    return found


PATTERNS = all_patterns()


def test_the_collection_finds_the_patterns_that_once_backtracked() -> None:
    names = " ".join(PATTERNS)
    assert "routing.machine_mail._RETURNED_MARKER" in names
    assert "routing.quotes._QUOTE_HEADERS" in names
    assert "classifier.normalise._WORD" in names
    assert len(PATTERNS) >= 60, sorted(PATTERNS)


def test_no_backtracking_regex_module_in_the_packages() -> None:
    offenders = []
    for name in PACKAGES:
        for path in sorted((REPO / name).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            tree = ast.parse(path.read_text(), rel)
            for node in ast.walk(tree):
                imported = []
                if isinstance(node, ast.Import):
                    imported = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    imported = [node.module]
                engines = any(n in ("re", "regex", "re2") for n in imported)
                if engines and rel not in STDLIB_RE_ALLOWED:
                    offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"use saferegex (RE2), not re: {offenders}"


def test_saferegex_refuses_what_needs_backtracking() -> None:
    for bad in (r"a(?=b)", r"(?<!\d)5", r"(a)\1", r"\bword\b", r"(?>a+)b"):
        with pytest.raises(saferegex.UnsupportedPattern):
            saferegex.compile(bad)


def test_saferegex_keeps_pythons_unicode_classes() -> None:
    assert saferegex.compile(r"^\w+$").search("Ґанок_ї2")
    assert saferegex.compile(r"\s+").sub(" ", "a\xa0\u2009\tb") == "a b"
    assert saferegex.compile(r"^\d+$").search("٣4")
    assert not saferegex.compile(r"\W").search("Їжак")
    assert saferegex.compile(r"[\w.]+", saferegex.IGNORECASE).findall("ЛИСТ.doc, x") == [
        "ЛИСТ.doc",
        "x",
    ]
    assert saferegex.compile(rb"[^\r\n]+").findall(b"\xff\xfe\r\nab") == [b"\xff\xfe", b"ab"]


def _own_characters(p: saferegex.Pattern[Any]) -> str:
    source = p.pattern if isinstance(p.pattern, str) else p.pattern.decode("latin-1")
    chars = sorted({c for c in source if c not in "\\()[]{}?*+|^$"} | {" ", "\n"})
    return "".join(chars)


def _own_word(p: saferegex.Pattern[Any]) -> str:
    source = p.pattern if isinstance(p.pattern, str) else p.pattern.decode("latin-1")
    words = "".join(c if c.isalpha() or c in "-:.@<>#" else " " for c in source).split()
    return max(words, key=len) if words else "x"


def _inputs(p: saferegex.Pattern[Any]) -> dict[str, Callable[[int], str]]:
    own, word = _own_characters(p), _own_word(p)
    return {
        "spaces": lambda n: " " * n,
        "empty lines": lambda n: "\n" * n,
        "dashes": lambda n: "-" * n,
        "blank lines with spaces": lambda n: " \t \r\n" * (n // 5),
        "dash lines": lambda n: " - \n" * (n // 4),
        "own characters": lambda n: (own * (n // len(own) + 1))[:n],
        "own word repeated": lambda n: (word * (n // len(word) + 1))[:n],
        "own word and spaces": lambda n: ((word + "  ") * (n // (len(word) + 2) + 1))[:n],
    }


def _best(fn: Callable[[], object], runs: int = 3) -> float:
    """Seconds per call, the best of `runs` batches of at least 2 ms each (a single call
    of a few microseconds is all timer noise)."""
    best = float("inf")
    for _ in range(runs):
        calls, elapsed = 0, 0.0
        t0 = time.perf_counter()
        while elapsed < 0.002:
            fn()
            calls += 1
            elapsed = time.perf_counter() - t0
        best = min(best, elapsed / calls)
    return best


def _ratio(p: Any, text: str) -> float:
    subject: Any = text if isinstance(p.pattern, str) else text.encode("latin-1", "replace")

    def run() -> None:
        # finditer is what findall, sub and split do; search is what a verdict does.
        p.search(subject)
        for _ in p.finditer(subject):
            pass

    def scan() -> None:
        subject.count(subject[:1] * 2)
        len(subject.splitlines())

    return _best(run) / max(_best(scan), 1e-7)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_time_is_linear_in_the_text(name: str) -> None:
    p = PATTERNS[name]
    for label, make in _inputs(p).items():
        small, large = _ratio(p, make(SMALL)), _ratio(p, make(LARGE))
        assert large <= MAX_RATIO and small <= MAX_RATIO, (label, small, large)
        if large / small <= MAX_GROWTH:
            continue
        # RE2 changes its matching engine with the size of the text (a bit-state
        # backtracker with a visited-set for small texts, the NFA above), a one-off step
        # in the constant. A pattern that is really super-linear grows again at 4x more.
        again = _ratio(p, make(4 * LARGE))
        assert again <= MAX_RATIO, (label, large, again)
        assert again / large <= MAX_GROWTH, (label, small, large, again)


def test_the_measure_catches_a_backtracking_pattern() -> None:
    """The same measure on the standard engine: a pattern that backtracks is caught."""
    import re

    backtracking = re.compile(r"\s*-*\s*x")
    small, large = _ratio(backtracking, " " * 150), _ratio(backtracking, " " * 600)
    assert large / small > MAX_GROWTH
    linear = saferegex.compile(r"\s*-*\s*x")
    small, large = _ratio(linear, " " * 150), _ratio(linear, " " * 600)
    assert large / small <= MAX_GROWTH
