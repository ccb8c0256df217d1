"""Value types of the classifier (interim; the classifier package replaces this)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    top_k: tuple[tuple[str, float], ...]
    model_version: str


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source_id: str | None = None
