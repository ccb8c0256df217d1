"""Worst-case CPU per message over adversarial inputs, beside the median of ordinary appeals.

Every message goes through the real worker of a throwaway gateway on SQLite (intake,
raw store, parser, screening, registration, letters; `tests/worker_probe.py`), one at a
time; the CPU time is the worker thread's (`time.thread_time`) from claim to commit. The
hostile inputs are the shapes in `tests/adversarial_mail.py` (long white-space runs,
1,000 and 10,000 empty lines, dash runs, MIME nesting just under the limit, a 200 KB
folded header, 450 parts, a 1 MB base64 line, 2,000 encoded words), each within the
default `[limits]`, so each is worked on fully rather than held unread. The ordinary
appeals are generated letters (plain + HTML, base64, Ukrainian text) with varying
streets and numbers. Printed: each input's CPU, its ratio to the ordinary median, its
end state, and the worst ratio against the target of 20x.

Usage: python bench/adversarial.py [--ordinary N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import adversarial_mail  # noqa: E402
from worker_probe import probe  # noqa: E402

TARGET = 20.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ordinary", type=int, default=40, help="ordinary appeals (default 40)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each hostile input (min)")
    args = ap.parse_args()
    print(f"command: python bench/adversarial.py --ordinary {args.ordinary} --repeat {args.repeat}")
    with probe() as p:
        p.feed(adversarial_mail.ordinary(-1, seed=99))  # warm: imports, model, templates
        ordinary = []
        for n in range(args.ordinary):
            r = p.feed(adversarial_mail.ordinary(n))
            ordinary.append(r.cpu_seconds)
        median = statistics.median(ordinary)
        print(
            f"ordinary appeals: {len(ordinary)}, median CPU {median * 1000:.1f} ms "
            f"(min {min(ordinary) * 1000:.1f}, max {max(ordinary) * 1000:.1f})"
        )
        print(f"{'input':<38} {'bytes':>9} {'CPU ms':>9} {'x median':>9}  end state")
        worst = 0.0
        for seq, (name, make) in enumerate(adversarial_mail.HOSTILE.items()):
            best, state = float("inf"), ""
            for run in range(args.repeat):
                raw = make()
                # A distinct Message-ID and bytes each run: a repeat would be a duplicate.
                raw = raw.replace(b"Message-ID: <", f"Message-ID: <r{seq}.{run}.".encode(), 1)
                # And a citizen of its own, so it is registered, not a linked duplicate.
                raw = raw.replace(b"petro.ivanenko@", f"p{seq}.{run}@".encode())
                r = p.feed(raw)
                best = min(best, r.cpu_seconds)
                state = f"{r.state} {r.reason}"
            ratio = best / median
            worst = max(worst, ratio)
            print(f"{name:<38} {len(raw):>9,} {best * 1000:>9.1f} {ratio:>9.1f}  {state}")
    verdict = "met" if worst <= TARGET else "NOT met"
    print(f"worst / median: {worst:.1f}x (target <= {TARGET:g}x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
