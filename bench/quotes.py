"""Quote and signature stripping measured on real replies and on the project's own fixtures.

Sources and ground truth:
- talon standard_replies (../shared/corpora/mail/replies/talon): expected reply text is
  the `*_reply_text` file where one exists, else "Hello" (talon's own test expectation for
  those fixtures);
- talon html_replies (Gmail, Hotmail, mail.ru, Outlook 2003/2007/2010, Thunderbird,
  Windows Mail, Yandex): expected "Hi. I am fine. Thanks, Alex" (talon's test expectation);
- talon signature/emails/stripped: `<name>_body` with `#sig#` marking signature lines;
  the signature we find must equal `<name>_signature`;
- tests/fixtures/replies: Ukrainian and Russian clients written by the project, each with
  a `.expected` file.
Comparison ignores white space. Run: .venv/bin/python bench/quotes.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gateway.intake.parsing import parse  # noqa: E402
from routing.quotes import split_reply  # noqa: E402


def norm(s: str) -> str:
    return " ".join(s.split())


def run() -> int:
    corpora = Path(os.environ.get("APPEALS_CORPORA", REPO.parent / "shared" / "corpora"))
    talon = corpora / "mail" / "replies" / "talon"
    rows: list[tuple[str, int, int]] = []
    misses: list[str] = []

    def score(source: str, cases: list[tuple[str, str, str]]) -> None:
        ok = 0
        for name, got, want in cases:
            if norm(got) == norm(want):
                ok += 1
            else:
                misses.append(f"{source}/{name}: got {norm(got)[:70]!r}")
        rows.append((source, ok, len(cases)))

    if talon.is_dir():
        cases = []
        for eml in sorted((talon / "standard_replies").glob("*.eml")):
            expected = eml.with_name(eml.stem + "_reply_text")
            want = expected.read_text() if expected.exists() else "Hello"
            p = parse(eml.read_bytes())
            cases.append((eml.name, split_reply(p.text, p.html).reply_text, want))
        score("talon standard_replies", cases)
        cases = []
        for html in sorted((talon / "html_replies").glob("*.html")):
            text = html.read_text(encoding="utf-8", errors="replace")
            cases.append(
                (html.name, split_reply("", text).reply_text, "Hi. I am fine. Thanks, Alex")
            )
        score("talon html_replies", cases)
        cases = []
        stripped = talon / "signature" / "emails" / "stripped"
        for body in sorted(stripped.glob("*_body")):
            sig = body.with_name(body.name[: -len("_body")] + "_signature")
            if not sig.exists():
                continue
            text = body.read_text(encoding="utf-8", errors="replace").replace("#sig#", "")
            want = sig.read_text(encoding="utf-8", errors="replace").replace("#sig#", "")
            cases.append((body.name, split_reply(text).signature, want))
        score("talon signatures", cases)
    else:
        print(f"talon corpus not found under {corpora}: skipped (set APPEALS_CORPORA)")
    cases = []
    for eml in sorted((REPO / "tests" / "fixtures" / "replies").glob("*.eml")):
        p = parse(eml.read_bytes())
        cases.append(
            (
                eml.name,
                split_reply(p.text, p.html).reply_text,
                eml.with_suffix(".expected").read_text(encoding="utf-8"),
            )
        )
    score("project uk/ru fixtures", cases)
    print("command: .venv/bin/python bench/quotes.py")
    print(f"{'source':<26} {'exact':>6} {'cases':>6} {'rate':>6}")
    for source, ok, n in rows:
        print(f"{source:<26} {ok:>6} {n:>6} {ok / n if n else 0:>6.2f}")
    total_ok = sum(r[1] for r in rows)
    total = sum(r[2] for r in rows)
    print(f"{'all':<26} {total_ok:>6} {total:>6} {total_ok / total if total else 0:>6.2f}")
    for m in misses:
        print("miss:", m)
    return 0


if __name__ == "__main__":
    sys.exit(run())
