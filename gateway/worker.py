"""The worker: claims stored messages and runs the pipeline for each in one transaction.

Mailman's runner loop, with rows instead of queue files:
- a claim sets a lease and counts the attempt *before* any work, so a message that kills
  the process (SIGKILL, OOM) is counted too and retried when its lease expires;
- parsing and classification happen before the write transaction opens (they are pure
  and slow-ish; SQLite has one writer and intake must not wait on them): the topic model
  reads the text before the transaction when it needs nothing else (`classify_text`),
  and the pipeline's own call is answered from that (a model trained with context facts
  is asked inside, where the facts are read);
- any exception rolls the message's transaction back; a separate short transaction
  records the error class (never message content: personal data stays out of logs and
  error columns) and, after `max_attempts`, holds the message with reason `crash`;
- one bad message never blocks the others; `appeals requeue ID` puts a held one back;
- several workers (threads, processes, hosts) on one database never process a message
  twice: every write to a claimed message first re-reads its row with `FOR UPDATE` and
  checks the claim's attempt count (`models.claims.owns_inbound`); a claim that ran past
  its lease and was taken by another worker is left to that worker;
- bounded work per message (`gateway/intake/budget.py`, `[limits]`): a message over the
  size, header, part, nesting or memory limits is held before it is parsed (its size
  from the row, before its bytes are read); one whose parsing and processing run over
  `message_cpu_seconds` of CPU is held as `over-budget-cpu` (the pipeline's transaction
  rolls back), and the worker goes on with the next.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from classifier.context import Context
from classifier.types import Prediction
from gateway.errors import ParseError
from gateway.intake.budget import CpuBudget, MessageLimits, OverBudget, precheck
from gateway.intake.ingest import Ingest
from gateway.intake.parsing import parse
from gateway.logsetup import safe_traceback
from models import InboundMessage
from models.claims import InboundClaim, claim_inbound, owns_inbound
from routing.config import PipelineDeps
from routing.features import model_text
from routing.lifecycle import Outcome, finish_inbound, release_inbound
from routing.mail import ParsedMail
from routing.pipeline import process
from routing.ports import Clock, NoticeSink

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        ingest: Ingest,
        clock: Clock,
        deps: PipelineDeps,
        notifier_for: Callable[[Session], NoticeSink],
        *,
        max_attempts: int = 3,
        lease: timedelta = timedelta(minutes=5),
        limits: MessageLimits = MessageLimits(),
        cpu_clock: Callable[[], float] = time.thread_time,
        classify_text: Callable[[str], tuple[bool, Prediction | None]] | None = None,
    ) -> None:
        self.sessions = sessions
        self.ingest = ingest
        self.clock = clock
        self.deps = deps
        self.notifier_for = notifier_for
        self.max_attempts = max_attempts
        self.lease = lease
        self.limits = limits
        # CPU seconds of this thread: the worker may share its process with the listener.
        self.cpu_clock = cpu_clock
        self.classify_text = classify_text

    def run_once(self, limit: int = 20) -> int:
        with self.sessions.begin() as session:
            claims = claim_inbound(session, self.clock.now(), limit, self.lease)
        # Intake committed the bytes with the rows; the files go to the raw store now, for
        # the whole claim at once (one flush), before any of them is processed.
        try:
            self.ingest.spill(list(claims))
        except OSError:
            log.exception(
                "could not write %d message(s) to the raw store; retried later", len(claims)
            )
        for inbound_id, claim in claims.items():
            self.process_one(inbound_id, claim)
        return len(claims)

    def process_one(self, inbound_id: int, claim: InboundClaim) -> Outcome | None:
        """Run the pipeline for one claimed message. Nothing is read back before the
        write transaction: the claim carries the size and the sha256, and whether the
        claim is still ours is checked under the row lock where it matters."""
        attempts, size = claim.attempts, claim.size
        if attempts > self.max_attempts:
            # It already failed (or killed a worker) max_attempts times.
            self._finish_failed(inbound_id, attempts, "crash", "too many failed attempts")
            return None
        if size > self.limits.max_message_bytes:
            # Not even read: the size intake recorded is enough.
            detail = f"{size} bytes > {self.limits.max_message_bytes}"
            self._finish_failed(inbound_id, attempts, "too-large", detail)
            return None
        budget = CpuBudget(self.limits.message_cpu_seconds, self.cpu_clock)
        try:
            raw = self.ingest.raw_of(inbound_id, claim.raw_sha256)
            over = precheck(raw, self.limits)
            if over is not None:
                self._finish_failed(inbound_id, attempts, over[0], over[1])
                return None
            parsed = parse(raw, budget)
            del raw  # parsed.raw is the same object; nothing else keeps a copy
        except OverBudget as exc:
            self._finish_failed(inbound_id, attempts, exc.reason, exc.detail)
            return None
        except FileNotFoundError:
            self._finish_failed(inbound_id, attempts, "raw-missing", "raw bytes not in the store")
            return None
        except ParseError as exc:
            self._finish_failed(inbound_id, attempts, "unparseable", str(exc)[:500])
            return None
        except Exception as exc:
            # Parsing is deterministic: retrying the same bytes cannot help, so the message
            # is held at once with the error class for an admin (and a parser fix).
            log.error("inbound %d: the parser crashed\n%s", inbound_id, safe_traceback(exc))
            self._finish_failed(
                inbound_id, attempts, "unparseable", f"parser crashed: {type(exc).__name__}"
            )
            return None
        try:
            # Attachment bodies must be on disk before any row names them: the forward to
            # the department and the relayed answer read them back by sha256.
            self.ingest.store_blobs([a.content for a in parsed.attachments])
        except OSError as exc:
            self._record_error(inbound_id, attempts, exc)
            return None
        try:
            # A model that crashes on the text is a crash of this message, as inside.
            deps = self._with_early_prediction(parsed)
            with self.sessions.begin() as session:
                row = _locked(session, inbound_id)
                if not owns_inbound(row, attempts):
                    log.info("inbound %d: claimed again by another worker; left to it", inbound_id)
                    return None
                assert row is not None
                outcome = process(session, row, parsed, deps, self.notifier_for(session))
                # Over budget: raising here rolls the message's rows and letters back.
                budget.check("processing")
                finish_inbound(
                    row,
                    outcome.state,
                    outcome.reason,
                    self.clock.now(),
                    role=outcome.role,
                    appeal_id=outcome.appeal_id,
                )
            log.info("inbound %d -> %s (%s)", inbound_id, outcome.state, outcome.reason)
            return outcome
        except OverBudget as exc:
            self._finish_failed(inbound_id, attempts, exc.reason, exc.detail)
            return None
        except Exception as exc:
            self._record_error(inbound_id, attempts, exc)
            return None

    def _with_early_prediction(self, parsed: ParsedMail) -> PipelineDeps:
        """The pipeline's dependencies with the topic model asked now, outside the write
        transaction (on SQLite the one writer's lock, which intake waits for), when the
        model reads the text alone. The pipeline asks with the same text; any other text
        (or a context model) is classified as before."""
        real = self.deps.classify
        if self.classify_text is None or real is None:
            return self.deps
        read = model_text(parsed)
        known, early = self.classify_text(read)
        if not known:
            return self.deps

        def classify(text: str, context: Context) -> Prediction | None:
            return early if text == read else real(text, context)

        return replace(self.deps, classify=classify)

    def _record_error(self, inbound_id: int, attempts: int, exc: BaseException) -> None:
        # The whole traceback goes to the log, every frame, but no exception message:
        # messages of exceptions raised while handling mail may quote the mail. The row
        # keeps the class and the innermost frame, for `holding-pen` and the digest.
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?"
        detail = f"{type(exc).__name__} at {where}"
        log.error("inbound %d failed: %s\n%s", inbound_id, detail, safe_traceback(exc))
        with self.sessions.begin() as session:
            row = _locked(session, inbound_id)
            if not owns_inbound(row, attempts):
                return
            assert row is not None
            used_up = row.attempts >= self.max_attempts
            release_inbound(
                row,
                hold_reason="crash" if used_up else None,
                detail=detail,
                now=self.clock.now(),
            )
        if used_up:
            log.warning("inbound %d held: crash after %d attempt(s)", inbound_id, self.max_attempts)

    def _finish_failed(self, inbound_id: int, attempts: int, reason: str, detail: str) -> None:
        """Hold the message for a person with `reason`, if it is still ours."""
        with self.sessions.begin() as session:
            row = _locked(session, inbound_id)
            if not owns_inbound(row, attempts):
                return
            assert row is not None
            finish_inbound(row, "held", reason, self.clock.now(), detail=detail)
        log.warning("inbound %d held: %s", inbound_id, reason)


def _locked(session: Session, inbound_id: int) -> InboundMessage | None:
    """The message's row as it is now, locked until the transaction ends (PostgreSQL)."""
    return session.get(InboundMessage, inbound_id, with_for_update=True, populate_existing=True)
