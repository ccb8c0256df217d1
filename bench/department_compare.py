"""Compare candidate department-routing designs by cross-validation on the TRAINING part.

The data, preparation and 80/20 routing split are exactly those of
appeals_spb_benchmark.py (rows with an `executor_org`, random_state=0); this script
never reads the 20% test part, so the design chosen here can be scored there once.

Every `kind` candidate predicts the kind of body (the department's name with its district
taken out, `body_kind`) and names the body with a (kind, district) table learnt from the
fold's history; the `org` rows predict the body directly like the benchmark's baseline B.
Features, fitted on each fold's training rows only:

- text: the project's word + character TF-IDF (classifier.pipeline.build_features), on
  the portal's text or on the e-mail text (the portal's address field as a line of the
  text, `email_text`);
- district, repeat, month: one-hot, as classifier.context feeds them to the gateway's
  model (`context_of`).

The linear model is a plain LinearSVC (C=0.5 unless given) without calibration to keep the
run short, except the last row, which is the gateway's calibrated pipeline itself
(classifier.training.train with the context fields).

Run: .venv/bin/python bench/department_compare.py [C ...]
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
import scipy.sparse as sp  # noqa: E402
from appeals_spb_benchmark import (  # noqa: E402
    body_kind,
    context_of,
    corpus_path,
    email_text,
    load_rows,
    portal_text,
)
from sklearn.model_selection import KFold, train_test_split  # noqa: E402
from sklearn.preprocessing import OneHotEncoder  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from classifier.pipeline import ClassifierParams, build_features  # noqa: E402
from classifier.training import train  # noqa: E402
from classifier.types import Example  # noqa: E402
from routing.rule_learning import learn_table  # noqa: E402

SEED = 0
FOLDS = 3
CONTEXT = ("district", "repeat", "month")

# name -> (target, text, context groups)
CANDIDATES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "org <- portal text + district (baseline B shape)": ("org", "portal", ("district",)),
    "org <- e-mail text + district": ("org", "email", ("district",)),
    "kind <- portal text": ("kind", "portal", ()),
    "kind <- portal text + district + repeat + month": ("kind", "portal", CONTEXT),
    "kind <- e-mail text": ("kind", "email", ()),
    "kind <- e-mail text + district": ("kind", "email", ("district",)),
    "kind <- e-mail text + district + repeat + month": ("kind", "email", CONTEXT),
}


def groups_of(row: dict) -> dict[str, list[str]]:
    ctx = context_of(row)
    return {
        "district": [str(ctx.district)],
        "repeat": [str(ctx.repeat)],
        "month": [str(ctx.month)],
    }


def run_fold(fit: list[dict], held: list[dict], c_values: tuple[float, ...]) -> dict[str, float]:
    texts = {"portal": portal_text, "email": email_text}
    x: dict[str, tuple[sp.csr_matrix, sp.csr_matrix]] = {}
    for name, text_of in texts.items():
        features = build_features(ClassifierParams())
        x[name] = (
            features.fit_transform([text_of(r) for r in fit]),
            features.transform([text_of(r) for r in held]),
        )
    groups: dict[str, tuple[sp.csr_matrix, sp.csr_matrix]] = {}
    for name in CONTEXT:
        enc = OneHotEncoder(handle_unknown="ignore")
        groups[name] = (
            enc.fit_transform([groups_of(r)[name] for r in fit]),
            enc.transform([groups_of(r)[name] for r in held]),
        )
    table = learn_table((body_kind(r), r["district"], r["executor_org"]) for r in fit)
    truth = [r["executor_org"] for r in held]
    out: dict[str, float] = {}
    for cand, (which, text, extras) in CANDIDATES.items():
        a = sp.hstack([x[text][0], *(groups[g][0] for g in extras)]).tocsr()
        b = sp.hstack([x[text][1], *(groups[g][1] for g in extras)]).tocsr()
        for c in c_values:
            target = [r["executor_org"] if which == "org" else body_kind(r) for r in fit]
            pred = LinearSVC(C=c, random_state=SEED).fit(a, target).predict(b)
            if which == "kind":
                pred = [table.lookup(p, r["district"]) for p, r in zip(pred, held, strict=True)]
            out[f"{cand}, C={c}"] = float(
                np.mean([p == t for p, t in zip(pred, truth, strict=True)])
            )
    # The gateway's own calibrated pipeline for the last candidate.
    params = ClassifierParams(holdout_fraction=0, class_weight=None, context=CONTEXT)
    model = train(
        [Example(email_text(r), body_kind(r), context=context_of(r)) for r in fit],
        params,
        random_state=SEED,
    ).model
    preds = model.predict(
        [email_text(r) for r in held], top_k=1, contexts=[context_of(r) for r in held]
    )
    hits = [
        table.lookup(p.label, r["district"]) == t
        for p, r, t in zip(preds, held, truth, strict=True)
    ]
    out["the gateway's pipeline (calibrated): kind <- e-mail text + context"] = float(np.mean(hits))
    return out


def main() -> int:
    print("command: " + shlex.join([sys.executable, *sys.argv]))
    path = corpus_path()
    if not path.is_file():
        print(f"SKIP: corpus not found at {path} (set APPEALS_CORPORA)")
        return 0
    rows = [r for r in load_rows(path) if r.get("executor_org")]
    train_part, _test_part = train_test_split(rows, test_size=0.2, random_state=SEED)
    del _test_part  # never looked at here
    print(
        f"training part of the routing split: {len(train_part)} rows; "
        f"{FOLDS}-fold CV (KFold shuffle, random_state={SEED})"
    )
    c_values = tuple(float(c) for c in (sys.argv[1:] or ["0.5"]))
    scores: dict[str, list[float]] = {}
    started = time.perf_counter()
    rows_arr = np.array(train_part, dtype=object)
    for fold, (fit_idx, held_idx) in enumerate(
        KFold(n_splits=FOLDS, shuffle=True, random_state=SEED).split(rows_arr)
    ):
        result = run_fold(list(rows_arr[fit_idx]), list(rows_arr[held_idx]), c_values)
        for name, value in result.items():
            scores.setdefault(name, []).append(value)
        print(f"  fold {fold} done ({time.perf_counter() - started:.0f} s)", flush=True)
    for name, values in scores.items():
        print(f"  {name:<64} {np.mean(values):.4f} ± {np.std(values):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
