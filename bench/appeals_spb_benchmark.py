"""Benchmark the topic classifier and department routing on real appeals.

Data: appeals-spb/train.jsonl.gz from the shared corpora (47,842 St Petersburg
portal appeals, Russian; see corpora/README.md), read in place from
$APPEALS_CORPORA (default <repo>/../shared/corpora); skipped when absent.

Preparation (stated with every figure): text = the appeal's petitions joined by
a space; exact duplicate texts removed (first kept); texts under 20 characters
dropped. To keep the run to a few minutes on 2 cores every comparison uses ONE
stratified 80/20 split (random_state=0), not 5-fold CV.

1. Topic (`category`, 15 classes): project model vs TF-IDF + LinearSVC.
2. Department (`executor_org`, rows with a known executor): routing accuracy of
   text-only and text+district linear baselines vs the project's hierarchical
   approach: the project pipeline predicts the fine topic (`reason`) from text,
   then `learn_table((reason, district) -> org)` learned on the training part
   routes; the top-3 topic probabilities vote through the table. A second label set for
   the same design: the kind of body (the department's name without its district),
   learned from the routing history, then the (kind, district) table. Third, the
   design chosen by bench/department_compare.py (CV on the training part only): the
   kind model also sees whether the appeal is a repeat, the district and the month.
3. Full-set training time, per-appeal latency (p50/p99), size on disk, peak RSS.

Run (from the repository root): .venv/bin/python bench/appeals_spb_benchmark.py
"""

from __future__ import annotations

import gzip
import json
import os
import re
import resource
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from classifier.pipeline import ClassifierParams, build_features, build_pipeline  # noqa: E402
from classifier.registry import ModelRegistry  # noqa: E402
from classifier.routing_table import learn_table  # noqa: E402
from classifier.training import evaluate, train  # noqa: E402
from classifier.types import Example  # noqa: E402

SEED = 0
COMMAND = shlex.join([sys.executable, *sys.argv])
SPLIT = "one stratified 80/20 split, random_state=0 (deduplicated, texts >= 20 chars)"


def corpus_path() -> Path:
    base = Path(os.environ.get("APPEALS_CORPORA", ROOT.parent / "shared" / "corpora"))
    return base / "appeals-spb" / "train.jsonl.gz"


def load_rows(path: Path) -> list[dict]:
    rows, seen = [], set()
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            text = " ".join(p["text"] for p in r["petitions"]).strip()
            if len(text) < 20 or text in seen:
                continue
            seen.add(text)
            r["text"] = text
            rows.append(r)
    return rows


