"""The address resolver on Lviv addresses in the forms people write them.

Register: bench/data/lviv_streets.csv (written for this bench from general knowledge of
Lviv's streets and its six districts: a partial register of 108 rows, with split streets
by house range and by side, old names and Russian forms as aliases; not an official
export, so a district here is "the district in this register"). Addresses:
bench/data/lviv_addresses_handwritten.csv (hard cases written by hand, including letters
that name no street of the register, which must get no district) and
bench/data/lviv_addresses_generated.csv (bench/data/make_lviv_addresses.py, seed 17:
abbreviations, Russian forms, case endings, old names, one-letter typos, signatures).
The hand-written and generated sets were used while the resolver was written (its misses
there were fixed), so they are development figures; bench/data/lviv_addresses_holdout.csv
was written by hand after the resolver was frozen and scored once.

A hit is the expected district (or no district where none is expected); a wrong district
is counted apart from no district, since it misroutes where "none" only falls back.

Run: .venv/bin/python bench/addresses_lviv.py
"""

from __future__ import annotations

import csv
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.streets import AddressResolver, load_register  # noqa: E402

DATA = ROOT / "bench" / "data"
DISTRICTS = (
    "Галицький",
    "Залізничний",
    "Личаківський",
    "Сихівський",
    "Франківський",
    "Шевченківський",
)


def main() -> int:
    print("command: " + shlex.join([sys.executable, *sys.argv]))
    register = load_register(DATA / "lviv_streets.csv", DISTRICTS)
    resolver = AddressResolver(register, DISTRICTS)
    print(f"register: {len(register.rows)} rows, {len(list(register.keys()))} street keys")
    show = "-v" in sys.argv
    for name in (
        "lviv_addresses_handwritten.csv",
        "lviv_addresses_generated.csv",
        "lviv_addresses_holdout.csv",
    ):
        with open(DATA / name, encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        by_form: dict[str, Counter[str]] = {}
        lat = []
        for r in rows:
            t0 = time.perf_counter()
            got = resolver.resolve(r["text"])
            lat.append((time.perf_counter() - t0) * 1000)
            want = r["district"] or None
            verdict = (
                "right" if got.district == want else "none" if got.district is None else "wrong"
            )
            by_form.setdefault(r["form"], Counter())[verdict] += 1
            if show and verdict != "right":
                print(f"    {verdict}: {r['text']!r} -> {got.district} ({got.how}), want {want}")
        total: Counter[str] = sum(by_form.values(), Counter())
        n = sum(total.values())
        print(
            f"\n{name}: {n} addresses; right {total['right']} ({total['right'] / n:.4f}), "
            f"wrong district {total['wrong']}, no district {total['none']}"
        )
        for form, c in sorted(by_form.items()):
            m = sum(c.values())
            print(
                f"  {form:<18} {c['right']:>4}/{m:<4} {c['right'] / m:.3f}"
                f"  wrong {c['wrong']:>3}  none {c['none']:>3}"
            )
        lat.sort()
        print(
            f"  resolve latency p50 / p99: {lat[len(lat) // 2]:.2f} / "
            f"{lat[int(len(lat) * 0.99)]:.2f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
