"""Small immutable value types shared by the classifier modules and its callers."""

from __future__ import annotations

from dataclasses import dataclass

from classifier.context import Context

# The file in a model directory that names the active version (classifier.registry).
ACTIVE_FILE = "ACTIVE"


@dataclass(frozen=True)
class Prediction:
    """One prediction: best label, its probability, the top-k list, and who said so."""

    label: str
    score: float
    top_k: tuple[tuple[str, float], ...]
    model_version: str


@dataclass(frozen=True)
class Example:
    """One labelled training text; `source_id` points back to where it came from."""

    text: str
    label: str
    source_id: str | None = None
    context: Context | None = None  # used only by models trained with context fields
