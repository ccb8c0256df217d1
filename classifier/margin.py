"""A linear SVM tuned for macro-F1 by one prior shift, whose confidence comes from its
margins, not from calibration by cross-validation.

The gateway's model used to wrap a class-balanced LinearSVC in sigmoid calibration
(CalibratedClassifierCV): on the St Petersburg appeals it scored a lower topic macro-F1
than the plain word+char TF-IDF + LinearSVC at about twice the training time
(bench/topic_compare.py). Here the SVM is the plain one, and its `predict_proba` is a
softmax over the decision values with one temperature fitted (lowest log-loss) on a
stratified validation part: the top label is the plain SVM's, the score is comparable
with the routing threshold (`min_confidence`). After the temperature is fitted the SVM is
refitted on all the data.

Macro-F1 counts a rare topic as much as a common one, and the plain SVM favours the
common ones (high precision, low recall on the rare): the decision values are raised by
beta * -log(prior of the class), one beta chosen on the validation part
(`prior_shifts`). On the St Petersburg split this gained about one point of macro-F1 for
the cost of the validation fit.

Also here, measured by the bench and off by default because they did not beat the plain
model on the full split: class weights n_c ** -alpha with alpha chosen on the validation
part (`alphas`), and per-class offsets to the decision values chosen there by coordinate
ascent on macro-F1 (`tune_offsets`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC


def class_weights(y: np.ndarray, classes: np.ndarray, alpha: float) -> dict[Any, float]:
    """Weights proportional to n_c ** -alpha, scaled so that the average example weighs 1
    (alpha=1 is scikit-learn's "balanced"; the scale matters: it multiplies C)."""
    counts = {c: max(1, int(np.sum(y == c))) for c in classes}
    raw = {c: n**-alpha for c, n in counts.items()}
    scale = len(y) / sum(raw[c] * n for c, n in counts.items())
    return {c: raw[c] * scale for c in counts}


def tune_offsets(
    scores: np.ndarray, y_idx: np.ndarray, n_classes: int, rounds: int = 2
) -> np.ndarray:
    """Per-class additive offsets to the decision values that raise macro-F1 on (scores,
    y_idx), by coordinate ascent over a small grid."""
    offsets = np.zeros(n_classes)
    grid = np.linspace(-0.6, 0.6, 13)
    labels = np.arange(n_classes)

    def score(off: np.ndarray) -> float:
        pred = np.argmax(scores + off, axis=1)
        return float(f1_score(y_idx, pred, average="macro", labels=labels, zero_division=0))

    best = score(offsets)
    for _ in range(rounds):
        improved = False
        for c in range(n_classes):
            keep = offsets[c]
            for g in grid:
                offsets[c] = g
                s = score(offsets)
                if s > best + 1e-9:
                    best, keep, improved = s, g, True
            offsets[c] = keep
        if not improved:
            break
    return offsets


def fit_temperature(scores: np.ndarray, y_idx: np.ndarray) -> float:
    """The softmax temperature with the lowest log-loss on (scores, y_idx)."""
    best_t, best_nll = 1.0, np.inf
    for t in np.geomspace(0.02, 5.0, 40):
        z = scores / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        nll = -float(np.mean(logp[np.arange(len(y_idx)), y_idx]))
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


class MarginSVC(ClassifierMixin, BaseEstimator):
    """LinearSVC with a softmax confidence (temperature from a validation part); optionally
    validation-tuned class weights (alpha 0: none, 1: "balanced") and offsets."""

    def __init__(
        self,
        C: float = 1.0,
        alphas: tuple[float, ...] = (0.0,),
        validation_fraction: float = 0.2,
        tune_offsets: bool = False,
        prior_shifts: tuple[float, ...] = (0.0,),
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.alphas = alphas
        self.validation_fraction = validation_fraction
        self.tune_offsets = tune_offsets
        self.prior_shifts = prior_shifts
        self.random_state = random_state

    def _svc(self, y: np.ndarray, alpha: float) -> LinearSVC:
        weights = class_weights(y, self.classes_, alpha) if alpha else None
        return LinearSVC(C=self.C, class_weight=weights, random_state=self.random_state)

    def fit(self, X: Any, y: Any) -> MarginSVC:
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        n = len(self.classes_)
        counts = np.array([np.sum(y == c) for c in self.classes_])
        self.alpha_ = float(self.alphas[-1]) if self.alphas else 0.0
        self.offsets_ = np.zeros(n)
        self.prior_shift_ = 0.0
        self.temperature_ = 1.0
        # A stratified validation part needs every class on both sides of the split.
        n_val = max(round(self.validation_fraction * len(y)), n)
        can_validate = (
            self.validation_fraction > 0 and counts.min() >= 2 and n > 1 and len(y) - n_val >= n
        )
        if can_validate:
            idx = np.arange(len(y))
            fit_i, val_i = train_test_split(
                idx, test_size=n_val, random_state=self.random_state, stratify=y
            )
            y_val = np.searchsorted(self.classes_, y[val_i])
            best: tuple[float, float, np.ndarray] | None = None
            for alpha in self.alphas or (0.0,):
                svc = self._svc(y[fit_i], alpha).fit(X[fit_i], y[fit_i])
                scores = _scores(svc, X[val_i])
                f1 = float(f1_score(y_val, np.argmax(scores, axis=1), average="macro"))
                if best is None or f1 > best[0]:
                    best = (f1, alpha, scores)
            assert best is not None
            _, self.alpha_, scores = best
            # One number against the imbalance: decision values raised by beta * -log(prior),
            # so a rare class wins a close call (macro-F1 counts it as much as a common one).
            surprise = -np.log(counts / counts.sum())
            best_shift = (-1.0, 0.0)
            for beta in self.prior_shifts or (0.0,):
                pred = np.argmax(scores + beta * surprise, axis=1)
                f1 = float(f1_score(y_val, pred, average="macro"))
                if f1 > best_shift[0] + 1e-9:
                    best_shift = (f1, float(beta))
            self.prior_shift_ = best_shift[1]
            self.offsets_ = self.prior_shift_ * surprise
            if self.tune_offsets:
                self.offsets_ = self.offsets_ + tune_offsets(scores + self.offsets_, y_val, n)
            self.temperature_ = fit_temperature(scores + self.offsets_, y_val)
        self.svc_ = self._svc(y, self.alpha_).fit(X, y)
        if not can_validate:
            # Too little data to hold any out: the temperature from the training data's
            # own decision values (overconfident, but it keeps scores on a usable scale).
            self.temperature_ = fit_temperature(
                _scores(self.svc_, X), np.searchsorted(self.classes_, y)
            )
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        return _scores(self.svc_, X) + self.offsets_

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        z = self.decision_function(X) / self.temperature_
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))


def _scores(svc: LinearSVC, X: Any) -> np.ndarray:
    s = np.asarray(svc.decision_function(X))
    if s.ndim == 1:  # two classes: one column, positive for classes_[1]
        s = np.column_stack([-s, s])
    return s
