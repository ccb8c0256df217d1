"""The seams routing depends on, as Protocols: a clock and a topic classifier.

Concrete implementations are chosen in `gateway.app` (the composition root); tests pass
their own. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from classifier.context import Context
from classifier.types import Prediction


class Clock(Protocol):
    """Time source. Always returns an aware UTC datetime."""

    def now(self) -> datetime: ...


# The classifier's own value types are what cross into routing.
TopicPrediction = Prediction


class Classify(Protocol):
    """The active model's best labels for an appeal's text and context; None when no model
    is loaded (everything then goes to triage)."""

    def __call__(self, text: str, context: Context) -> Prediction | None: ...


@dataclass(frozen=True)
class AttachmentRef:
    """An attachment to put on an outgoing message: bytes are fetched from the raw store."""

    filename: str
    content_type: str
    sha256: str


class NoticeSink(Protocol):
    """Where routing puts the mail it wants sent. The gateway renders the template named by
    `kind` (`<audience>/<event>`) and writes an outbox row in the caller's transaction.
    `thread_with` is the References chain of the message this one answers (its last id
    becomes In-Reply-To); left empty, the letter joins its audience's conversation about
    the appeal (`routing.threads.default_thread`). Returns the Message-ID of the queued
    message."""

    def add(
        self,
        kind: str,
        *,
        to: Sequence[str],
        context: Mapping[str, Any],
        appeal_id: int | None,
        language: str = "uk",
        reply_token_for: int | None = None,
        thread_with: Sequence[str] = (),
        attachments: Sequence[AttachmentRef] = (),
        automatic: bool = True,
    ) -> str | None: ...
