"""Training and evaluation: examples in, a TopicModel with its card and report out."""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import train_test_split

from classifier.context import compose
from classifier.dataset import class_counts, warnings_for
from classifier.errors import TrainingDataError
from classifier.model import ModelCard, TopicModel
from classifier.pipeline import ClassifierParams, build_pipeline
from classifier.types import Example

Progress = Callable[[str, float], None]

UNSAVED_VERSION = "unsaved"


@dataclass(frozen=True)
class EvalReport:
    """Accuracy, macro-F1, per-class figures and the confusion matrix on one data set."""

    n: int
    accuracy: float
    macro_f1: float
    labels: tuple[str, ...]
    per_class: dict[str, dict[str, float]]
    confusion: tuple[tuple[int, ...], ...]  # rows: true label, columns: predicted
    data_hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "labels": list(self.labels),
            "per_class": self.per_class,
            "confusion": [list(r) for r in self.confusion],
            "data_hash": self.data_hash,
        }

    def to_text(self) -> str:
        width = max([len(label) for label in self.labels] + [5])
        lines = [
            f"examples: {self.n}  accuracy: {self.accuracy:.4f}  macro-F1: {self.macro_f1:.4f}",
            "",
            f"{'label':<{width}}  precision  recall     f1  support",
        ]
        for label in self.labels:
            m = self.per_class[label]
            lines.append(
                f"{label:<{width}}  {m['precision']:9.3f}  {m['recall']:6.3f}  {m['f1']:5.3f}"
                f"  {int(m['support']):7d}"
            )
        lines += ["", "confusion (rows = true, columns = predicted, in label order above):"]
        cell = max(3, *(len(str(v)) for row in self.confusion for v in row))
        for label, row in zip(self.labels, self.confusion, strict=True):
            lines.append(f"{label:<{width}}  " + " ".join(f"{v:>{cell}d}" for v in row))
        return "\n".join(lines)

    def save_confusion_png(self, path: str | Path) -> None:
        """Draw the confusion matrix with matplotlib's Agg backend (no display needed)."""
        # Figure + FigureCanvasAgg instead of pyplot: no global figure state, no GUI backend.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        n = len(self.labels)
        size = max(4.0, 0.5 * n + 2)
        fig = Figure(figsize=(size, size))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        matrix = np.asarray(self.confusion, dtype=float)
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(n), labels=list(self.labels), rotation=90)
        ax.set_yticks(range(n), labels=list(self.labels))
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"accuracy {self.accuracy:.3f}, macro-F1 {self.macro_f1:.3f}")
        top = matrix.max() if matrix.size else 0
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    colour = "white" if matrix[i, j] > top / 2 else "black"
                    ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", color=colour)
        fig.tight_layout()
        fig.savefig(str(path), format="png")


@dataclass(frozen=True)
class TrainReport:
    """What happened during training: data summary, warnings and holdout figures."""

    data_size: int
    class_counts: dict[str, int]
    warnings: tuple[str, ...]
    evaluation: EvalReport | None
    training_seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_size": self.data_size,
            "class_counts": self.class_counts,
            "warnings": list(self.warnings),
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
            "training_seconds": self.training_seconds,
            "notes": list(self.notes),
        }


@dataclass
class TrainResult:
    model: TopicModel
    report: TrainReport


