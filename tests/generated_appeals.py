"""Distinct, real-shaped appeals in numbers: the letters of Gmail web, Outlook on Windows
and ukr.net webmail (tests/acceptance/letter_clients.py) with a complete Ukrainian appeal
(problem, name, postal address) that differs from every other one in its words, not only
in its digits: the duplicate and mass-appeal fingerprint ignores digits
(routing/duplicates.py), and a load of look-alike letters would be one mass appeal.
Used by the end-to-end test of worker processes and by bench/pipeline.py."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType


def _letter_clients() -> ModuleType:
    # Loaded by its path: putting tests/acceptance on sys.path would let its conftest
    # stand in for the top-level one in every later `import conftest`.
    name = "letter_clients"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).resolve().parent / "acceptance" / "letter_clients.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


letter_clients = _letter_clients()

RCPT = "zhkg@council.example"
CLIENTS = (letter_clients.gmail, letter_clients.outlook, letter_clients.ukrnet)
PROBLEMS = (
    "у під'їзді не працює освітлення",
    "на прибудинковій території не вивозять сміття",
    "тиждень немає гарячої води",
    "у дворі глибока яма на дорозі",
    "не працює ліфт",
    "протікає дах над квартирою",
)
SYLLABLES = ("ба", "ве", "гі", "до", "жу", "за", "ки", "ло", "му", "ні")


def code_word(i: int) -> str:
    """A word of its own for every number (its digits as syllables): "Вегіба" for 120."""
    return "".join(SYLLABLES[int(d)] for d in str(i)).capitalize()


def sender(i: int, tag: str = "") -> str:
    return f"oksana{tag}{i}@example.org"


def appeal(i: int, tag: str = "") -> bytes:
    """Appeal number `i` as its client puts it on the wire (CRLF); `tag` keeps the
    Message-IDs and senders of separate runs apart."""
    client = CLIENTS[i % len(CLIENTS)]
    name = f"Оксана Петренко{i}"
    body = (
        f"Доброго дня!\n\nУ житловому комплексі «{code_word(i)}» "
        f"{PROBLEMS[i % len(PROBLEMS)]}. Прошу вжити заходів.\n\nЗ повагою,\n{name}\n"
        f"м. Луцьк, вул. Соборності, {i % 150 + 1}, кв. {i % 90 + 1}\n"
    )
    raw = client(f"gen{tag}-{i}@example.org", (name, sender(i, tag)), RCPT, f"Звернення {i}", body)
    return re.sub(r"\r?\n", "\r\n", raw).encode()
