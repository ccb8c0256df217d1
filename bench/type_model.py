"""The type of an appeal (Law 393/96-ВР Art. 3: proposal, application, complaint) as
`routing.characteristics.appeal_type` decides it, against a labelled set written for the
project: bench/data/appeal_types.jsonl (311 letters in Ukrainian and Russian, short and
long, with signatures, quoted history, mixed requests and complaints).

Split: the held-out part is every letter whose `id` is divisible by 4 (fixed: 77 letters; 234 left);
the rules may be tuned looking at the rest (the development part) only. Both parts'
figures are printed; the held-out macro-F1 is the one to quote.

Run: .venv/bin/python bench/type_model.py [--errors]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sklearn.metrics import classification_report, confusion_matrix, f1_score  # noqa: E402

from routing.characteristics import TYPES, appeal_type  # noqa: E402

DATA = Path(__file__).with_name("data") / "appeal_types.jsonl"


def held_out(item: dict[str, object]) -> bool:
    return int(str(item["id"])) % 4 == 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--errors", action="store_true", help="list the development part's errors")
    a = p.parse_args()
    items = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    print(f"command: .venv/bin/python bench/type_model.py; {len(items)} letters in {DATA.name}")
    for name, part in (
        ("development", [i for i in items if not held_out(i)]),
        ("held-out (id % 4 == 0)", [i for i in items if held_out(i)]),
    ):
        gold = [str(i["type"]) for i in part]
        got = [appeal_type(str(i["text"])) for i in part]
        macro = f1_score(gold, got, labels=list(TYPES), average="macro")
        print(f"\n{name}: {len(part)} letters, macro-F1 {macro:.3f}")
        print(classification_report(gold, got, labels=list(TYPES), digits=3, zero_division=0))
        print("confusion (rows: true, columns: predicted)", TYPES)
        print(confusion_matrix(gold, got, labels=list(TYPES)))
        if a.errors and not name.startswith("held"):
            for i, g, r in zip(part, gold, got, strict=True):
                if g != r:
                    print(f"  #{i['id']} {g} -> {r}: {str(i['text'])[:110]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
