"""Webhooks: the appeals' events as signed JSON to registered URLs, from a durable queue.

Queueing. `install` hooks the session factory: after every flush that created an appeal
or changed its state, department or answer, one `webhook_delivery` row per subscribed
webhook is inserted on the same connection, so the event commits with the change that
caused it or not at all (the transactional outbox the letters use), whichever code made
the change (mail, the console, the API, a command). Events: registered, routed (also
rerouted), answered (any answer relayed), closed (any finished state: final answer,
returned, not considered, forwarded, duplicate). "overdue" is computed, never stored on
the appeal, so `enqueue_overdue` finds open appeals past their due date; its dedup key
makes it once per appeal and webhook.

Delivery (the sender role, beside the outbox): the oldest undelivered event of each
(webhook, appeal) pair is claimed with a lease, POSTed, and marked sent on a 2xx answer;
anything else is retried with exponential backoff until `max_attempts`, then marked
failed (`appeals webhook list` counts them per webhook). Because only each pair's oldest pending
event is ever in flight, a receiver sees an appeal's events in order. A crash between the
POST and the commit sends the event again with the same delivery id: delivery is at least
once, and `X-Appeal-Delivery` lets the receiver drop the repeat (exactly once per id).

Signature: `X-Appeal-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
the timestamp in the MAC lets a receiver refuse old replays. The payload carries no
personal data (number, kind, state, department code, dates, result).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import String, Table, and_, exists, func, insert, literal, select, update
from sqlalchemy import cast as sa_cast
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, attributes, sessionmaker

from models import Appeal, Department, Webhook, WebhookDelivery
from routing.lifecycle import CLOSED_STATES, OPEN_STATES
from routing.ports import Clock

log = logging.getLogger(__name__)

EVENTS = ("registered", "routed", "answered", "overdue", "closed")
# Every finished state is "closed" for a receiver; `state` in the payload says which.
_FINISHED = frozenset({*CLOSED_STATES, "duplicate"})


@dataclass(frozen=True)
class WebhookConfig:
    timeout_seconds: float = 10.0
    first_retry_seconds: float = 30.0
    max_retry_seconds: float = 3600.0
    max_attempts: int = 12
    lease_seconds: float = 60.0
    overdue_scan_seconds: float = 300.0
    timezone: str = "Europe/Kyiv"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (and the tests): the signature header matches the body."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t = parts.get("t", "")
    if not t.isdigit():
        return False
    return hmac.compare_digest(sign(secret, int(t), body), header)


# -- queueing ------------------------------------------------------------------------
def _events_of(appeal: Appeal, new: bool) -> list[str]:
    out: list[str] = []
    state = attributes.get_history(appeal, "state")
    answered = attributes.get_history(appeal, "answered_at")
    dept = attributes.get_history(appeal, "department_id")
    if new:
        out.append("registered")
        if appeal.state == "routed":
            out.append("routed")
    else:
        if state.added and state.added[0] == "routed":
            out.append("routed")
        elif dept.added and dept.deleted and appeal.state in OPEN_STATES:
            out.append("routed")  # given to another department
    if answered.added and answered.added[0] is not None:
        out.append("answered")
    if appeal.state in _FINISHED and (new or state.added):
        out.append("closed")
    return out


def payload_of(appeal: Appeal, department: str | None) -> dict[str, Any]:
    return {
        "reg_no": appeal.reg_no,
        "kind": appeal.kind,
        "state": appeal.state,
        "department": department,
        "received_at": appeal.received_at.isoformat() if appeal.received_at else None,
        "due_date": appeal.due_date.isoformat() if appeal.due_date else None,
        "receipt_form": appeal.receipt_form,
        "result": appeal.result,
    }


def _queue(
    session: Session, items: Sequence[tuple[Appeal, str]], now: datetime, dedup: bool = False
) -> int:
    conn = session.connection()
    hooks = conn.execute(select(Webhook.id, Webhook.events).where(Webhook.active.is_(True))).all()
    if not hooks or not items:
        return 0
    dept_ids = {a.department_id for a, _ in items if a.department_id is not None}
    codes = (
        dict(
            conn.execute(
                select(Department.id, Department.code).where(Department.id.in_(dept_ids))
            ).all()
        )
        if dept_ids
        else {}
    )
    rows = []
    for appeal, name in items:
        body = payload_of(appeal, codes.get(appeal.department_id or 0))
        for hook_id, events in hooks:
            if name not in (events or EVENTS):
                continue
            delivery_id = str(uuid.uuid4())
            rows.append(
                {
                    "webhook_id": hook_id,
                    "appeal_id": appeal.id,
                    "delivery_id": delivery_id,
                    "event": name,
                    "dedup_key": f"{name}:{appeal.id}" if dedup else None,
                    "payload": {
                        "delivery_id": delivery_id,
                        "event": name,
                        "occurred_at": now.isoformat(),
                        "appeal": body,
                    },
                    "state": "queued",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )
    table = cast(Table, WebhookDelivery.__table__)
    for row in rows:  # one by one: the ids keep the order of the events
        conn.execute(insert(table), row)
    return len(rows)


def install(sessions: sessionmaker[Session], clock: Clock) -> None:
    """Queue webhook events from every flush of this session factory's sessions."""

    def after_flush(session: Session, _ctx: Any) -> None:
        items: list[tuple[Appeal, str]] = []
        for obj in list(session.new) + list(session.dirty):
            if isinstance(obj, Appeal):
                items += [(obj, e) for e in _events_of(obj, obj in session.new)]
        if items:
            _queue(session, items, clock.now())

    sa_event.listen(sessions, "after_flush", after_flush)


