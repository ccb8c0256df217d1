"""Benchmark the topic classifier and department routing on real appeals.

Data: appeals-spb/train.jsonl.gz from the shared corpora (47,842 St Petersburg
portal appeals, Russian; see corpora/README.md), read in place from
$APPEALS_CORPORA (default <repo>/../shared/corpora); skipped when absent.

Preparation (stated with every figure): text = the appeal's petitions joined by
a space; exact duplicate texts removed (first kept); texts under 20 characters
dropped. To keep the run to a few minutes on 2 cores every comparison uses ONE
stratified 80/20 split (random_state=0), not 5-fold CV.

1. Topic (`category`, 15 classes): project model vs the plain word+char TF-IDF +
   LinearSVC (bench/topic_compare.py compares candidates on a split by appeal id).
2. Department (`executor_org`, rows with a known executor), with the portal's district
   field (what the letter does not carry: bench/routing_from_text.py finds the district
   in the letter's text instead): routing accuracy of
   text-only and text+district linear baselines vs the project's approach, run through
   the gateway's own classifier and routing-table code: the kind of body (the
   department's name without its district) predicted from the text and the context
   features district, repeat and month, then the (kind, district) -> body table learnt
   from the training part's history. Chosen by bench/department_compare.py (CV on the
   training part only). The text is the appeal as an e-mail carries it: the petitions
   plus the address line the portal kept in a form field (see `email_text`); the
   figures without it, and baseline B with it, are printed too.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import OneHotEncoder  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from classifier.context import Context  # noqa: E402
from classifier.pipeline import ClassifierParams, build_features  # noqa: E402
from classifier.registry import ModelRegistry  # noqa: E402
from classifier.training import evaluate, train  # noqa: E402
from classifier.types import Example  # noqa: E402
from routing.rule_learning import learn_table  # noqa: E402

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
    # The plain baseline is the same word + char TF-IDF with a default LinearSVC: a
    # word-only one is weaker and would flatter the project's model.
    vec = build_features(ClassifierParams())
    base = LinearSVC(random_state=SEED).fit(vec.fit_transform([r["text"] for r in tr]), y_tr)
    pred = base.predict(vec.transform([r["text"] for r in te]))
    figure(
        "baseline word+char TF-IDF + LinearSVC macro-F1",
        f"{f1_score(y_te, pred, average='macro'):.4f}",
    )
    figure("baseline word+char TF-IDF + LinearSVC accuracy", f"{accuracy_score(y_te, pred):.4f}")
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

    # The same baseline on the text as an e-mail carries it (with the address line), so
    # that the gain of the project's approach is not just the address.
    vec_m = TfidfVectorizer(sublinear_tf=True)
    xm_tr = sp.hstack([vec_m.fit_transform([email_text(r) for r in tr]), d_tr]).tocsr()
    xm_te = sp.hstack([vec_m.transform([email_text(r) for r in te]), d_te]).tocsr()
    with_m = LinearSVC(random_state=SEED).fit(xm_tr, y_tr)
    figure(
        "for comparison: baseline B on the e-mail text (+ address)",
        f"{accuracy_score(y_te, with_m.predict(xm_te)):.4f}",
    )

    # The project's approach, through the gateway's own code: the classifier is trained on
    # the kind of body (the department's name with its district taken out, "Администрация
    # {district} района"; what an admin gets with `classifier train --target department`
    # on history after mapping per-district offices to their family) with the context
    # features district, repeat and month (`--context district,repeat,month`); the
    # (kind, district) -> body table is what `appeals routing suggest` learns from the
    # same history and `routing apply` puts in force. Chosen by bench/department_compare.py
    # (3-fold CV on the training part only).
    kinds = learn_table((body_kind(r), r["district"], r["executor_org"]) for r in tr)
    figure(
        "table with TRUE kind of body (upper bound of this design)",
        f"{kinds.accuracy((body_kind(r), r['district'], r['executor_org']) for r in te):.4f}",
    )
    chosen = ClassifierParams(
        holdout_fraction=0, class_weight=None, context=("district", "repeat", "month")
    )
    for name, text_of in (
        ("portal text only (no address line)", portal_text),
        ("e-mail text (+ address line)", email_text),
    ):
        t0 = time.perf_counter()
        result = train(
            [Example(text_of(r), body_kind(r), context=context_of(r)) for r in tr],
            chosen,
            random_state=SEED,
        )
        fit_seconds = time.perf_counter() - t0
        preds = result.model.predict(
            [text_of(r) for r in te], top_k=1, contexts=[context_of(r) for r in te]
        )
        hits = np.mean(
            [
                kinds.lookup(p.label, r["district"]) == r["executor_org"]
                for p, r in zip(preds, te, strict=True)
            ]
        )
        figure(f"project, {name}", f"{hits:.4f}")
        figure("  its training seconds (80% part)", f"{fit_seconds:.1f}")
    print(f"  the project's figure is the e-mail text row; command: {COMMAND}")


def body_kind(row: dict) -> str:
    """The department's name with the district's word replaced by a placeholder. The
    district is nominative in the data ("Приморский") and genitive in the body's name
    ("Приморского района"), so the match is on the stem."""
    district = row["district"]
    stem = district[: max(4, len(district) - 3)]
    return re.sub(r"\b" + re.escape(stem) + r"\w*", "{district}", row["executor_org"])


def portal_text(row: dict) -> str:
    return str(row["text"])


def email_text(row: dict) -> str:
    """The appeal as a citizen e-mails it: the portal kept the house's address in a form
    field (filled when the object is a house), a letter carries it in its text. The gateway
    reads the text whole, and finds the district in it (routing.streets; measured in
    bench/routing_from_text.py)."""
    address = row["address"]
    return f"{row['text']}\nАдрес: {address}" if address else str(row["text"])


def context_of(row: dict) -> Context:
    """What the gateway knows besides the text (classifier.context): the district; whether
    the citizen wrote again in the same matter (here: more than one petition in the
    portal's thread; the gateway's repeat status `repeated`); the month of receipt."""
    return Context(
        district=row["district"],
        repeat=len(row["petitions"]) > 1,
        month=int(row["petitions"][0]["dt"][5:7]),
    )


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
