"""Compare candidate topic pipelines with stratified cross-validation.

This is how the default `ClassifierParams` were chosen. Candidates differ in the
features (word only, char only, word+char) and the linear model (calibrated
LinearSVC vs logistic regression), with and without balanced class weights.

Data sets:
- `starter`: the shipped starter corpus (12 topics, uk/ru), 5-fold stratified CV;
- `spb`: appeals-spb `category` (real, Russian; prepared as in
  appeals_spb_benchmark.py), 3-fold stratified CV on a stratified random sample
  of 12,000 rows to keep the run to minutes on 2 cores; skipped when absent.

Run: .venv/bin/python bench/classifier_compare.py [starter] [spb]
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from sklearn.model_selection import StratifiedKFold, train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from classifier.pipeline import ClassifierParams, build_pipeline  # noqa: E402
from classifier.starter import starter_examples  # noqa: E402

CANDIDATES: dict[str, ClassifierParams] = {
    "word tfidf + svc": ClassifierParams(char_ngram_min=0, class_weight=None),
    "char tfidf + svc": ClassifierParams(word_ngram_max=0, class_weight=None),
    "word+char + svc": ClassifierParams(class_weight=None),
    "word+char + svc balanced (default)": ClassifierParams(),
    "word+char + svc balanced C=1": ClassifierParams(C=1.0),
    "word+char + logreg balanced C=10": ClassifierParams(estimator="logreg", C=10.0),
}


def build(params: ClassifierParams, seed: int) -> Pipeline:
    pipe = build_pipeline(params, random_state=seed)
    # A zero n-gram bound means "drop this half of the feature union".
    if params.char_ngram_min == 0:
        pipe.named_steps["features"].set_params(char="drop")
    if params.word_ngram_max == 0:
        pipe.named_steps["features"].set_params(word="drop")
    return pipe


def run(name: str, texts: list[str], labels: list[str], folds: int) -> None:
    from sklearn.metrics import accuracy_score, f1_score

    print(
        f"\n{name}: {len(texts)} texts, {len(set(labels))} classes, "
        f"{folds}-fold stratified CV, random_state=0"
    )
    x, y = np.array(texts, dtype=object), np.array(labels)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for cand, params in CANDIDATES.items():
        f1s, accs, t0 = [], [], time.perf_counter()
        for fit_idx, test_idx in cv.split(x, y):
            pipe = build(params, 0)
            pipe.fit(list(x[fit_idx]), y[fit_idx])
            pred = pipe.predict(list(x[test_idx]))
            f1s.append(f1_score(y[test_idx], pred, average="macro"))
            accs.append(accuracy_score(y[test_idx], pred))
        print(
            f"  {cand:<38} macro-F1 {np.mean(f1s):.4f} ± {np.std(f1s):.4f}"
            f"  accuracy {np.mean(accs):.4f}  ({time.perf_counter() - t0:.0f} s)"
        )


def main() -> int:
    print("command: " + shlex.join([sys.executable, *sys.argv]))
    which = sys.argv[1:] or ["starter", "spb"]
    if "starter" in which:
        ex = starter_examples()
        run("starter corpus", [e.text for e in ex], [e.label for e in ex], 5)
    if "spb" in which:
        from appeals_spb_benchmark import corpus_path, load_rows

        path = corpus_path()
        if not path.is_file():
            print(f"SKIP spb: corpus not found at {path} (set APPEALS_CORPORA)")
            return 0
        rows = load_rows(path)
        sample, _ = train_test_split(
            rows, train_size=12_000, random_state=0, stratify=[r["category"] for r in rows]
        )
        run(
            "appeals-spb category (12,000-row stratified sample)",
            [r["text"] for r in sample],
            [r["category"] for r in sample],
            3,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
