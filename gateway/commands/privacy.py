"""`appeals purge` and `appeals erase --citizen ADDRESS`: personal data past retention, and
a person's request to destroy theirs (routing.retention says what is erased and why).
Output and events carry counts and registration numbers only, never the address."""

from __future__ import annotations

from gateway.app import App
from gateway.scheduler import purge_personal_data
from routing.retention import Erased, erase_citizen


def purge(app: App) -> Erased:
    """Everything past its term, in batches until nothing is left."""
    total = Erased()
    while True:
        done = purge_personal_data(app)
        total.appeals += done.appeals
        total.attachments += done.attachments
        total.inbound += done.inbound
        total.outbound += done.outbound
        if not done:
            return total


def erase(app: App, address: str, actor: str) -> Erased:
    with app.sessions.begin() as s:
        return erase_citizen(s, app.clock.now(), address, app.rawstore.erase, actor)


def describe(done: Erased) -> str:
    lines = [
        f"erased: {done.appeals} appeal(s), {done.attachments} file(s), "
        f"{done.inbound} raw message(s), {done.outbound} letter(s)"
    ]
    if done.kept_open:
        lines.append("kept (still open; erase again once finished): " + ", ".join(done.kept_open))
    return "\n".join(lines)
