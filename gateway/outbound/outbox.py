"""The outbox sender: delivers queued messages, retries temporary failures with backoff,
marks permanent ones, and records every attempt.

Each claimed row is handled in its own short transaction after the send. A process killed
between the relay's 250 and our commit sends that one message again when the lease
expires (at-least-once); the message keeps its Message-ID, so the duplicate is the same
message to the recipient's client. Everything else is exactly once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import DeliveryError
from gateway.outbound.transport import MailTransport
from models import Appeal, DeliveryAttempt, OutboundMessage
from models.claims import claim_outbound
from routing.ports import Clock

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


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
    ) -> None:
        self.sessions = sessions
        self.transport = transport
        self.clock = clock
        self.retry_for = retry_for
        self.first_retry = first_retry
        self.lease = lease

    def run_once(self, limit: int = 20) -> int:
        with self.sessions.begin() as session:
            ids = claim_outbound(session, self.clock.now(), limit, self.lease)
        for oid in ids:
            self._deliver(oid)
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
                    self._fail(session, row, recipients, str(error))
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
            if permanent:
                row.failed_recipients = [*row.failed_recipients, *permanent]
                self._flag_appeal(session, row, permanent)
            if temporary:
                self._retry(session, row, temporary, "some recipients deferred")
                return
            if len(permanent) == len(recipients):
                row.state = "failed"
                row.last_error = "all recipients refused"
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

    def _fail(self, session: Session, row: OutboundMessage, failed: list[str], why: str) -> None:
        row.state = "failed"
        row.last_error = why[:1000]
        row.failed_recipients = [*row.failed_recipients, *failed]
        self._flag_appeal(session, row, failed)
        log.warning("outbound %d failed permanently (%s)", row.id, row.kind)

    def _flag_appeal(self, session: Session, row: OutboundMessage, failed: list[str]) -> None:
        # The answer or acknowledgement could not reach the citizen: the appeal is flagged
        # so staff can use another channel (the law still requires an answer).
        if row.appeal_id is None or row.audience != "citizen":
            return
        appeal = session.get(Appeal, row.appeal_id)
        if appeal is not None:
            appeal.delivery_failed = True
