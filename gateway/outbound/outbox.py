"""The outbox sender: delivers queued messages, retries temporary failures with backoff,
marks permanent ones, and records every attempt.

Each claimed row is handled in its own short transaction after the send. A process killed
between the relay's 250 and our commit sends that one message again when the lease
expires (at-least-once); the message keeps its Message-ID, so the duplicate is the same
message to the recipient's client. Everything else is exactly once.

Every row ends `sent` or `failed` with the reason in `last_error`, never left `sending`:
whatever the transport raises is a failed attempt of that one row, and the rest of the
batch goes on. A letter to a citizen or a department that fails for good is recorded on
its appeal (`citizen-undeliverable` / `department-undeliverable`, as for bounces in
routing.bounce_handling) and the admin is told (`DeliveryAlerts`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import DeliveryError
from gateway.outbound.transport import MailTransport
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
        with self.sessions.begin() as session:
            ids = claim_outbound(session, self.clock.now(), limit, self.lease)
        for oid in ids:
            try:
                self._deliver(oid)
            except Exception:
                # Our own failure (the database, say), not the relay's: the row's lease
                # expires and it is tried again; the other rows are not held up by it.
                log.exception("outbound %d: delivery step failed; retried after the lease", oid)
        return len(ids)

    def _deliver(self, oid: int) -> None:
        with self.sessions() as session:
            row = session.get(OutboundMessage, oid)
            assert row is not None
            recipients, envelope_from, raw = list(row.recipients), row.envelope_from, row.raw
        error: DeliveryError | None = None
        refused: dict[str, tuple[int, str]] = {}
        try:
            refused = self.transport.send(envelope_from, recipients, raw).refused
        except DeliveryError as exc:
            error = exc
        except Exception as exc:
            # A transport bug must not leave the row `sending` for ever: it counts as a
            # temporary failure, so the row is retried and fails for good after retry_for.
            log.warning("outbound %d: transport raised %s", oid, type(exc).__name__)
            error = DeliveryError(f"transport error: {type(exc).__name__}", permanent=False)
        with self.sessions.begin() as session:
            row = session.get(OutboundMessage, oid)
            assert row is not None
            now = self.clock.now()
            row.attempts += 1
            row.lease_until = None
            if error is not None:
                outcome = "permanent" if error.permanent else "temporary"
                session.add(
                    DeliveryAttempt(
                        outbound_id=oid, at=now, outcome=outcome, code=error.code, detail=str(error)
                    )
                )
                if error.permanent:
                    self._fail(session, row, recipients, str(error), str(error.code or ""))
                else:
                    self._retry(session, row, recipients, str(error))
                return
            permanent = [r for r, (code, _) in refused.items() if code >= 500]
            temporary = [r for r, (code, _) in refused.items() if code < 500]
            for _r, (code, text) in refused.items():
                session.add(
                    DeliveryAttempt(
                        outbound_id=oid,
                        at=now,
                        outcome="permanent" if code >= 500 else "temporary",
                        code=code,
                        detail=text[:500],
                    )
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
            session.add(DeliveryAttempt(outbound_id=oid, at=now, outcome="sent"))
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
