"""The mapped tables. Persistence only: no mail handling, no domain policy.

States are plain strings (documented on each column) so that migrations stay simple and
reports can read them; the allowed transitions live in `routing.lifecycle`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sql_false
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, JSONType, UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class InboundMessage(Base):
    """Every message we accepted, by any path. The raw bytes live in the raw store.

    state: received -> processing -> processed | held | discarded. `reason` is a
    kebab-case code (e.g. `crash`, `unparseable`, `unmatched-reply`, `own-echo`).
    """

    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    raw_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(100))
    mail_from: Mapped[str | None] = mapped_column(String(512))
    rcpt_tos: Mapped[list[str]] = mapped_column(JSONType, default=list)
    peer: Mapped[str | None] = mapped_column(String(100))
    mailbox: Mapped[str | None] = mapped_column(String(100))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), default="received")
    reason: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(30))  # appeal, reply, followup, bounce...
    info: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The received bytes, committed with the row in intake's one transaction, until the
    # worker has written them to the content-addressed raw store; NULL from then on.
    # Deferred: loading a row never drags the message along unless asked for.
    raw_pending: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # When the admin's digest of held mail listed this row (gateway.alerts); cleared when
    # the message is requeued, so a message held again is listed again.
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("mailbox", "uidvalidity", "uid"),
        Index("ix_inbound_message_state_id", "state", "id"),
    )


class MailboxCursor(Base):
    """Where IMAP intake stands in one mailbox (never \\Seen: people read these mailboxes)."""

    __tablename__ = "mailbox_cursor"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Department(Base):
    """An executive body that answers appeals; `code` is what settings and commands use."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(320))  # where forwards go
    intake_addresses: Mapped[list[str]] = mapped_column(JSONType, default=list)
    staff_addresses: Mapped[list[str]] = mapped_column(JSONType, default=list)  # may answer
    staff_domains: Mapped[list[str]] = mapped_column(JSONType, default=list)
    head_email: Mapped[str | None] = mapped_column(String(320))
    is_triage: Mapped[bool] = mapped_column(Boolean, default=False)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# Appeals waiting for the department's answer: the ones reminders and escalations are for
# ("held" ones wait for an admin instead, closed ones for nothing).
AWAITING_ANSWER = ("registered", "routed", "answered")
AWAITING_ANSWER_SQL = "state IN ('registered', 'routed', 'answered')"


