"""routing.addresses.find_addresses on hostile letters: time at 10k and 40k characters.

A parser that backtracks, or that rescans the rest of the text from every word, grows
with the square of the input: 4x the text costs 16x the time. The inputs are the shapes
a hostile (or broken) letter can take against this parser: one very long word, long runs
of capitalised words or hyphen-joined parts (every part a place where a name may start),
and the same with the address kinds ("вул.", "м.", "р-н") before or after each word.
Printed: each input's time at both sizes (best of `--repeat` runs) and the growth ratio;
linear work grows about 4x, quadratic about 16x.

Run: .venv/bin/python bench/addresses_hostile.py [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from routing.addresses import find_addresses  # noqa: E402


def _fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


HOSTILE: dict[str, Callable[[int], str]] = {
    "one long capitalised word": lambda n: "А" + "а" * (n - 1),
    "hyphen-joined parts": lambda n: _fill("Аб-", n),
    "capitalised words": lambda n: _fill("Абвгд ", n),
    "known city repeated": lambda n: _fill("Луцьк ", n),
    "street kind + long word": lambda n: "вул. " + "Б" + "б" * (n - 6),
    "street kind before each word": lambda n: _fill("вул. Абв ", n),
    "settlement kind before each word": lambda n: _fill("м. Абв ", n),
    "word + raion after each": lambda n: _fill("Абв р-н ", n),
    "word + street kind after each": lambda n: _fill("Абв узвіз ", n),
    "capitalised words and numbers": lambda n: _fill("Абв 12 ", n),
    "address then capitalised words": lambda n: "вул. Шевченка, 12 " + _fill("Абв ", n - 18),
}


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each input (best taken)")
    args = ap.parse_args()
    print(f"command: python bench/addresses_hostile.py --repeat {args.repeat}")
    print(f"{'input':<34} {'10k ms':>9} {'40k ms':>9} {'growth':>7}  found(40k)")
    worst = 0.0
    for name, make in HOSTILE.items():
        small, large = make(10_000), make(40_000)
        t_small = _best(lambda s=small: find_addresses(s), args.repeat)
        t_large = _best(lambda s=large: find_addresses(s), args.repeat)
        growth = t_large / max(t_small, 1e-9)
        worst = max(worst, growth)
        found = len(find_addresses(large))
        print(f"{name:<34} {t_small * 1e3:>9.1f} {t_large * 1e3:>9.1f} {growth:>7.1f}  {found}")
    print(f"worst growth 10k -> 40k: {worst:.1f}x (linear ~4x, quadratic ~16x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
