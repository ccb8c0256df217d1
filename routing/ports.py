"""The seams routing depends on, as Protocols: a clock and a topic classifier.

Concrete implementations are chosen in `gateway.app` (the composition root); tests pass
their own. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Time source. Always returns an aware UTC datetime."""

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class TopicPrediction:
    label: str
    score: float
    top_k: tuple[tuple[str, float], ...]
    model_version: str


class TopicClassifier(Protocol):
    def predict(self, texts: Sequence[str]) -> list[TopicPrediction]: ...
