"""Topic model candidates against the plain baseline, on one split by appeal id.

Data: appeals-spb/train.jsonl.gz ($APPEALS_CORPORA), prepared as in
appeals_spb_benchmark.py (petitions joined, exact duplicates and texts under 20
characters dropped). Split by appeal id: test = `id % 5 == 1`, train = the rest; where a
candidate tunes something, it does so on a validation part of the training rows only
(a stratified 20%, random_state=0), then refits on all training rows. Label: `category` (15 topics);
`reason` (the 126 sub-topics) for the candidates that train on sub-topics and map up.

Baseline: the plain word+char TF-IDF (the project's features, classifier.pipeline
build_features) + LinearSVC with scikit-learn's defaults (C=1, no class weights, no
calibration). Every figure is macro-F1 (and accuracy) on the same test rows, with the
training seconds and the one-text latency p50/p99 of each candidate.

Run: .venv/bin/python bench/topic_compare.py [--sample K] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from appeals_spb_benchmark import corpus_path, load_rows  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from classifier.margin import MarginSVC  # noqa: E402
from classifier.pipeline import ClassifierParams, build_features  # noqa: E402

SEED = 0
SPLIT = (
    "split by appeal id: test = id % 5 == 1, train = the rest; where a candidate tunes"
    " something: a stratified 20% validation part of the training rows (random_state=0)"
)


def fine_label(r: dict) -> str:
    return f"{r['category']}\t{r['reason']}"


def coarse(label: str) -> str:
    return label.split("\t", 1)[0]


class Candidate:
    """fit(rows) -> predict(texts) -> coarse labels."""

    def __init__(self, name: str, make: Callable[[], Pipeline], fine: bool = False) -> None:
        self.name, self.make, self.fine = name, make, fine
        self.model: Any = None

    def fit(self, rows: list[dict]) -> None:
        labels = [fine_label(r) if self.fine else r["category"] for r in rows]
        self.model = self.make().fit([r["text"] for r in rows], labels)

    def predict(self, texts: list[str]) -> list[str]:
        return [coarse(p) for p in self.model.predict(texts)]


def svc(C: float = 1.0, class_weight: Any = None, **feat: Any) -> Callable[[], Pipeline]:
    def make() -> Pipeline:
        params = ClassifierParams(**feat)
        feats = build_features(params)
        if params.char_ngram_min == 0:
            feats.set_params(char="drop")
        if params.word_ngram_max == 0:
            feats.set_params(word="drop")
        return Pipeline(
            [
                ("features", feats),
                ("clf", LinearSVC(C=C, class_weight=class_weight, random_state=SEED)),
            ]
        )

    return make


def margin(
    alphas: tuple[float, ...] = (0.5, 1.0),
    offsets: bool = True,
    C: float = 1.0,
    shifts: tuple[float, ...] = (0.0,),
    **feat: Any,
) -> Callable[[], Pipeline]:
    def make() -> Pipeline:
        clf = MarginSVC(
            C=C, alphas=alphas, tune_offsets=offsets, prior_shifts=shifts, random_state=SEED
        )
        return Pipeline([("features", build_features(ClassifierParams(**feat))), ("clf", clf)])

    return make


_MORPH: dict[str, Any] = {}


def lemmatise(text: str) -> str:
    """Russian and Ukrainian lemmas (pymorphy3; the Russian dictionary first, as the
    corpus is Russian), cached per word."""
    import re

    from classifier.normalise import normalise_text

    if "ru" not in _MORPH:
        import pymorphy3

        _MORPH["ru"] = pymorphy3.MorphAnalyzer(lang="ru")
        _MORPH["cache"] = {}
    cache: dict[str, str] = _MORPH["cache"]
    out = []
    for w in re.findall(r"\w+", normalise_text(text)):
        lemma = cache.get(w)
        if lemma is None:
            lemma = _MORPH["ru"].parse(w)[0].normal_form if w.isalpha() else w
            cache[w] = lemma
        out.append(lemma)
    return " ".join(out)


def lemma_svc(C: float = 1.0, class_weight: Any = "balanced") -> Callable[[], Pipeline]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    from classifier.normalise import normalise_text

    def make() -> Pipeline:
        feats = FeatureUnion(
            [
                (
                    "lemma",
                    TfidfVectorizer(
                        preprocessor=lemmatise,
                        ngram_range=(1, 2),
                        sublinear_tf=True,
                        dtype=np.float32,
                    ),
                ),
                (
                    "char",
                    TfidfVectorizer(
                        preprocessor=normalise_text,
                        analyzer="char_wb",
                        ngram_range=(2, 5),
                        min_df=2,
                        max_features=400_000,
                        sublinear_tf=True,
                        dtype=np.float32,
                    ),
                ),
            ]
        )
        return Pipeline(
            [
                ("features", feats),
                ("clf", LinearSVC(C=C, class_weight=class_weight, random_state=SEED)),
            ]
        )

    return make


class Ensemble(Candidate):
    """A word model and a char model, each balanced, their decision values summed."""

    def fit(self, rows: list[dict]) -> None:
        texts, labels = [r["text"] for r in rows], [r["category"] for r in rows]
        self.parts = [
            svc(class_weight="balanced", char_ngram_min=0)().fit(texts, labels),
            svc(class_weight="balanced", word_ngram_max=0)().fit(texts, labels),
        ]

    def predict(self, texts: list[str]) -> list[str]:
        total = sum(p.decision_function(texts) for p in self.parts)
        return list(self.parts[0].classes_[np.argmax(total, axis=1)])


class OldProject(Candidate):
    """The gateway's model before the margin estimator: class-balanced LinearSVC (C=0.5)
    in sigmoid calibration by 3-fold cross-validation."""

    def fit(self, rows: list[dict]) -> None:
        from classifier.training import train
        from classifier.types import Example

        params = ClassifierParams(
            holdout_fraction=0, estimator="svc", C=0.5, class_weight="balanced"
        )
        self.model = train(
            [Example(r["text"], r["category"]) for r in rows], params, random_state=SEED
        ).model

    def predict(self, texts: list[str]) -> list[str]:
        return [p.label for p in self.model.predict(texts, top_k=1)]


class Project(Candidate):
    """The gateway's own model as `appeals classifier train` makes it (default
    ClassifierParams without the card's holdout evaluation), predicting through
    TopicModel.predict, i.e. with the confidence routing reads."""

    def fit(self, rows: list[dict]) -> None:
        from classifier.training import train
        from classifier.types import Example

        params = ClassifierParams(holdout_fraction=0)
        self.model = train(
            [Example(r["text"], r["category"]) for r in rows], params, random_state=SEED
        ).model

    def predict(self, texts: list[str]) -> list[str]:
        return [p.label for p in self.model.predict(texts, top_k=1)]


CANDIDATES: dict[str, Candidate] = {
    "project model (classifier.train defaults: MarginSVC)": Project("project", svc()),
    "baseline: word+char TF-IDF + LinearSVC (plain)": Candidate("baseline", svc()),
    "the model before (balanced C=0.5, sigmoid calibration)": OldProject("old", svc()),
    "C=0.5": Candidate("c05", svc(0.5)),
    "balanced class weights": Candidate("bal", svc(class_weight="balanced")),
    "sub-topics, mapped up": Candidate("fine", svc(), fine=True),
    "sub-topics, mapped up, C=0.5": Candidate("fine05", svc(0.5), fine=True),
    "sub-topics, balanced, mapped up": Candidate(
        "finebal", svc(class_weight="balanced"), fine=True
    ),
    "weights alpha tuned {0.5,1} + offsets (MarginSVC)": Candidate("margin", margin()),
    "weights alpha tuned {0.5,1}, no offsets": Candidate("alphaonly", margin(offsets=False)),
    "weights alpha 0.5 + offsets": Candidate("m05", margin((0.5,))),
    "weights alpha 1 + offsets": Candidate("m1", margin((1.0,))),
    "balanced, C=0.5": Candidate("bal05", svc(0.5, class_weight="balanced")),
    "balanced, C=2": Candidate("bal2", svc(2.0, class_weight="balanced")),
    "balanced, lemmas (pymorphy3) + char": Candidate("lemma", lemma_svc()),
    "balanced, ensemble word model + char model": Ensemble("ens", svc()),
    "balanced, C=0.25": Candidate("bal025", svc(0.25, class_weight="balanced")),
    "balanced, C=0.5, lemmas (pymorphy3) + char": Candidate("lemma05", lemma_svc(0.5)),
    "C=0.5, alpha tuned {0.75,1,1.25} (MarginSVC)": Candidate(
        "m05a", margin((0.75, 1.0, 1.25), offsets=False, C=0.5)
    ),
    "C=0.5, alpha tuned {0.75,1,1.25} + offsets": Candidate(
        "m05ao", margin((0.75, 1.0, 1.25), offsets=True, C=0.5)
    ),
    "prior shift beta*-log(prior), beta tuned": Candidate(
        "shift", margin((0.0,), offsets=False, shifts=tuple(np.linspace(0, 0.2, 11)))
    ),
    "prior shift tuned, C=0.5": Candidate(
        "shift05", margin((0.0,), offsets=False, C=0.5, shifts=tuple(np.linspace(0, 0.2, 11)))
    ),
    "char 1-6 + word 1-3": Candidate(
        "wide", svc(word_ngram_max=3, char_ngram_min=1, char_ngram_max=6)
    ),
}


def latency(model: Candidate, texts: list[str]) -> tuple[float, float, float]:
    """One text at a time: wall p50, wall p99 and CPU (this thread) p99, in ms. The
    machine is shared; the CPU figure is what the text itself costs."""
    model.predict(texts[:5])
    lat, cpu = [], []
    for t in texts:
        t0, c0 = time.perf_counter(), time.thread_time()
        model.predict([t])
        lat.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    return (
        float(np.percentile(lat, 50)),
        float(np.percentile(lat, 99)),
        float(np.percentile(cpu, 99)),
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--only", nargs="*", default=None, help="candidate short names")
    args = ap.parse_args()
    print("command: " + shlex.join([sys.executable, *sys.argv]))
    path = corpus_path()
    if not path.is_file():
        print(f"SKIP: corpus not found at {path} (set APPEALS_CORPORA)")
        return 0
    rows = load_rows(path)
    if args.sample > 1:
        rows = rows[:: args.sample]
    tr = [r for r in rows if r["id"] % 5 != 1]
    te = [r for r in rows if r["id"] % 5 == 1]
    print(
        f"{SPLIT}; train {len(tr)}, test {len(te)}, "
        f"classes {len({r['category'] for r in rows})}, "
        f"sub-topics {len(Counter(fine_label(r) for r in rows))}"
    )
    print(f"  load average at start: {os.getloadavg()[0]:.1f}")
    y_te = [r["category"] for r in te]
    sample_texts = [r["text"] for r in te[:: max(1, len(te) // 500)]][:500]
    print(
        f"  {'candidate':<54} {'macro-F1':>8} {'acc':>7} {'train s':>8} {'CPU s':>6}"
        f" {'p50 ms':>7} {'p99 ms':>7} {'p99 CPU':>7}"
    )
    for label, cand in CANDIDATES.items():
        if args.only and cand.name not in args.only and cand.name != "baseline":
            continue
        if cand.name.startswith("lemma") and importlib.util.find_spec("pymorphy3") is None:
            # Not a project dependency (it did not earn its cost): install it by hand
            # (pymorphy3, pymorphy3-dicts-ru) to run this row.
            print(f"  {label:<54} SKIP: pymorphy3 is not installed")
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        cand.fit(tr)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        pred = cand.predict([r["text"] for r in te])
        p50, p99, p99_cpu = latency(cand, sample_texts)
        print(
            f"  {label:<54} {f1_score(y_te, pred, average='macro'):>8.4f} "
            f"{accuracy_score(y_te, pred):>7.4f} {seconds:>8.1f} {cpu:>6.1f}"
            f" {p50:>7.2f} {p99:>7.2f} {p99_cpu:>7.2f}",
            flush=True,
        )
    print(
        "  train s: wall seconds on the shared 2-core machine (load average printed above);"
        " CPU s: this process's CPU seconds"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
