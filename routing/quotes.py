"""Reply splitting (interim minimal version; replaced by the full module)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReplyParts:
    new_text: str
    quoted: str = ""
    signature: str = ""


@dataclass(frozen=True)
class Command:
    name: str
    args: list[str] = field(default_factory=list)


_QUOTE_HEAD = re.compile(
    r"^(On .* wrote:|.* пише:|.* писав\(ла\):|.* написал\(а\):|-----Original Message-----)\s*$"
)


def split_reply(text: str, html: str | None = None) -> ReplyParts:
    lines = text.splitlines()
    out = []
    for i, ln in enumerate(lines):
        if ln.startswith(">") or _QUOTE_HEAD.match(ln.strip()):
            return ReplyParts("\n".join(out).strip(), "\n".join(lines[i:]))
        out.append(ln)
    return ReplyParts("\n".join(out).strip())


def extract_commands(text: str) -> tuple[list[Command], str]:
    lines = text.strip().splitlines()
    cmds = []
    while lines and lines[0].strip().startswith("#"):
        parts = lines.pop(0).strip()[1:].split()
        if parts:
            cmds.append(Command(parts[0].lower(), parts[1:]))
    return cmds, "\n".join(lines).strip()
