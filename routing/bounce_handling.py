"""What a recognised bounce does: find the message it is about, record it, and react.

The bounce is linked to our outbound message by the VERP envelope sender we used
(`bounces+<token>@<reply domain>`, so even a bounce that quotes nothing names its message)
or, failing that, by one of our Message-IDs returned in it. Then per failed recipient:
- a permanent failure (5.x.x, except mailbox full) of a citizen's address flags the appeal:
  the answer or acknowledgement could not be delivered, and staff must use another channel;
- a permanent failure of a department's address alerts the admin (appeals would otherwise
  wait unseen in a dead mailbox);
- temporary failures, delays and full mailboxes are recorded and change nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Appeal, OutboundMessage
from routing.machine_mail import MachineMail
from routing.ports import NoticeSink


@dataclass(frozen=True)
class BounceOutcome:
    outbound_id: int | None
    appeal_id: int | None
    reason: str


def find_outbound(
    session: Session, machine: MachineMail, bounce_prefix: str
) -> OutboundMessage | None:
    if machine.verp_token:
        row = session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.envelope_from.startswith(f"{bounce_prefix}{machine.verp_token}@")
            )
        ).first()
        if row is not None:
            return row
    ids = [m if m.startswith("<") else f"<{m}>" for m in machine.original_message_ids]
    if ids:
        return session.scalars(
            select(OutboundMessage).where(OutboundMessage.message_id.in_(ids))
        ).first()
    return None


def handle_bounce(
    session: Session,
    machine: MachineMail,
    *,
    bounce_prefix: str,
    admin_email: str,
    notices: NoticeSink,
    event: Callable[..., None],
    view: Callable[[Appeal], dict[str, Any]],
) -> BounceOutcome:
    out = find_outbound(session, machine, bounce_prefix)
    if out is None:
        return BounceOutcome(None, None, "bounce-unlinked")
    recipients = {r.lower() for r in out.recipients} | {r.lower() for r in out.failed_recipients}
    failures = [f for f in machine.failures if not f.recipient or f.recipient.lower() in recipients]
    # A bounce that names nobody is about the message's (single) recipient.
    if not failures and len(out.recipients) == 1:
        failures = list(machine.failures)
    permanent = [f for f in failures if f.permanent and not f.mailbox_full]
    event(
        "bounce",
        appeal_id=out.appeal_id,
        outbound=out.id,
        kind=machine.kind,
        permanent=bool(permanent),
        statuses=[f.status for f in failures],
        outbound_kind=out.kind,
    )
    if not permanent:
        return BounceOutcome(out.id, out.appeal_id, "bounce-temporary")
    failed = [f.recipient or out.recipients[0] for f in permanent]
    out.failed_recipients = sorted({*out.failed_recipients, *failed})
    appeal = session.get(Appeal, out.appeal_id) if out.appeal_id else None
    if out.audience == "citizen" and appeal is not None:
        appeal.delivery_failed = True
        event("citizen-undeliverable", appeal_id=appeal.id, outbound=out.id)
    elif out.audience == "department" and appeal is not None:
        notices.add(
            "admin/delivery_failed",
            to=[admin_email],
            context={
                **view(appeal),
                "failure": {
                    "kind": out.kind,
                    "status": permanent[0].status,
                    "diagnostic": permanent[0].diagnostic[:300],
                },
            },
            appeal_id=appeal.id,
        )
        event("department-undeliverable", appeal_id=appeal.id, outbound=out.id)
    return BounceOutcome(out.id, out.appeal_id, "bounce-permanent")
