"""The outbox sender: delivers queued messages, retries temporary failures with backoff,
marks permanent ones, and records every attempt.

A sender claims a batch of rows under a token of its own (`models.claims.claim_outbound`).
Right before each hand-off it takes that row's lease again, only if the token is still
its own, and records the attempt (`delivery_attempt` with outcome `handoff`, the row's
`attempts` counted) in a transaction committed before the transport is called. So:
- a row whose claim lease ran out while earlier rows of the batch were being sent, and
  that another sender has claimed since, is left to that sender: never handed off twice;
  the lease (`worker.lease_seconds`) needs to outlast one hand-off, not a whole batch;
- an attempt whose sender died during it stays visible, as an attempt row still marked
  `handoff` and in the count; the row is claimed again when its lease expires.

After the hand-off the attempt row gets its outcome in a second short transaction.
What remains at-least-once is the gap between the relay's 250 and that commit: a sender
killed there sends the message again after the lease (SMTP has no way to ask a relay
whether it already took a message). The message keeps its Message-ID, so the duplicate is
the same message to the recipient's MTA and client. The directory transport closes even
that gap: it names each file after the Message-ID and never writes one twice
(`gateway.outbound.transport.DirectoryTransport`).

Every row ends `sent` or `failed` with the reason in `last_error`, never left `sending`:
whatever the transport raises is a failed attempt of that one row, and the rest of the
batch goes on. A letter to a citizen or a department that fails for good is recorded on
its appeal (`citizen-undeliverable` / `department-undeliverable`, as for bounces in
routing.bounce_handling) and the admin is told (`DeliveryAlerts`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import DeliveryError
from gateway.outbound.transport import MailTransport, SendResult
from models import Appeal, DeliveryAttempt, OutboundMessage
from models.claims import claim_outbound
from routing.lifecycle import record_event
from routing.ports import Clock, NoticeSink

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class DeliveryAlerts:
    """How the admin hears of a letter about an appeal that could not be delivered at all:
    a notice queued in the same transaction that marks the row failed."""

    admin_email: str
    notices: Callable[[Session], NoticeSink]
    view: Callable[[Appeal], dict[str, Any]]


class OutboxSender:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        transport: MailTransport,
        clock: Clock,
        *,
        retry_for: timedelta,
        first_retry: timedelta,
        lease: timedelta = timedelta(minutes=5),
        alerts: DeliveryAlerts | None = None,
    ) -> None:
        self.sessions = sessions
        self.transport = transport
        self.clock = clock
        self.retry_for = retry_for
        self.first_retry = first_retry
        self.lease = lease
        self.alerts = alerts

    def run_once(self, limit: int = 20) -> int:
        owner = uuid.uuid4().hex
        with self.sessions.begin() as session:
            ids = claim_outbound(session, self.clock.now(), limit, self.lease, owner)
        for oid in ids:
            try:
                self._deliver(oid, owner)
            except Exception:
                # Our own failure (the database, say), not the relay's: the row's lease
                # expires and it is tried again; the other rows are not held up by it.
                log.exception("outbound %d: delivery step failed; retried after the lease", oid)
        return len(ids)

    def _take(self, oid: int, owner: str) -> tuple[int, list[str], str, bytes] | None:
        """The row's lease taken again under our token, and the attempt recorded, in a
        transaction committed before the hand-off; None if another sender has the row."""
        table = cast(Table, OutboundMessage.__table__)
        with self.sessions.begin() as session:
            now = self.clock.now()
            taken = session.connection().execute(
                update(table)
                .where(table.c.id == oid, table.c.state == "sending", table.c.lease_owner == owner)
                .values(lease_until=now + self.lease, attempts=table.c.attempts + 1)
            )
            if taken.rowcount != 1:
                return None
            row = session.get(OutboundMessage, oid, populate_existing=True)
            assert row is not None
            attempt = DeliveryAttempt(outbound_id=oid, at=now, outcome="handoff")
            session.add(attempt)
            session.flush()
            return attempt.id, list(row.recipients), row.envelope_from, row.raw

    def _deliver(self, oid: int, owner: str) -> None:
        taken = self._take(oid, owner)
        if taken is None:
            log.info("outbound %d: claimed by another sender since; left to it", oid)
            return
        attempt_id, recipients, envelope_from, raw = taken
        error: DeliveryError | None = None
        result = SendResult()
        try:
            result = self.transport.send(envelope_from, recipients, raw)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:
            # A transport bug must not leave the row `sending` for ever: it counts as a
            # temporary failure, so the row is retried and fails for good after retry_for.
            log.warning("outbound %d: transport raised %s", oid, type(exc).__name__)
            error = DeliveryError(f"transport error: {type(exc).__name__}", permanent=False)
        refused = result.refused
        with self.sessions.begin() as session:
            row = session.get(OutboundMessage, oid, with_for_update=True)
            assert row is not None
            attempt = session.get(DeliveryAttempt, attempt_id)
            assert attempt is not None
            outcomes = _Outcomes(session, attempt)
            now = self.clock.now()
            if row.lease_owner != owner or row.state != "sending":
                # The hand-off outlasted the lease and another sender took the row: it
                # decides the row's state; this attempt's outcome is still recorded.
                log.warning("outbound %d: lease lost during the hand-off", oid)
                if error is not None:
                    outcomes.add(now, "permanent" if error.permanent else "temporary")
                else:
                    outcomes.add(now, "sent", detail="lease lost during the hand-off")
                return
            row.lease_until = None
            row.lease_owner = None
            if error is not None:
                outcome = "permanent" if error.permanent else "temporary"
                outcomes.add(now, outcome, code=error.code, detail=str(error))
                if error.permanent:
                    self._fail(session, row, recipients, str(error), str(error.code or ""))
                else:
                    self._retry(session, row, recipients, str(error))
                return
            permanent = [r for r, (code, _) in refused.items() if code >= 500]
            temporary = [r for r, (code, _) in refused.items() if code < 500]
            for _r, (code, text) in refused.items():
                outcomes.add(
                    now, "permanent" if code >= 500 else "temporary", code=code, detail=text[:500]
                )
            why = "; ".join(f"{code} {text}" for code, text in refused.values())[:900]
            if permanent:
                row.failed_recipients = [*row.failed_recipients, *permanent]
                first = str(refused[permanent[0]][0])
                self._flag_appeal(session, row, permanent, f"refused: {why}", first)
            if temporary:
                self._retry(session, row, temporary, f"some recipients deferred: {why}")
                return
            if len(permanent) == len(recipients):
                row.state = "failed"
                row.last_error = f"all recipients refused: {why}"
                log.warning("outbound %d failed: every recipient refused (%s)", row.id, row.kind)
                return
            outcomes.add(now, "sent", detail=result.note or None)
            row.state = "sent"
            row.sent_at = now
            row.last_error = None

    def _retry(self, session: Session, row: OutboundMessage, pending: list[str], why: str) -> None:
        now = self.clock.now()
        if now - row.created_at >= self.retry_for:
            self._fail(session, row, pending, f"gave up after {row.attempts} attempts: {why}")
            return
        backoff = min(self.first_retry * (2 ** max(row.attempts - 1, 0)), MAX_BACKOFF)
        row.recipients = pending
        row.state = "queued"
        row.next_attempt_at = now + backoff
        row.last_error = why[:1000]
        log.info("outbound %d deferred, attempt %d, next in %s", row.id, row.attempts, backoff)

    def _fail(
        self, session: Session, row: OutboundMessage, failed: list[str], why: str, status: str = ""
    ) -> None:
        row.state = "failed"
        row.last_error = why[:1000]
        row.failed_recipients = [*row.failed_recipients, *failed]
        self._flag_appeal(session, row, failed, why, status)
        log.warning("outbound %d failed permanently (%s)", row.id, row.kind)

    def _flag_appeal(
        self, session: Session, row: OutboundMessage, failed: list[str], why: str, status: str
    ) -> None:
        """A letter about an appeal cannot reach someone, for good: recorded on the appeal,
        and the admin is told. A citizen's appeal is flagged so staff use another channel
        (the law still requires an answer); a dead department address means appeals wait
        unseen. Mail to the admin itself raises no alert (it would go the same way)."""
        if row.appeal_id is None or row.audience not in ("citizen", "department"):
            return
        appeal = session.get(Appeal, row.appeal_id)
        if appeal is None:
            return
        now = self.clock.now()
        if row.audience == "citizen":
            appeal.delivery_failed = True
        record_event(
            session,
            now,
            f"{row.audience}-undeliverable",
            appeal_id=appeal.id,
            outbound=row.id,
            kind=row.kind,
            reason=why[:500],
        )
        if self.alerts is None or not self.alerts.admin_email:
            return
        failure = {"kind": row.kind, "status": status or "-", "diagnostic": why[:300]}
        self.alerts.notices(session).add(
            f"admin/{'citizen_undeliverable' if row.audience == 'citizen' else 'delivery_failed'}",
            to=[self.alerts.admin_email],
            context={**self.alerts.view(appeal), "failure": failure},
            appeal_id=appeal.id,
        )


class _Outcomes:
    """The outcomes of one attempt: the first fills in the attempt row recorded before
    the hand-off, each further one (another refused recipient) is a row of its own."""

    def __init__(self, session: Session, attempt: DeliveryAttempt) -> None:
        self.session, self.attempt, self.used = session, attempt, False

    def add(
        self, at: datetime, outcome: str, *, code: int | None = None, detail: str | None = None
    ) -> None:
        if not self.used:
            self.used = True
            self.attempt.at, self.attempt.outcome = at, outcome
            self.attempt.code, self.attempt.detail = code, detail
            return
        self.session.add(
            DeliveryAttempt(
                outbound_id=self.attempt.outbound_id,
                at=at,
                outcome=outcome,
                code=code,
                detail=detail,
            )
        )
