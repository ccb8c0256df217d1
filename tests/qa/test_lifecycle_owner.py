"""Nothing outside `routing.lifecycle` assigns an appeal's or an inbound message's state:
read from the source tree, so a new shortcut fails here rather than in production."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OWNER = "routing/lifecycle.py"
# Outbound messages have a delivery life cycle of their own (queued -> sending -> sent |
# failed), kept by the sender that drives it.
OUTBOUND_OWNER = "gateway/outbound/outbox.py"
OWNED_ROWS = {"Appeal", "InboundMessage"}


def state_writes(source: str) -> list[tuple[int, str]]:
    """(line, what) for every `x.state = ...` and every `Appeal(state=...)` in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            for el in t.elts if isinstance(t, ast.Tuple) else [t]:
                if isinstance(el, ast.Attribute) and el.attr == "state":
                    found.append((node.lineno, f"{ast.unparse(el)} ="))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in OWNED_ROWS
            and any(k.arg == "state" for k in node.keywords)
        ):
            found.append((node.lineno, f"{node.func.id}(state=...)"))
    return found


def test_the_scanner_sees_the_shapes_it_forbids() -> None:
    src = (
        "appeal.state = 'closed'\n"
        "a.state, a.reason = 'held', 'x'\n"
        "Appeal(reg_no='A', state='routed')\n"
        "row.attempts = 0\n"
    )
    assert [line for line, _ in state_writes(src)] == [1, 2, 3]


def test_only_the_lifecycle_assigns_states() -> None:
    offenders = []
    for package in ("gateway", "routing", "classifier", "models"):
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel in (OWNER, OUTBOUND_OWNER) or "/migrations/" in rel:
                continue
            offenders += [
                f"{rel}:{line}: {what}"
                for line, what in state_writes(path.read_text(encoding="utf-8"))
            ]
    assert offenders == [], "use routing.lifecycle instead:\n" + "\n".join(offenders)
