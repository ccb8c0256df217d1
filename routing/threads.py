"""Which conversation a letter belongs to: its In-Reply-To and References.

RFC 5322 §3.6.4: a reply's In-Reply-To is the parent's Message-ID, and its References
are the parent's References (or, lacking them, its single In-Reply-To) followed by the
parent's Message-ID. Mail clients (Gmail, Outlook, Thunderbird, ukr.net) put a message
into a conversation by these fields, so:

- every letter to the citizen about an appeal answers the citizen's own letter that
  opened it (acknowledgement, relayed answer, interim answer, extension, forwarding,
  not considered...): the citizen sees one conversation that starts with what they sent;
- the department's letters about an appeal (reminders, follow-ups, confirmations) answer
  the forward that gave the appeal to that department: a conversation of its own, never
  mixed with the citizen's (staff never saw the citizen's message itself).

The conversation a citizen's letter was itself part of (its References) is kept on its
`InboundMessage.info["references"]` at registration.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Appeal, InboundMessage, OutboundMessage
from routing.mail import ParsedMail

# Long References are shortened as RFC 5322 §3.6.4 allows clients to: the first (the
# conversation's root) and the most recent ids are what threading reads.
MAX_REFERENCES = 10

# The letters that give an appeal to a department: each starts the department's thread.
FORWARDS = ("department/assigned", "department/info_assigned", "department/reassigned")


def reply_chain(
    message_id: str | None, references: Sequence[str] = (), in_reply_to: Sequence[str] = ()
) -> list[str]:
    """The References of a reply to a message with these headers, its Message-ID last."""
    if not message_id:
        return []
    before = list(references) or (list(in_reply_to) if len(in_reply_to) == 1 else [])
    chain = [m for m in before if m and m != message_id] + [message_id]
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return chain


def chain_of(parsed: ParsedMail) -> list[str]:
    return reply_chain(parsed.message_id, parsed.references, parsed.in_reply_to)


def citizen_thread(session: Session, appeal: Appeal) -> list[str]:
    """References of a letter to the citizen: the chain of the letter that opened the
    appeal, ending with its Message-ID (which becomes In-Reply-To)."""
    if appeal.inbound_id is None:
        return []
    row = session.execute(
        select(InboundMessage.message_id, InboundMessage.info).where(
            InboundMessage.id == appeal.inbound_id
        )
    ).first()
    if row is None or not row.message_id:
        return []
    earlier = [str(m) for m in (row.info or {}).get("references", ())]
    return reply_chain(row.message_id, earlier)


def department_thread(session: Session, appeal_id: int, recipients: Sequence[str]) -> list[str]:
    """References of a department letter: the latest forward of the appeal to one of these
    recipients (the department now handling it), or none."""
    wanted = {r.lower() for r in recipients}
    rows = session.execute(
        select(OutboundMessage.message_id, OutboundMessage.recipients)
        .where(OutboundMessage.appeal_id == appeal_id, OutboundMessage.kind.in_(FORWARDS))
        .order_by(OutboundMessage.id.desc())
    )
    for message_id, to in rows:
        if wanted & {str(r).lower() for r in to or ()}:
            return [message_id]
    return []


def default_thread(
    session: Session, kind: str, appeal_id: int | None, recipients: Sequence[str]
) -> list[str]:
    """The thread of a letter whose sender named none: by its audience (see above)."""
    if appeal_id is None or kind in FORWARDS:
        return []
    audience = kind.split("/", 1)[0]
    if audience == "citizen":
        appeal = session.get(Appeal, appeal_id)
        return citizen_thread(session, appeal) if appeal is not None else []
    if audience == "department":
        return department_thread(session, appeal_id, recipients)
    return []