def figure(name: str, value: str) -> None:
    print(f"  {name:<58} {value}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def topic_part(rows: list[dict]) -> None:
    print(f"\n[1] topic = category; {SPLIT}")
    tr, te = train_test_split(
        rows, test_size=0.2, random_state=SEED, stratify=[r["category"] for r in rows]
    )
    print(f"  train {len(tr)}, test {len(te)}, classes {len({r['category'] for r in rows})}")
    y_tr, y_te = [r["category"] for r in tr], [r["category"] for r in te]
    t0 = time.perf_counter()
    vec = TfidfVectorizer()
    base = LinearSVC(random_state=SEED).fit(vec.fit_transform([r["text"] for r in tr]), y_tr)
    pred = base.predict(vec.transform([r["text"] for r in te]))
    figure(
        "baseline TF-IDF(word) + LinearSVC macro-F1", f"{f1_score(y_te, pred, average='macro'):.4f}"
    )
    figure("baseline TF-IDF(word) + LinearSVC accuracy", f"{accuracy_score(y_te, pred):.4f}")
    figure("baseline fit+predict seconds", f"{time.perf_counter() - t0:.1f}")
    params = ClassifierParams(holdout_fraction=0)
    result = train([Example(r["text"], r["category"]) for r in tr], params, random_state=SEED)
    report = evaluate(result.model, [Example(r["text"], r["category"]) for r in te])
    figure("project model macro-F1", f"{report.macro_f1:.4f}")
    figure("project model accuracy", f"{report.accuracy:.4f}")
    figure("project model training seconds (80% part)", f"{result.report.training_seconds:.1f}")


def routing_part(rows: list[dict]) -> None:
    rows = [r for r in rows if r.get("executor_org")]
    print(f"\n[2] department = executor_org (rows with one: {len(rows)}); one random 80/20")
    print("  split, random_state=0 (not stratified: some bodies have a single appeal)")
    tr, te = train_test_split(rows, test_size=0.2, random_state=SEED)
    y_tr, y_te = [r["executor_org"] for r in tr], [r["executor_org"] for r in te]
    print(f"  train {len(tr)}, test {len(te)}, departments {len(set(y_tr) | set(y_te))}")
    vec = TfidfVectorizer(sublinear_tf=True)
    x_tr = vec.fit_transform([r["text"] for r in tr])
    x_te = vec.transform([r["text"] for r in te])
    text_only = LinearSVC(random_state=SEED).fit(x_tr, y_tr)
    figure(
        "baseline A: TF-IDF + LinearSVC, text only",
        f"{accuracy_score(y_te, text_only.predict(x_te)):.4f}",
    )
    onehot = OneHotEncoder(handle_unknown="ignore")
    d_tr = onehot.fit_transform([[r["district"]] for r in tr])
    d_te = onehot.transform([[r["district"]] for r in te])
    with_d = LinearSVC(random_state=SEED).fit(sp.hstack([x_tr, d_tr]).tocsr(), y_tr)
    acc_b = accuracy_score(y_te, with_d.predict(sp.hstack([x_te, d_te]).tocsr()))
    figure("baseline B: same + district one-hot", f"{acc_b:.4f}")

    # Project: fine topic from text, then the learned (topic, district) table.
    table = learn_table((r["reason"], r["district"], r["executor_org"]) for r in tr)
    figure(
        "table with TRUE reason (upper bound of this design)",
        f"{table.accuracy((r['reason'], r['district'], r['executor_org']) for r in te):.4f}",
    )
    params = ClassifierParams(holdout_fraction=0, top_k=3)
    result = train([Example(r["text"], r["reason"]) for r in tr], params, random_state=SEED)
    preds = result.model.predict([r["text"] for r in te])
    hard = np.mean(
        [
            table.lookup(p.label, r["district"]) == r["executor_org"]
            for p, r in zip(preds, te, strict=True)
        ]
    )
    figure("project: predicted reason -> table (top-1)", f"{hard:.4f}")
    soft_hits = 0
    for p, r in zip(preds, te, strict=True):
        votes: Counter[str] = Counter()
        for label, score in p.top_k:
            votes[table.lookup(label, r["district"]) or ""] += score
        soft_hits += votes.most_common(1)[0][0] == r["executor_org"]
    figure("project: predicted reason top-3 vote -> table", f"{soft_hits / len(te):.4f}")

    # Project, second label set: the kind of body (the department's name with its district
    # taken out: "Администрация {district} района"), learned from the routing history
    # itself; the (kind, district) table then names the body. This is what an admin gets
    # by training the topic model on department families instead of subject topics.
    kinds = learn_table((body_kind(r), r["district"], r["executor_org"]) for r in tr)
    figure(
        "table with TRUE kind of body (upper bound)",
        f"{kinds.accuracy((body_kind(r), r['district'], r['executor_org']) for r in te):.4f}",
    )
    result = train([Example(r["text"], body_kind(r)) for r in tr], params, random_state=SEED)
    preds = result.model.predict([r["text"] for r in te])
    hits = np.mean(
        [
            kinds.lookup(p.label, r["district"]) == r["executor_org"]
            for p, r in zip(preds, te, strict=True)
        ]
    )
    figure("project: predicted kind of body -> table", f"{hits:.4f}")

    # Chosen by bench/department_compare.py (3-fold CV on the training part only): the
    # kind model also sees the repeat flag, the district and the month, unweighted.
    extras = ("repeat", "district", "month")
    chosen = ClassifierParams(holdout_fraction=0, class_weight=None)
    kind_counts = Counter(body_kind(r) for r in tr)
    # Kinds too rare for the 3 calibration folds are left out, as classifier.training does.
    fit_rows = [r for r in tr if kind_counts[body_kind(r)] >= chosen.calibration_cv]
    t0 = time.perf_counter()
    router = build_context_pipeline(chosen, len(extras))
    router.fit(context_matrix(fit_rows, extras), [body_kind(r) for r in fit_rows])
    fit_seconds = time.perf_counter() - t0
    pred = router.predict(context_matrix(te, extras))
    hits = np.mean(
        [kinds.lookup(p, r["district"]) == r["executor_org"] for p, r in zip(pred, te, strict=True)]
    )
    figure("project: kind <- text + repeat + district + month -> table", f"{hits:.4f}")
    figure("  its training seconds (80% part)", f"{fit_seconds:.1f}")
    # What the same extra signals give the baseline, so the gain can be attributed.
    e_tr = OneHotEncoder(handle_unknown="ignore")
    x_tr_e = sp.hstack([x_tr, e_tr.fit_transform(context_matrix(tr, extras)[:, 1:])]).tocsr()
    x_te_e = sp.hstack([x_te, e_tr.transform(context_matrix(te, extras)[:, 1:])]).tocsr()
    with_e = LinearSVC(random_state=SEED).fit(x_tr_e, y_tr)
    figure(
        "for comparison: baseline B + repeat + month",
        f"{accuracy_score(y_te, with_e.predict(x_te_e)):.4f}",
    )


def context_matrix(rows: list[dict], extras: tuple[str, ...]) -> np.ndarray:
    """One row per appeal: the text, then one column per extra signal."""
    return np.array(
        [[r["text"], *(routing_extras(r)[name][0] for name in extras)] for r in rows],
        dtype=object,
    )


def build_context_pipeline(params: ClassifierParams, n_extras: int) -> Pipeline:
    """The project's features and calibrated classifier, with one-hot context columns.

    Column 0 is the text (the project's word + character TF-IDF); columns 1..n are
    categorical signals. The classifier step is the project's own (build_pipeline).
    """
    clf = build_pipeline(params, random_state=SEED).named_steps["clf"]
    features = ColumnTransformer(
        [
            ("text", build_features(params), 0),
            ("context", OneHotEncoder(handle_unknown="ignore"), list(range(1, n_extras + 1))),
        ]
    )
    return Pipeline([("features", features), ("clf", clf)])


def body_kind(row: dict) -> str:
    """The department's name with the district's word replaced by a placeholder. The
    district is nominative in the data ("Приморский") and genitive in the body's name
    ("Приморского района"), so the match is on the stem."""
    district = row["district"]
    stem = district[: max(4, len(district) - 3)]
    return re.sub(r"\b" + re.escape(stem) + r"\w*", "{district}", row["executor_org"])


def routing_extras(row: dict) -> dict[str, list[str]]:
    """Non-text signals a gateway has when it routes, as one-hot categories.

    - district: extracted from the appeal by the gateway; the portal's field here;
    - repeat: the citizen wrote again after an answer (more than one petition in the
      thread); the gateway flags these as repeated appeals, and the law sends them to
      the body above the one that answered;
    - month: of the first petition (the receipt date is always known);
    - address: the portal's address field. It is filled exactly when the citizen picked
      a house or a flat as the object in the web form, so it is a form choice rather
      than something read from the text; compared for information only.
    """
    address = row["address"]
    locality = address.split(",")[0].split(" ")[0] if address else "none"
    house = re.search(r"\bдом\b", address) is not None
    return {
        "district": [row["district"]],
        "repeat": ["repeat" if len(row["petitions"]) > 1 else "first"],
        "month": [row["petitions"][0]["dt"][:7]],
        "address": [f"{house}|{locality}"],
    }


def cost_part(rows: list[dict]) -> None:
    print("\n[3] cost: project topic model trained on ALL deduplicated rows (category)")
    examples = [Example(r["text"], r["category"]) for r in rows]
    result = train(examples, ClassifierParams(holdout_fraction=0), random_state=SEED)
    figure("training seconds (full set, 2 cores)", f"{result.report.training_seconds:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        registry = ModelRegistry(tmp)
        version = registry.save(result)
        size = sum(f.stat().st_size for f in (Path(tmp) / version).iterdir())
        figure("model size on disk (model.skops + card.json)", f"{size / 1e6:.1f} MB")
        t0 = time.perf_counter()
        model = registry.load(version)
        figure("load seconds", f"{time.perf_counter() - t0:.2f}")
    sample = [r["text"] for r in rows[:: max(1, len(rows) // 1000)]][:1000]
    model.predict(sample[:5])  # warm-up
    lat = []
    for text in sample:
        t0 = time.perf_counter()
        model.predict([text])
        lat.append((time.perf_counter() - t0) * 1000)
    figure(
        "latency per appeal, one at a time, p50 / p99 (ms)",
        f"{np.percentile(lat, 50):.2f} / {np.percentile(lat, 99):.2f}",
    )
    figure("peak RSS of this whole benchmark process", f"{peak_rss_mb():.0f} MB")


def main() -> int:
    path = corpus_path()
    if not path.is_file():
        print(f"SKIP: corpus not found at {path} (set APPEALS_CORPORA)")
        return 0
    print(f"command: {COMMAND}")
    started = time.perf_counter()
    rows = load_rows(path)
    print(f"data: {path}; {len(rows)} rows after dedupe and <20-char drop")
    parts = sys.argv[1:] or ["topic", "routing", "cost"]
    if "topic" in parts:
        topic_part(rows)
    if "routing" in parts:
        routing_part(rows)
    if "cost" in parts:
        cost_part(rows)
    print(f"\ntotal benchmark seconds: {time.perf_counter() - started:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