def data_hash(examples: Iterable[Example]) -> str:
    """sha256 over the sorted (label, text) pairs, with the context where an example has
    one: independent of input order."""
    digest = hashlib.sha256()
    rows = sorted((e.label, e.text, repr(e.context) if e.context else "") for e in examples)
    for label, text, context in rows:
        digest.update(label.encode())
        digest.update(b"\x1f")
        digest.update(text.encode())
        if context:
            digest.update(b"\x1f")
            digest.update(context.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    import scipy
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def _fit(examples: Sequence[Example], params: ClassifierParams, random_state: int) -> Any:
    counts = class_counts(examples)
    folds = max(2, min(params.calibration_cv, min(counts.values())))
    pipeline = build_pipeline(params, random_state=random_state, calibration_cv=folds)
    inputs = [compose(e.text, e.context, params.context) for e in examples]
    pipeline.fit(inputs, [e.label for e in examples])
    return pipeline


def train(
    examples: Iterable[Example],
    params: ClassifierParams | None = None,
    *,
    progress: Progress | None = None,
    random_state: int = 0,
    now: Callable[[], datetime] | None = None,
) -> TrainResult:
    """Fit a TopicModel on `examples` (deduplicate them first with dataset.dedupe).

    With `params.holdout_fraction > 0`, a stratified holdout is evaluated first
    (figures go to the card), then the final model is fitted on all examples.
    `now` is the caller's clock for the card's training date; without it the
    date is left empty rather than read from the system clock.
    """
    params = params or ClassifierParams()
    report_progress = progress or (lambda _stage, _fraction: None)
    items = [e for e in examples if e.text.strip()]
    started = time.perf_counter()
    notes: list[str] = []
    counts = class_counts(items)
    too_small = sorted(label for label, n in counts.items() if n < 2)
    if too_small:
        # A class with a single example cannot be calibrated or evaluated at all.
        notes.append(f"dropped classes with fewer than 2 examples: {too_small}")
        items = [e for e in items if e.label not in too_small]
        counts = class_counts(items)
    if len(counts) < 2:
        raise TrainingDataError(f"need at least 2 classes with 2+ examples, got {len(counts)}")
    warnings = tuple(warnings_for(items))

    evaluation: EvalReport | None = None
    if params.holdout_fraction > 0:
        report_progress("holdout", 0.0)
        try:
            fit_part, test_part = train_test_split(
                items,
                test_size=params.holdout_fraction,
                stratify=[e.label for e in items],
                random_state=random_state,
            )
        except ValueError as exc:
            notes.append(f"holdout evaluation skipped: {exc}")
        else:
            fit_counts = class_counts(fit_part)
            if len(fit_counts) == len(counts) and min(fit_counts.values()) >= 2:
                holdout_model = TopicModel(
                    _fit(fit_part, params, random_state), _draft_card(items, counts, params)
                )
                evaluation = evaluate(holdout_model, test_part)
            else:
                notes.append(
                    "holdout evaluation skipped: a class has under 2 examples in the fit part"
                )
        report_progress("holdout", 1.0)

    report_progress("fit", 0.0)
    pipeline = _fit(items, params, random_state)
    report_progress("fit", 1.0)
    seconds = round(time.perf_counter() - started, 3)
    card = _draft_card(items, counts, params)
    card_data = card.to_dict()
    card_data.update(
        trained_at=now().isoformat() if now else None,
        evaluation=evaluation.to_dict() if evaluation else None,
        training_seconds=seconds,
        random_state=random_state,
        notes=tuple(notes),
    )
    model = TopicModel(pipeline, ModelCard.from_dict(card_data))
    report = TrainReport(
        data_size=len(items),
        class_counts=counts,
        warnings=warnings,
        evaluation=evaluation,
        training_seconds=seconds,
        notes=tuple(notes),
    )
    return TrainResult(model=model, report=report)


def _draft_card(
    items: Sequence[Example], counts: dict[str, int], params: ClassifierParams
) -> ModelCard:
    return ModelCard(
        version=UNSAVED_VERSION,
        trained_at=None,
        data_hash=data_hash(items),
        data_size=len(items),
        labels=tuple(sorted(counts)),
        class_counts=counts,
        params=params.to_dict(),
        library_versions=library_versions(),
    )


def evaluate(model: TopicModel, examples: Iterable[Example]) -> EvalReport:
    """Score `model` on labelled `examples`.

    Macro-F1 averages over the labels present in the evaluation data, so two
    models evaluated on the same data are compared on the same classes.
    """
    items = list(examples)
    if not items:
        raise TrainingDataError("no evaluation examples")
    y_true = [e.label for e in items]
    texts, contexts = [e.text for e in items], [e.context for e in items]
    y_pred = [p.label for p in model.predict(texts, top_k=1, contexts=contexts)]
    present = sorted(set(y_true))
    labels = tuple(present + sorted(set(y_pred) - set(present)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(labels), zero_division=0
    )
    _, _, macro, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=present, average="macro", zero_division=0
    )
    per_class = {
        label: {
            "precision": round(float(p), 6),
            "recall": round(float(r), 6),
            "f1": round(float(f), 6),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    matrix = confusion_matrix(y_true, y_pred, labels=list(labels))
    return EvalReport(
        n=len(items),
        accuracy=round(float(accuracy_score(y_true, y_pred)), 6),
        macro_f1=round(float(macro), 6),
        labels=labels,
        per_class=per_class,
        confusion=tuple(tuple(int(v) for v in row) for row in matrix),
        data_hash=data_hash(items),
    )
