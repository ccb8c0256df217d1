"""Compare candidate department-routing designs by cross-validation on the TRAINING part.

The data, preparation and 80/20 routing split are exactly those of
appeals_spb_benchmark.py (rows with an `executor_org`, random_state=0); this script
never reads the 20% test part, so the design chosen here can be scored there once.

Every candidate predicts the kind of body (the department's name with its district
taken out, `body_kind`) and names the body with a (kind, district) table learnt from
the fold's history, except the `org` rows, which predict the body directly like the
benchmark's baseline B. Features, fitted on each fold's training rows only:

- text: the project's word + character TF-IDF (classifier.pipeline.build_features);
- district: one-hot of the district (the gateway extracts it from the appeal);
- repeat: the appeal is a follow-up, i.e. the citizen wrote again in the same thread
  (`len(petitions) > 1`); the gateway recognises these as repeated appeals;
- address: what the address says when there is one: present or not, a house number
  or not, and the locality (St Petersburg proper or a suburb town);
- month: month of the first petition.

The linear model is a plain LinearSVC (no calibration) to keep the run short; the
benchmark itself then uses the project's calibrated pipeline for the chosen design.

Run: .venv/bin/python bench/department_compare.py
"""

from __future__ import annotations

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
import scipy.sparse as sp  # noqa: E402
from appeals_spb_benchmark import body_kind, corpus_path, load_rows, routing_extras  # noqa: E402
from sklearn.calibration import CalibratedClassifierCV  # noqa: E402
from sklearn.model_selection import KFold, train_test_split  # noqa: E402
from sklearn.preprocessing import OneHotEncoder  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from classifier.pipeline import ClassifierParams, build_features  # noqa: E402
from classifier.routing_table import learn_table  # noqa: E402

SEED = 0
FOLDS = 3
EXTRAS = ("district", "repeat", "address", "month")

# name -> (target, extra feature groups, class_weight, calibrated)
CANDIDATES: dict[str, tuple[str, tuple[str, ...], str | None, bool]] = {
    "org <- text + district (baseline B shape)": ("org", ("district",), None, False),
    "org <- text + district + repeat": ("org", ("district", "repeat"), None, False),
    "org <- text + district + repeat + month": (
        "org",
        ("district", "repeat", "month"),
        None,
        False,
    ),
    "kind <- text (benchmark design, uncalibrated)": ("kind", (), "balanced", False),
    "kind <- text (benchmark design)": ("kind", (), "balanced", True),
    "kind <- text, unweighted": ("kind", (), None, False),
    "kind <- text + repeat": ("kind", ("repeat",), None, False),
    "kind <- text + repeat, calibrated": ("kind", ("repeat",), None, True),
    "kind <- text + repeat, balanced + calibrated": ("kind", ("repeat",), "balanced", True),
    "kind <- text + repeat + district": ("kind", ("repeat", "district"), None, False),
    "kind <- text + repeat + month": ("kind", ("repeat", "month"), None, False),
    "kind <- text + repeat + district + month": (
        "kind",
        ("repeat", "district", "month"),
        None,
        False,
    ),
    "kind <- text + repeat + district + month, calibrated": (
        "kind",
        ("repeat", "district", "month"),
        None,
        True,
    ),
    "kind <- text, calibrated -> (kind, repeat) table": ("kind+", (), None, True),
    "kind <- text + repeat, calibrated -> (kind, repeat) table": ("kind+", ("repeat",), None, True),
    # For information only: the address field is the portal's object-type choice.
    "kind <- text + repeat + address (form field)": ("kind", ("repeat", "address"), None, False),
}


def target(row: dict, which: str) -> str:
    return row["executor_org"] if which == "org" else body_kind(row)  # "kind" and "kind+"


def repeat_key(row: dict) -> str:
    return routing_extras(row)["repeat"][0]


def run_fold(fit: list[dict], held: list[dict], c_values: tuple[float, ...]) -> dict[str, float]:
    features = build_features(ClassifierParams())
    x_fit = features.fit_transform([r["text"] for r in fit])
    x_held = features.transform([r["text"] for r in held])
    groups: dict[str, tuple[sp.csr_matrix, sp.csr_matrix]] = {}
    for name in EXTRAS:
        enc = OneHotEncoder(handle_unknown="ignore")
        groups[name] = (
            enc.fit_transform([routing_extras(r)[name] for r in fit]),
            enc.transform([routing_extras(r)[name] for r in held]),
        )
    table = learn_table((body_kind(r), r["district"], r["executor_org"]) for r in fit)
    # The same history with the repeat flag in the key: repeated appeals may go elsewhere.
    table_r = learn_table(
        ((body_kind(r), repeat_key(r)), r["district"], r["executor_org"]) for r in fit
    )
    counts = Counter(body_kind(r) for r in fit)
    truth = [r["executor_org"] for r in held]
    out: dict[str, float] = {}
    for cand, (which, extras, weight, calibrated) in CANDIDATES.items():
        a = sp.hstack([x_fit, *(groups[g][0] for g in extras)]).tocsr()
        b = sp.hstack([x_held, *(groups[g][1] for g in extras)]).tocsr()
        for c in c_values:
            model: Any = LinearSVC(C=c, class_weight=weight, random_state=SEED)
            keep = np.arange(len(fit))
            if calibrated:
                # As the project pipeline does: one SVM, sigmoid-calibrated on 3 folds;
                # like classifier.training, kinds too rare for 3 folds are left out.
                model = CalibratedClassifierCV(model, method="sigmoid", cv=3, ensemble=False)
                keep = np.array([i for i, r in enumerate(fit) if counts[body_kind(r)] >= 3])
            model.fit(a[keep], [target(fit[i], which) for i in keep])
            pred = model.predict(b)
            route: Callable[[str, dict], str | None]
            if which == "org":
                route = lambda p, _r: p  # noqa: E731
            elif which == "kind+":
                route = lambda p, r: table_r.lookup((p, repeat_key(r)), r["district"])  # noqa: E731
            else:
                route = lambda p, r: table.lookup(p, r["district"])  # noqa: E731
            hits = [route(p, r) == t for p, r, t in zip(pred, held, truth, strict=True)]
            out[f"{cand}, C={c}"] = float(np.mean(hits))
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