class Appeal(Base):
    """A registered appeal or public-information request.

    state: registered, routed (waiting at the department), answered (interim answer
    given), closed (final answer), returned (incomplete, Art. 5), not_considered (Art. 8),
    forwarded_external (Art. 7), held (waiting for a human). Overdue is computed from
    `due_date`/`due_at`, never stored.
    """

    __tablename__ = "appeal"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reg_no: Mapped[str] = mapped_column(String(60), unique=True)
    reg_year: Mapped[int] = mapped_column(Integer)
    reg_seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # appeal | info_request
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    receipt_date: Mapped[date] = mapped_column(Date)  # legal receipt date (Kyiv)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 48-hour requests
    state: Mapped[str] = mapped_column(String(30), default="registered")
    topic: Mapped[str | None] = mapped_column(String(80))
    confidence: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(80))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    citizen_name: Mapped[str | None] = mapped_column(String(300))
    citizen_email: Mapped[str | None] = mapped_column(String(320), index=True)
    citizen_address: Mapped[str | None] = mapped_column(Text)
    citizen_phone: Mapped[str | None] = mapped_column(String(60))
    district: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(5), default="uk")
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    repeat_status: Mapped[str] = mapped_column(String(20), default="primary")
    related_appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"))
    mass_group: Mapped[str | None] = mapped_column(String(64), index=True)
    collective: Mapped[bool] = mapped_column(Boolean, default=False)
    signatories: Mapped[int] = mapped_column(Integer, default=1)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    privileged_category: Mapped[str | None] = mapped_column(String(60))
    priority: Mapped[int] = mapped_column(Integer, default=0)  # 1 = first-priority (Art. 20)
    # Days granted by extensions (working days for requests): the term in force is the
    # base term plus these, counted from `receipt_date` (routing.deadlines.extend).
    extended_days: Mapped[int] = mapped_column(Integer, default=0)
    delivery_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    inbound_id: Mapped[int | None] = mapped_column(BigInteger)  # no FK: avoids a cycle
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flags: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The characteristics of the Classifier of citizens' appeals (resolution No. 858), set
    # at registration by `routing.characteristics`: form of receipt (email | other_body |
    # web_form), sign (primary | repeated | duplicate | multiple | mass), type (proposal |
    # application | complaint), subject (individual | collective | anonymous), topic code.
    receipt_form: Mapped[str | None] = mapped_column(String(20))
    appeal_sign: Mapped[str | None] = mapped_column(String(20))
    appeal_type: Mapped[str | None] = mapped_column(String(20))
    subject_kind: Mapped[str | None] = mapped_column(String(20))
    topic_code: Mapped[str | None] = mapped_column(String(40))
    # Result of consideration: resolved | explained | refused | forwarded | returned |
    # not_considered; NULL while open.
    result: Mapped[str | None] = mapped_column(String(20))
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # characteristic (or "result") -> where its value came from: rule | model | staff | default
    characteristic_sources: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=dict)
    # Personal fields, text and files erased (routing.retention): the register row stays.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the reminder scan next needs to look at this appeal: the opening of the sending
    # window on the day of its next reminder step. NULL once it no longer awaits an answer.
    # routing.lifecycle sets it to "now" whenever the state, department or due date
    # changes (the next tick plans again); routing.reminder_scan stores the exact time.
    next_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department | None] = relationship(lazy="joined")

    __table_args__ = (
        # Numbers count per (year, series) and each kind has its own series, so the
        # sequence is unique per kind: A-2026-000001 and I-2026-000001 both exist.
        UniqueConstraint("reg_year", "kind", "reg_seq"),
        # The reminder scan walks appeals awaiting an answer in (due_date, id) order. A
        # partial index holds only those, so its size follows the open workload rather than
        # years of closed appeals; the scan's WHERE repeats the state list as literals
        # because SQLite uses a partial index only when the query contains its predicate.
        # (A plain (state, due_date) index is deliberately absent: without ANALYZE
        # statistics SQLite's planner preferred it and sorted all candidates per batch.)
        # The register's reports and exports read a period by legal receipt date
        # (migration 0009).
        Index("ix_appeal_kind_receipt_date", "kind", "receipt_date"),
        # The web console's dashboard counts open, due and overdue appeals by department,
        # and the ones closed this month, from these alone: the rows themselves (with
        # their texts) are never read for a count (migration 0016, bench/console.py).
        Index("ix_appeal_state_department", "state", "department_id"),
        Index("ix_appeal_state_closed_due", "state", "closed_at", "due_date"),
        Index("ix_appeal_received_at", "received_at"),
        Index(
            "ix_appeal_awaiting_due_department",
            "due_date",
            "department_id",
            sqlite_where=sql_text(AWAITING_ANSWER_SQL),
            postgresql_where=sql_text(AWAITING_ANSWER_SQL),
        ),
        Index(
            "ix_appeal_awaiting_due_id",
            "due_date",
            "id",
            sqlite_where=sql_text(AWAITING_ANSWER_SQL),
            postgresql_where=sql_text(AWAITING_ANSWER_SQL),
        ),
        # A tick reads only the appeals whose next step is due (migration 0013): a short
        # range at the front of this index, however many appeals are open.
        Index(
            "ix_appeal_awaiting_next_reminder",
            "next_reminder_at",
            "id",
            sqlite_where=sql_text(AWAITING_ANSWER_SQL),
            postgresql_where=sql_text(AWAITING_ANSWER_SQL),
        ),
    )


class Attachment(Base):
    """An attachment of an inbound message; its bytes are in the raw store by sha256.

    `filename` is the safe name used in letters, `original_name` the name as the sender
    wrote it. `status`: "sent" (forwarded as a file), "inside" (travels inside the attached
    message named by `inside`), "refused" (not forwarded; `reason` says why).
    `unpacked_from` names the Outlook winmail.dat the file was unpacked from.
    """

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_message.id"), index=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), index=True)
    filename: Mapped[str] = mapped_column(String(512))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(20), default="sent", server_default="sent")
    reason: Mapped[str | None] = mapped_column(String(40))
    inside: Mapped[str | None] = mapped_column(String(512))
    unpacked_from: Mapped[str | None] = mapped_column(String(512))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # bytes and names erased


class AppealEvent(Base):
    """Append-only history of an appeal: what happened, who did it, why."""

    __tablename__ = "appeal_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    type: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(120), default="system")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class OutboundMessage(Base):
    """The transactional outbox: a fully rendered message and its delivery state.

    state: queued -> sending -> sent | failed (permanent) ; `next_attempt_at` drives
    retries with backoff. `raw` is exactly what goes on the wire.
    """

    __tablename__ = "outbound_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    envelope_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSONType)
    # Lower-cased first recipient, indexed: the per-recipient daily cap counts by it.
    first_recipient: Mapped[str] = mapped_column(String(320), index=True)
    audience: Mapped[str] = mapped_column(String(20))  # citizen | department | admin | other
    subject: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    automatic: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who holds the lease (a token per claim): a sender takes a row's lease again just
    # before each hand-off, and only while the token is still its own, so a row another
    # sender has claimed since is never handed off twice (gateway.outbound.outbox).
    lease_owner: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # When the admin's digest listed this row as failed (gateway.alerts).
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_outbound_message_state_next", "state", "next_attempt_at"),)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbound_id: Mapped[int] = mapped_column(ForeignKey("outbound_message.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # handoff (recorded and committed before the transport is called; it stays the only
    # row of an attempt whose sender died during it) | sent | temporary | permanent
    outcome: Mapped[str] = mapped_column(String(20))
    code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)


