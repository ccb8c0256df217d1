"""Hyper-parameters and the unfitted scikit-learn pipeline for topic classification.

The shape was chosen on data (bench/classifier_compare.py): a union of word and
character TF-IDF (the character n-grams absorb typos, inflection and mixed
Ukrainian/Russian spelling), then a linear classifier. Linear SVMs do not give
probabilities; the default `margin` estimator (classifier.margin.MarginSVC) shifts its
decision values towards rare topics by one factor tuned on a validation part and turns
them into a confidence with a softmax whose temperature is fitted there too. The earlier
`svc` (class-balanced, wrapped in sigmoid `CalibratedClassifierCV`) cost topic macro-F1
against the plain SVM at twice the training time (bench/topic_compare.py) and stays only
as an option.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from classifier.context import check_fields, context_tokens, text_part
from classifier.margin import MarginSVC
from classifier.normalise import normalise_text


@dataclass(frozen=True)
class ClassifierParams:
    """Everything that shapes the model; stored verbatim in the model card."""

    word_ngram_max: int = 2
    word_min_df: int = 1
    char_ngram_min: int = 2
    char_ngram_max: int = 5
    char_min_df: int = 2
    max_features: int | None = 400_000
    estimator: Literal["margin", "svc", "logreg"] = "margin"
    C: float = 1.0
    class_weight: Literal["balanced"] | None = None
    calibration_cv: int = 3
    top_k: int = 3
    # The `margin` estimator's prior shift (classifier.margin): the largest beta tried on
    # its validation part (11 steps from 0); 0 turns it off.
    prior_shift_max: float = 0.2
    # Share of the data held out (stratified) to fill the card's evaluation
    # figures before the final fit on everything; 0 disables it.
    holdout_fraction: float = 0.2
    # Non-text facts the model sees as one-hot features (classifier.context.FIELDS);
    # empty for a pure topic model. Used for department-family models, whose labels
    # depend on the district, on whether the appeal is a repeat and on the season.
    context: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", check_fields(tuple(self.context)))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["context"] = list(self.context)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierParams:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown classifier parameters: {sorted(unknown)}")
        return cls(**data)


class CompactTfidfVectorizer(TfidfVectorizer):
    """A TfidfVectorizer whose fitted vocabulary is stored as one byte array.

    skops writes a Python dict key by key; a 300,000-term vocabulary then takes
    minutes and tens of megabytes. Here the terms (in column order) are joined
    with newlines into a uint8 array on save and rebuilt on load. Terms cannot
    contain a newline because `normalise_text` collapses all whitespace.
    No logic in `__init__` (sklearn convention): it is inherited unchanged.
    """

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        vocabulary = state.pop("vocabulary_", None)
        if vocabulary is not None:
            terms = sorted(vocabulary, key=vocabulary.__getitem__)
            if any("\n" in term for term in terms):
                raise ValueError("vocabulary term contains a newline; cannot store compactly")
            blob = "\n".join(terms).encode("utf-8")
            state["vocabulary_blob_"] = np.frombuffer(blob, dtype=np.uint8).copy()
            state["vocabulary_size_"] = len(terms)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        blob = state.pop("vocabulary_blob_", None)
        size = state.pop("vocabulary_size_", None)
        if blob is not None:
            terms = bytes(np.asarray(blob, dtype=np.uint8)).decode("utf-8").split("\n")
            if size == 0:
                terms = []
            if len(terms) != size:
                raise ValueError("stored vocabulary is corrupt")
            state["vocabulary_"] = {term: i for i, term in enumerate(terms)}
        super().__setstate__(state)


def build_features(params: ClassifierParams) -> FeatureUnion:
    """Word + character TF-IDF over normalised text, plus the context one-hots if any."""
    # A model without context keeps the plain preprocessor, so its file stays readable by
    # a gateway that predates context features.
    pre = text_part if params.context else normalise_text
    word = CompactTfidfVectorizer(
        preprocessor=pre,
        analyzer="word",
        ngram_range=(1, params.word_ngram_max),
        min_df=params.word_min_df,
        max_features=params.max_features,
        sublinear_tf=True,
        dtype=np.float32,
    )
    char = CompactTfidfVectorizer(
        preprocessor=pre,
        analyzer="char_wb",
        ngram_range=(params.char_ngram_min, params.char_ngram_max),
        min_df=params.char_min_df,
        max_features=params.max_features,
        sublinear_tf=True,
        dtype=np.float32,
    )
    parts: list[tuple[str, Any]] = [("word", word), ("char", char)]
    if params.context:
        parts.append(
            ("context", CountVectorizer(analyzer=context_tokens, binary=True, dtype=np.float32))
        )
    return FeatureUnion(parts)


def build_pipeline(
    params: ClassifierParams, *, random_state: int = 0, calibration_cv: int | None = None
) -> Pipeline:
    """Return the unfitted pipeline `features -> clf` for `params`.

    `calibration_cv` overrides `params.calibration_cv` when the smallest class is
    too small for that many folds (the trainer decides).
    """
    clf: Any
    if params.estimator == "margin":
        clf = MarginSVC(
            C=params.C,
            alphas=(1.0,) if params.class_weight == "balanced" else (0.0,),
            prior_shifts=tuple(float(b) for b in np.linspace(0, params.prior_shift_max, 11)),
            random_state=random_state,
        )
    elif params.estimator == "logreg":
        clf = LogisticRegression(
            C=params.C, class_weight=params.class_weight, max_iter=2000, random_state=random_state
        )
    elif params.estimator == "svc":
        svc = LinearSVC(C=params.C, class_weight=params.class_weight, random_state=random_state)
        # ensemble=False: one SVM fitted on all data, calibrated on out-of-fold scores.
        # The default ensemble keeps one SVM per fold, tripling the model on disk.
        clf = CalibratedClassifierCV(
            svc, method="sigmoid", cv=calibration_cv or params.calibration_cv, ensemble=False
        )
    else:
        raise ValueError(f"unknown estimator {params.estimator!r}")
    return Pipeline([("features", build_features(params)), ("clf", clf)])
