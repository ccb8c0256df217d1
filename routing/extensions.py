"""Extending an appeal's term: the one implementation behind a department's `#extend
<days> <reason>` (routing.answers) and the console's "extend" action.

The term is counted from the receipt date within the legal limit (routing.deadlines.extend:
45 days in total for appeals, Law 393/96-ВР Art. 20; 20 working days for requests, Law
2939-VI Art. 20); the reminders are planned again, the extension is an event with the old
and the new due date, and the citizen is told (`citizen/extended`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from models import Appeal
from routing.deadlines import ExtensionRefused, WorkCalendar, base_term, extend
from routing.letters import letter
from routing.lifecycle import plan_reminders_again
from routing.numbering import as_kind
from routing.ports import NoticeSink

__all__ = ["ExtensionRefused", "extend_term"]


def extend_term(
    appeal: Appeal,
    days: int,
    reason: str,
    *,
    actor: str,
    calendar: WorkCalendar,
    now: datetime,
    notices: NoticeSink,
    view: Callable[[Appeal], dict[str, Any]],
    event: Callable[..., None],
) -> tuple[date, int]:
    """The new due date and the term in force, or ExtensionRefused (recorded as an event
    `extension-refused` with its code). `event(type, **data)` writes the history row."""
    today = now.astimezone(ZoneInfo(calendar.rules.timezone)).date()
    kind = as_kind(appeal.kind)
    # The term in force, counted from receipt: the base term plus what was granted before.
    term = base_term(kind, calendar.rules) + appeal.extended_days
    try:
        new_due = extend(
            kind,
            appeal.receipt_date,
            appeal.due_date,
            days,
            calendar,
            requested_on=today,
            term_so_far=term,
            urgent=appeal.urgent or appeal.due_at is not None,
        )
    except ExtensionRefused as exc:
        event("extension-refused", appeal_id=appeal.id, actor=actor, days=days, why=exc.code)
        raise
    old = appeal.due_date
    appeal.due_date = new_due
    appeal.due_at = None
    plan_reminders_again(appeal, now)
    # Days (working days for requests) granted so far: the next extension adds to them.
    appeal.extended_days += days
    event(
        "extended",
        appeal_id=appeal.id,
        actor=actor,
        old_due=old.isoformat(),
        new_due=new_due.isoformat(),
        term=term + days,
        reason=reason,
    )
    if appeal.citizen_email:
        notices.add(
            letter("citizen/extended", appeal.kind),
            to=[appeal.citizen_email],
            context={**view(appeal), "extension": {"reason": reason}},
            appeal_id=appeal.id,
            language=appeal.language,
            reply_token_for=appeal.id,
        )
    return new_due, term + days
