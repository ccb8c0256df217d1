"""Persistence: SQLAlchemy 2 mapped classes, engine/session helpers, claims, migrations."""

from models.base import Base
from models.tables import (
    AWAITING_ANSWER,
    AWAITING_ANSWER_SQL,
    Appeal,
    AppealEvent,
    Attachment,
    CalendarOverride,
    DeliveryAttempt,
    Department,
    InboundMessage,
    Lock,
    MailboxCursor,
    OutboundMessage,
    RegistrationCounter,
    ReminderSent,
    RoutingRule,
    StreetObservation,
    TrainingLabel,
)

__all__ = [
    "AWAITING_ANSWER",
    "AWAITING_ANSWER_SQL",
    "Appeal",
    "AppealEvent",
    "Attachment",
    "Base",
    "CalendarOverride",
    "DeliveryAttempt",
    "Department",
    "InboundMessage",
    "Lock",
    "MailboxCursor",
    "OutboundMessage",
    "RegistrationCounter",
    "ReminderSent",
    "RoutingRule",
    "StreetObservation",
    "TrainingLabel",
]