def enqueue_overdue(session: Session, today: date, now: datetime) -> int:
    """ "overdue" for open appeals past their due date, once per appeal and webhook."""
    hook_ids = [
        h.id
        for h in session.execute(select(Webhook.id, Webhook.events).where(Webhook.active.is_(True)))
        if "overdue" in (h.events or EVENTS)
    ]
    if not hook_ids:
        return 0
    d = WebhookDelivery
    key = literal("overdue:").concat(sa_cast(Appeal.id, String))
    done = exists().where(and_(d.appeal_id == Appeal.id, d.dedup_key == key))
    late = session.scalars(
        select(Appeal)
        .where(Appeal.state.in_(OPEN_STATES), Appeal.due_date < today, ~done)
        .order_by(Appeal.id)
        .limit(500)
    ).all()
    return _queue(session, [(a, "overdue") for a in late], now, dedup=True)


# -- delivery ------------------------------------------------------------------------
class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is a failure: the receiver's address is what was registered


class WebhookSender:
    """Delivers due webhook events; `run_once` is one step of the sender role's loop."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, cfg: WebhookConfig) -> None:
        self.sessions = sessions
        self.clock = clock
        self.cfg = cfg
        self._opener = urllib.request.build_opener(_NoRedirects)
        self._last_scan: datetime | None = None

    def _scan_overdue(self, now: datetime) -> None:
        if self._last_scan is not None and now - self._last_scan < timedelta(
            seconds=self.cfg.overdue_scan_seconds
        ):
            return
        self._last_scan = now
        today = now.astimezone(ZoneInfo(self.cfg.timezone)).date()
        with self.sessions.begin() as s:
            enqueue_overdue(s, today, now)

    def run_once(self, limit: int = 20) -> int:
        now = self.clock.now()
        self._scan_overdue(now)
        owner = uuid.uuid4().hex
        claimed = self._claim(now, limit, owner)
        for delivery in claimed:
            try:
                self._deliver(*delivery, owner=owner)
            except Exception:
                log.exception(
                    "webhook delivery %d: step failed; retried after the lease", delivery[0]
                )
        return len(claimed)

    def _claim(
        self, now: datetime, limit: int, owner: str
    ) -> list[tuple[int, str, str, bytes, int]]:
        d = WebhookDelivery
        table = cast(Table, d.__table__)
        pending = (d.state == "queued") | (d.state == "sending")
        with self.sessions.begin() as s:
            # The head of each (webhook, appeal) pair: later events wait for it.
            heads = (
                select(func.min(d.id))
                .where(pending)
                .group_by(d.webhook_id, d.appeal_id)
                .scalar_subquery()
            )
            due = s.execute(
                select(d.id, d.state, d.lease_until, d.next_attempt_at)
                .where(d.id.in_(heads))
                .order_by(d.id)
                .limit(limit * 4)
            ).all()
            ids = [
                r.id
                for r in due
                if (r.state == "queued" and r.next_attempt_at <= now)
                or (r.state == "sending" and (r.lease_until is None or r.lease_until <= now))
            ][:limit]
            out = []
            for did in ids:
                taken = s.connection().execute(
                    update(table)
                    .where(table.c.id == did, table.c.state.in_(("queued", "sending")))
                    .values(
                        state="sending",
                        lease_owner=owner,
                        lease_until=now + timedelta(seconds=self.cfg.lease_seconds),
                        attempts=table.c.attempts + 1,
                    )
                )
                if taken.rowcount != 1:
                    continue
                row = s.execute(
                    select(d.id, d.payload, d.attempts, Webhook.url, Webhook.secret)
                    .join(Webhook, Webhook.id == d.webhook_id)
                    .where(d.id == did)
                ).one()
                body = json.dumps(row.payload, ensure_ascii=False, sort_keys=True).encode()
                out.append((row.id, row.url, row.secret, body, int(row.attempts)))
        return out

    def _deliver(
        self, did: int, url: str, secret: str, body: bytes, attempts: int, *, owner: str
    ) -> None:
        ts = int(self.clock.now().timestamp())
        payload = json.loads(body)
        req = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "appeal-gateway-webhooks",
                "X-Appeal-Delivery": payload["delivery_id"],
                "X-Appeal-Event": payload["event"],
                "X-Appeal-Signature": sign(secret, ts, body),
            },
        )
        error = ""
        try:
            with self._opener.open(req, timeout=self.cfg.timeout_seconds) as resp:
                status = int(resp.status)
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            error = type(exc).__name__
        now = self.clock.now()
        table = cast(Table, WebhookDelivery.__table__)
        mine = (table.c.id == did) & (table.c.lease_owner == owner) & (table.c.state == "sending")
        with self.sessions.begin() as s:
            if not error:
                s.execute(
                    update(table)
                    .where(mine)
                    .values(state="sent", sent_at=now, lease_until=None, last_error=None)
                )
                return
            if attempts >= self.cfg.max_attempts:
                log.warning(
                    "webhook delivery %d failed for good after %d attempts: %s",
                    did,
                    attempts,
                    error,
                )
                s.execute(
                    update(table)
                    .where(mine)
                    .values(state="failed", lease_until=None, last_error=error)
                )
                return
            delay = min(
                self.cfg.first_retry_seconds * 2 ** (attempts - 1), self.cfg.max_retry_seconds
            )
            log.info("webhook delivery %d: %s; retry in %.0f s", did, error, delay)
            s.execute(
                update(table)
                .where(mine)
                .values(
                    state="queued",
                    next_attempt_at=now + timedelta(seconds=delay),
                    lease_until=None,
                    last_error=error,
                )
            )


# -- registration (appeals webhook ...) ------------------------------------------------
def add_webhook(
    sessions: sessionmaker[Session], url: str, events: Sequence[str], *, now: datetime
) -> tuple[int, str]:
    """Register a URL; returns its id and the secret that signs its deliveries."""
    if not url.startswith(("https://", "http://")) or len(url) > 2000:
        raise ValueError(f"{url!r} is not an http(s) URL")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValueError(f"unknown event(s) {', '.join(unknown)}; known: {', '.join(EVENTS)}")
    secret = new_secret()
    with sessions.begin() as s:
        hook = Webhook(
            url=url, secret=secret, events=list(events or EVENTS), active=True, created_at=now
        )
        s.add(hook)
        s.flush()
        return hook.id, secret


def remove_webhook(sessions: sessionmaker[Session], hook_id: int) -> bool:
    """Stop deliveries to a webhook (its queue is kept for the record)."""
    with sessions.begin() as s:
        hook = s.get(Webhook, hook_id)
        if hook is None:
            return False
        hook.active = False
        return True


def list_webhooks(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    d = WebhookDelivery
    with sessions() as s:
        counts: dict[tuple[int, str], int] = {
            (w, st): n
            for w, st, n in s.execute(
                select(d.webhook_id, d.state, func.count()).group_by(d.webhook_id, d.state)
            )
        }
        return [
            {
                "id": h.id,
                "url": h.url,
                "events": list(h.events),
                "active": h.active,
                **{st: counts.get((h.id, st), 0) for st in ("queued", "sending", "sent", "failed")},
            }
            for h in s.scalars(select(Webhook).order_by(Webhook.id))
        ]
