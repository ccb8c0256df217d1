"""Readers for the deployment files, shared by the QA and the Postfix integration tests:
the fenced blocks of docs/deploy.md (Postfix main.cf, lookup tables, settings fragments),
Postfix's file formats and systemd unit files (tests/ is on the pytest pythonpath)."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEPLOY_DOC = REPO / "docs" / "deploy.md"
UNIT_DIR = REPO / "deploy" / "systemd"

MAIN_CF = "postfix-main.cf"
TRANSPORT = "postfix-transport"
RELAY_RECIPIENTS = "postfix-relay-recipients"

_FENCE = re.compile(
    r"^(?P<fence>`{3,})(?P<info>[^`\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.S | re.M
)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block, in order."""
    return [(m["info"].strip(), m["body"]) for m in _FENCE.finditer(text)]


def doc_blocks(info: str, text: str | None = None) -> list[str]:
    """Bodies of the blocks of docs/deploy.md (or `text`) whose info string is `info`."""
    if text is None:
        text = DEPLOY_DOC.read_text(encoding="utf-8")
    return [body for name, body in fenced_blocks(text) if name == info]


def _logical_lines(text: str) -> list[str]:
    """Postfix's rule: a line starting with whitespace continues the previous one;
    comments and blank lines are dropped."""
    out: list[str] = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[0].isspace() and out:
            out[-1] += " " + raw.strip()
        else:
            out.append(raw.strip())
    return out


def parse_main_cf(text: str) -> dict[str, str]:
    """`name = value` parameters of a main.cf; a parameter given twice is an error."""
    params: dict[str, str] = {}
    for line in _logical_lines(text):
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ValueError(f"main.cf: not a parameter line: {line!r}")
        if name in params:
            raise ValueError(f"main.cf: {name} is set twice")
        params[name] = value.strip()
    return params


def write_main_cf(params: dict[str, str]) -> str:
    return "".join(f"{name} = {value}\n" for name, value in params.items())


def parse_table(text: str) -> dict[str, str]:
    """A Postfix lookup table source (`key whitespace value` per line), keys lower-cased."""
    table: dict[str, str] = {}
    for line in _logical_lines(text):
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise ValueError(f"lookup table: no value in {line!r}")
        key = parts[0].lower()
        if key in table:
            raise ValueError(f"lookup table: {key} is listed twice")
        table[key] = parts[1].strip()
    return table


def split_list(value: str) -> list[str]:
    """A Postfix list parameter (separated by commas and/or whitespace)."""
    return [item for item in re.split(r"[\s,]+", value) if item]


def settings_fragments(text: str | None = None) -> list[dict[str, Any]]:
    """The settings examples of docs/deploy.md: every ```toml block, parsed."""
    return [tomllib.loads(body) for body in doc_blocks("toml", text)]


def merge_fragment(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """Apply a settings fragment the way the doc means it: tables key by key, and
    `[[departments]]` entries onto the shipped department with the same code."""
    for key, value in fragment.items():
        if key == "departments":
            by_code = {d["code"]: d for d in base.setdefault("departments", [])}
            for dept in value:
                if dept["code"] in by_code:
                    by_code[dept["code"]].update(dept)
                else:
                    base["departments"].append(dict(dept))
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_fragment(base[key], value)
        else:
            base[key] = value
    return base


# -- systemd --------------------------------------------------------------------------------
def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a systemd unit file -> (key, value) pairs in order (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None:
            raise ValueError(f"unit file: not a setting: {line!r}")
        current.append((key.strip(), value.strip()))
    if pending:
        raise ValueError("unit file: ends with a continuation backslash")
    return sections


def unit_values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def exec_argv(value: str) -> list[str]:
    """An Exec*= command line as argv, without systemd's `-@:+!` prefixes."""
    argv = shlex.split(value)
    if argv:
        argv[0] = argv[0].lstrip("-@:+!")
    return argv


def parse_appeals_command(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
    """Parse `args` with the real `appeals` parser; ValueError (with argparse's message)
    when the command line would not run."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            ns = parser.parse_args(args)
    except SystemExit as exc:
        raise ValueError(
            f"`appeals {' '.join(args)}` is refused: {err.getvalue().strip()}"
        ) from exc
    if not callable(getattr(ns, "handler", None)):
        raise ValueError(f"`appeals {' '.join(args)}` names no command")
    return ns
