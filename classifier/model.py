"""The fitted topic model and its card (the metadata stored next to it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from classifier.context import Context, compose
from classifier.types import Prediction


@dataclass(frozen=True)
class ModelCard:
    """What a model is, how it was made and how good it was; saved as card.json."""

    version: str
    trained_at: str | None  # ISO 8601 UTC from the caller's clock; None if not given
    data_hash: str  # sha256 over the sorted (label, text) training pairs
    data_size: int
    labels: tuple[str, ...]
    class_counts: dict[str, int]
    params: dict[str, Any]
    library_versions: dict[str, str]
    evaluation: dict[str, Any] | None = None  # EvalReport.to_dict() on the holdout
    training_seconds: float | None = None
    random_state: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        data = dict(data)
        data["labels"] = tuple(data["labels"])
        data["notes"] = tuple(data.get("notes", ()))
        return cls(**data)

    def with_version(self, version: str) -> ModelCard:
        data = self.to_dict()
        data["version"] = version
        return ModelCard.from_dict(data)


class TopicModel:
    """A fitted pipeline plus its card; `predict` gives calibrated top-k topics."""

    def __init__(self, pipeline: Pipeline, card: ModelCard) -> None:
        self.pipeline = pipeline
        self.card = card

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.pipeline.classes_)

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def context_fields(self) -> tuple[str, ...]:
        """The context facts this model was trained with (empty: text only)."""
        return tuple(self.card.params.get("context") or ())

    def inputs(
        self, texts: Sequence[str], contexts: Sequence[Context | None] | None = None
    ) -> list[str]:
        """The pipeline's input strings: each text with its context where the model uses it."""
        fields = self.context_fields
        ctx = list(contexts) if contexts is not None else [None] * len(texts)
        if len(ctx) != len(texts):
            raise ValueError("one context per text expected")
        return [compose(t, c, fields) for t, c in zip(texts, ctx, strict=True)]

    def predict_proba(
        self, texts: Sequence[str], contexts: Sequence[Context | None] | None = None
    ) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(self.inputs(texts, contexts)))

    def predict(
        self,
        texts: Sequence[str],
        top_k: int | None = None,
        contexts: Sequence[Context | None] | None = None,
    ) -> list[Prediction]:
        """Return one Prediction per text, best label first in `top_k`.

        `contexts` (one per text) are used only if the model was trained with context
        fields; a model without them ignores them.
        """
        if not texts:
            return []
        k = top_k or int(self.card.params.get("top_k", 3))
        labels = self.labels
        k = max(1, min(k, len(labels)))
        proba = self.predict_proba(texts, contexts)
        out: list[Prediction] = []
        for row in proba:
            # Stable sort so that ties resolve by label order: deterministic output.
            order = np.argsort(-row, kind="stable")[:k]
            top = tuple((labels[i], float(row[i])) for i in order)
            out.append(
                Prediction(
                    label=top[0][0], score=top[0][1], top_k=top, model_version=self.card.version
                )
            )
        return out