class ReminderSent(Base):
    """A reminder or escalation step done for an appeal; the unique key makes it once-only.
    Done means sent, or `skipped`: its time had passed when the scan came to it (a
    reminder before the due date, after it; a step superseded by a later one)."""

    __tablename__ = "reminder_sent"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"))
    step_key: Mapped[str] = mapped_column(String(60))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it was done
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_message.id"))
    skipped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql_false())

    __table_args__ = (UniqueConstraint("appeal_id", "step_key"),)


class RegistrationCounter(Base):
    __tablename__ = "registration_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class TrainingLabel(Base):
    """A topic or department chosen by a person (triage, #redirect, admin): training data."""

    __tablename__ = "training_label"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    topic: Mapped[str | None] = mapped_column(String(80))
    department_code: Mapped[str | None] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(30))  # triage | redirect | admin
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarOverride(Base):
    """An admin-set day off or working day (moved days, martial-law rules)."""

    __tablename__ = "calendar_override"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(300), default="")


class Lock(Base):
    """Named singleton leases (e.g. one scheduler tick at a time across hosts)."""

    __tablename__ = "lease_lock"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RoutingRule(Base):
    """A learned (label, district) -> department rule an admin applied
    (`appeals routing apply`). `district` empty means "any district" for that label.
    Consulted before the topic table of settings; replaced as a whole set on apply."""

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(120), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    support: Mapped[int] = mapped_column(Integer, default=0)  # history rows behind it
    share: Mapped[float] = mapped_column(Float, default=0.0)  # of those, routed as the rule says
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_by: Mapped[str] = mapped_column(String(120))

    department: Mapped[Department] = relationship()

    __table_args__ = (UniqueConstraint("label", "district", name="uq_routing_rule_key"),)


class StreetObservation(Base):
    """A (street, house) -> district pair from an appeal whose district staff confirmed
    (its final answer came from the department it was routed to) or corrected
    (`appeals appeal set-district`). The address resolver learns streets the council's
    register lacks from these (routing.street_learning). One row per appeal: the latest
    word on it wins."""

    __tablename__ = "street_observation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    street_key: Mapped[str] = mapped_column(String(200), index=True)  # routing.streets
    kind: Mapped[str] = mapped_column(String(20))
    street: Mapped[str] = mapped_column(String(200))
    house: Mapped[int | None] = mapped_column(Integer)
    district: Mapped[str] = mapped_column(String(120))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), unique=True)
    source: Mapped[str] = mapped_column(String(20))  # "confirmed" or "corrected"
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebAccount(Base):
    """A person who signs in to the web console (gateway/web). `password_hash` is an
    argon2id hash (never the password); `role` is admin | clerk | viewer; a clerk works on
    the appeals of `departments` (codes) only. Wrong passwords in a row are counted, and
    past the limit no password is tried until `throttled_until`."""

    __tablename__ = "web_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    departments: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    throttled_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser. The cookie carries a random token; only its sha256 is stored,
    so a copy of the database opens no session. `csrf` is the token every form of the
    session must send back."""

    __tablename__ = "web_session"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("web_account.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiClient(Base):
    """A system that uses the REST API (gateway/web/api.py): the council's website, its
    document management system, a chat bot. The bearer token is random; only its sha256
    is stored, so a copy of the database authenticates nobody. `scopes` names what the
    client may do (submit, read, personal, answer, webhooks)."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Webhook(Base):
    """A URL that receives the appeals' events as signed JSON (gateway/outbound/webhooks.py).
    `secret` signs each body (HMAC-SHA256); it must be kept to sign, so it is stored as
    is, like the reply-token key is kept by the gateway."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One event for one webhook: the durable queue the sender role delivers from, with
    retries, backoff and leases as the outbox has. Queued in the transaction that changed
    the appeal, so an event is never lost nor invented. `dedup_key` makes an event that
    a scan finds (overdue) once-only per webhook."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id"), index=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), index=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    event: Mapped[str] = mapped_column(String(30))
    dedup_key: Mapped[str | None] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        UniqueConstraint("webhook_id", "dedup_key"),
        Index("ix_webhook_delivery_due", "state", "next_attempt_at"),
    )
