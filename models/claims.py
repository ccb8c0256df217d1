"""Claiming work rows safely when several workers (processes, hosts) run at once.

PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` so that concurrent workers take disjoint
rows without waiting on each other. SQLite: every write transaction starts with
`BEGIN IMMEDIATE` (see `models.db`), so there is one writer and the same statements are
safe there too; `skip_locked` is ignored by the SQLite dialect.

A claim sets a lease; a worker that dies leaves the lease to expire and the row is claimed
again. Callers count attempts so a message that keeps killing workers ends up held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from models.tables import InboundMessage, OutboundMessage


@dataclass(frozen=True)
class InboundClaim:
    """What the worker needs of a claimed message before its write transaction: the
    claim's token and what the row says of the bytes (so it reads no row again)."""

    attempts: int
    size: int
    raw_sha256: str


def claim_inbound(
    session: Session, now: datetime, limit: int, lease: timedelta
) -> dict[int, InboundClaim]:
    """Claim up to `limit` inbound messages ready for the pipeline; returns each claimed
    id with its claim (the attempt count after the claim, size, sha256), in id order.

    The attempt count is the claim's fencing token: a claim whose lease ran out (a slow
    batch, a paused process) may be taken again by another worker, which counts one more
    attempt. The first worker then finds a count that is not its own when it opens the
    message's write transaction (`owns_inbound`) and leaves the message alone, so no
    message is processed, acknowledged or forwarded twice however many workers run."""
    ready = or_(
        InboundMessage.state == "received",
        and_(InboundMessage.state == "processing", InboundMessage.lease_until < now),
    )
    ids = list(
        session.scalars(
            select(InboundMessage.id)
            .where(ready)
            .order_by(InboundMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return {}
    claimed = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id.in_(ids))
        .values(
            state="processing",
            lease_until=now + lease,
            attempts=InboundMessage.attempts + 1,
        )
        .returning(
            InboundMessage.id,
            InboundMessage.attempts,
            InboundMessage.size,
            InboundMessage.raw_sha256,
        )
    ).all()
    return {
        row.id: InboundClaim(row.attempts, row.size, row.raw_sha256)
        for row in sorted(claimed, key=lambda r: r.id)
    }


def owns_inbound(row: InboundMessage | None, attempts: int) -> bool:
    """Whether this row is still under the claim that counted `attempts` (read it with
    `FOR UPDATE` inside the write transaction: on PostgreSQL the lock keeps a rival's
    claim off the row until the commit; on SQLite `BEGIN IMMEDIATE` already does)."""
    return row is not None and row.state == "processing" and row.attempts == attempts


def claim_outbound(
    session: Session, now: datetime, limit: int, lease: timedelta, owner: str | None = None
) -> list[int]:
    """Claim up to `limit` outbox rows due for a delivery attempt; returns their ids.

    `owner` is the claim's token: the sender takes each row's lease again, under that
    token, right before its hand-off (gateway.outbound.outbox), so a row whose claim
    lease ran out while earlier rows of the batch were sent is never handed off by two
    senders."""
    ready = or_(
        and_(OutboundMessage.state == "queued", OutboundMessage.next_attempt_at <= now),
        and_(OutboundMessage.state == "sending", OutboundMessage.lease_until < now),
    )
    ids = list(
        session.scalars(
            select(OutboundMessage.id)
            .where(ready)
            .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(ids))
            .values(state="sending", lease_until=now + lease, lease_owner=owner)
        )
    return ids
