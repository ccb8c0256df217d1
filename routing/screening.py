"""Screening (interim minimal table; the full rule table replaces this module)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from routing.mail import Envelope, ParsedMail


@dataclass(frozen=True)
class ScreeningContext:
    our_addresses: frozenset[str]
    message_id_domain: str
    loop_header: str = "X-Appeal-Gateway"
    spam_flag_header: str = "X-Spam-Flag"
    spam_score_header: str = "X-Spam-Status"
    spam_threshold: float = 5.0
    max_size: int = 25 * 1024 * 1024
    known_outbound_message_id: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class Verdict:
    action: Literal["accept", "discard", "hold", "bounce", "autoreply"]
    rule: str
    reason: str
    machine: Any = None
    hits: tuple[str, ...] = ()


def screen(parsed: ParsedMail, envelope: Envelope, ctx: ScreeningContext) -> Verdict:
    if parsed.header(ctx.loop_header):
        return Verdict("discard", "own-echo", "our own loop marker", hits=("own-echo",))
    auto = (parsed.header("auto-submitted") or "no").strip().lower()
    if not auto.startswith("no"):
        return Verdict("autoreply", "auto-submitted", auto, hits=("auto-submitted",))
    return Verdict("accept", "default", "")


def may_auto_reply_to(address: str | None, ctx: ScreeningContext) -> bool:
    if not address or "@" not in address:
        return False
    a = address.lower()
    local = a.split("@", 1)[0]
    if a in ctx.our_addresses or local in {"mailer-daemon", "postmaster"}:
        return False
    return not local.startswith(("noreply", "no-reply", "do-not-reply", "donotreply"))
