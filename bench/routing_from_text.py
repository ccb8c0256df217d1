"""Department routing measured the way the gateway works: the district found in the
letter's own text (routing.streets), not taken from the portal's form field.

Data: appeals-spb/train.jsonl.gz (read in place from $APPEALS_CORPORA), prepared as in
appeals_spb_benchmark.py (petitions joined, exact duplicates and texts under 20 characters
dropped), rows with an `executor_org`. Split by appeal id: test = `id % 5 == 1`, the rest
trains (the corpus itself holds only ids with `id % 5 != 0`). `--sample N` keeps every
k-th row of both parts for quick exploration; figures for the README use the full split.

The letter is the appeal as an e-mail carries it (`email_text`: the petitions plus the
house's address the portal kept in a form field, as a citizen writes it in the letter).

The street register is learned from the training part's history only (every training
appeal's address -> its district, through routing.streets `StreetRegister.observe`,
what the gateway does with the streets of appeals staff confirmed or corrected,
routing.street_learning), then routing.streets `AddressResolver` finds the district in
each test letter's text (no St Petersburg register CSV exists here: history is all).

Compared on the same test rows:
- baseline: plain word+char TF-IDF + LinearSVC on the text plus the found district one-hot
  (no district: all zeros), predicting the body directly;
- the gateway's chain (the order of routing.departments `route`): district found -> the
  kind of body from the text and the district, then the (kind, district) -> body table
  learnt from the training part (what `appeals routing suggest` learns); no district -> a
  model that predicts the body from the text alone; its top decision value below a
  threshold -> triage (printed for several thresholds; a triaged letter is not routed).

Run: .venv/bin/python bench/routing_from_text.py [--sample N]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from appeals_spb_benchmark import body_kind, corpus_path, email_text, load_rows  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.pipeline import FeatureUnion  # noqa: E402
from sklearn.preprocessing import OneHotEncoder  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from routing.rule_learning import learn_table  # noqa: E402
from routing.streets import AddressResolver, StreetRegister, parse_address  # noqa: E402

SEED = 0
SPLIT = "split by appeal id: test = id % 5 == 1, train = the rest (rows with executor_org)"


def features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)),
            (
                "char",
                TfidfVectorizer(
                    sublinear_tf=True,
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=2,
                    max_features=300_000,
                ),
            ),
        ]
    )


def learned_register(rows: list[dict]) -> StreetRegister:
    register = StreetRegister()
    for r in rows:
        if r["address"]:
            m = parse_address(r["address"])
            if m is not None:
                register.observe(m.kinds[0], m.name, m.house, r["district"])
    return register


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=0, help="keep every k-th row (exploration)")
    ap.add_argument("--margin", type=float, default=-0.3, help="triage below this margin")
    args = ap.parse_args()
    print("command: " + shlex.join([sys.executable, *sys.argv]))
    path = corpus_path()
    if not path.is_file():
        print(f"SKIP: corpus not found at {path} (set APPEALS_CORPORA)")
        return 0
    rows = [r for r in load_rows(path) if r.get("executor_org")]
    if args.sample > 1:
        rows = rows[:: args.sample]
    tr = [r for r in rows if r["id"] % 5 != 1]
    te = [r for r in rows if r["id"] % 5 == 1]
    print(f"{SPLIT}; train {len(tr)}, test {len(te)}")
    t0 = time.perf_counter()
    register = learned_register(tr)
    districts = tuple(sorted({r["district"] for r in rows}))
    resolver = AddressResolver(register, districts)
    found = [resolver.resolve(email_text(r)) for r in te]
    seconds = time.perf_counter() - t0
    with_d = [f for f in found if f.district]
    right = sum(f.district == r["district"] for f, r in zip(found, te, strict=True))
    print(
        f"  register learnt from {sum(1 for r in tr if r['address'])} training addresses,"
        f" {len(list(register.keys()))} street keys; resolve {seconds:.1f} s"
    )
    print(
        f"  district found for {len(with_d)}/{len(te)} test letters, right {right}"
        f" ({right / max(1, len(with_d)):.4f} of found); by how: "
        f"{dict(Counter(f.how for f in found))}"
    )

    # Baseline: text + found-district one-hot, body directly.
    y_tr = [r["executor_org"] for r in tr]
    y_te = [r["executor_org"] for r in te]
    tr_found = [resolver.resolve(email_text(r)).district for r in tr]
    vec = features()
    x_tr = vec.fit_transform([email_text(r) for r in tr])
    x_te = vec.transform([email_text(r) for r in te])
    onehot = OneHotEncoder(handle_unknown="ignore")
    d_tr = onehot.fit_transform([[d or ""] for d in tr_found])
    d_te = onehot.transform([[f.district or ""] for f in found])
    base = LinearSVC(C=0.5, random_state=SEED).fit(sp.hstack([x_tr, d_tr]).tocsr(), y_tr)
    base_pred = base.predict(sp.hstack([x_te, d_te]).tocsr())

    # The chain.
    kinds_tr = [body_kind(r) for r in tr]
    d_true = OneHotEncoder(handle_unknown="ignore").fit([[r["district"]] for r in tr])
    kind_model = LinearSVC(C=0.5, random_state=SEED).fit(
        sp.hstack([x_tr, d_true.transform([[r["district"]] for r in tr])]).tocsr(), kinds_tr
    )
    table = learn_table((body_kind(r), r["district"], r["executor_org"]) for r in tr)
    text_model = LinearSVC(C=0.5, random_state=SEED).fit(x_tr, y_tr)
    has = np.array([f.district is not None for f in found])
    idx = np.flatnonzero(has)
    chain = np.array([""] * len(te), dtype=object)
    if len(idx):
        xd = sp.hstack([x_te[idx], d_true.transform([[found[i].district] for i in idx])]).tocsr()
        for i, k in zip(idx, kind_model.predict(xd), strict=True):
            chain[i] = table.lookup(k, found[i].district)
    rest = np.flatnonzero(~has)
    margins = np.zeros(len(te))
    if len(rest):
        scores = text_model.decision_function(x_te[rest])
        for i, row in zip(rest, scores, strict=True):
            chain[i] = text_model.classes_[int(np.argmax(row))]
            margins[i] = float(np.max(row))
    truth = np.array(y_te, dtype=object)
    base_pred = np.asarray(base_pred, dtype=object)

    def acc(pred: np.ndarray, rows: np.ndarray) -> str:
        return f"{np.mean(pred[rows] == truth[rows]):.4f}" if len(rows) else "-"

    every = np.arange(len(te))
    print(f"\n  department accuracy, {SPLIT}:")
    print(f"  {'rows':<44} {'n':>6} {'baseline':>9} {'chain':>7}")
    for name, rows in (
        ("all test letters (no triage)", every),
        ("letters whose district was found", idx),
        ("letters with no district found", rest),
    ):
        print(f"  {name:<44} {len(rows):>6} {acc(base_pred, rows):>9} {acc(chain, rows):>7}")
    print("  baseline: word+char TF-IDF + LinearSVC on the text + found-district one-hot;")
    print("  chain: district found -> kind of body (text + district) -> (kind, district) table;")
    print("         no district -> the body from the text alone (LinearSVC on the text)")
    print("\n  with triage for the no-district letters whose top decision value < threshold:")
    print(
        f"  {'threshold':>9} {'triaged':>8} {'accuracy of routed':>19} {'all, triage = miss':>19}"
    )
    for t in (-9.0, -0.5, -0.3, -0.1, 0.0, 0.2):
        triaged = np.zeros(len(te), dtype=bool)
        triaged[rest] = margins[rest] < t
        routed = ~triaged
        right = (chain == truth) & routed
        print(
            f"  {t:>9.1f} {int(triaged.sum()):>8} {right.sum() / max(1, routed.sum()):>19.4f}"
            f" {right.sum() / len(te):>19.4f}"
        )
    print(f"  total seconds {time.perf_counter() - t0:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
