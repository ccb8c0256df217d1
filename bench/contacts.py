"""Contact extraction (routing.citizen) measured on the project's labelled letters.

Data: bench/data/contacts_labelled.jsonl, written by the project (not third-party): one
letter text per line with the name, postal address, phones and problem place a clerk
would take from it, and tags for what makes it hard (no-comma, abbreviations,
phone-in-line, russian, body-vs-signature, several-phones, no-address, email-only,
village, kyiv-district, postcode-first/last, labelled, residence-phrase, ...). Each text
goes through the gateway's own path: a MIME message parsed by gateway.intake.parsing,
split by routing.features.appeal_text, read by routing.citizen.extract_citizen.

Scoring, per field:
- name, address: one value per letter; a value found and equal to the label is a true
  positive, a value found and wrong (or found where the label has none) a false positive,
  a labelled value not found or wrong a false negative. Names compare without case,
  spaces and punctuation; addresses by routing.addresses.normalise (case, punctuation and
  long kinds "вулиця" = "вул.").
- phones: the set of numbers in E.164, counted number by number.
- overall: the three fields' counts summed (micro average). The problem place
  ("location") is shown on its own line and not in the overall figure.

Run: .venv/bin/python bench/contacts.py [--misses] [--tag TAG]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gateway.intake.parsing import parse  # noqa: E402
from routing import addresses, phones  # noqa: E402
from routing.citizen import CitizenInfo, extract_citizen  # noqa: E402
from routing.features import appeal_text  # noqa: E402

DATA = REPO / "bench" / "data" / "contacts_labelled.jsonl"
FIELDS = ("name", "address", "phones")


def load(path: Path = DATA) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def extract(record: dict[str, Any]) -> CitizenInfo:
    """The record's letter sent through the gateway's parsing and extraction."""
    m = EmailMessage()
    sender = "citizen@example.org"
    m["From"] = f"{record['from']} <{sender}>" if record.get("from") else sender
    m["To"] = "appeals@council.example"
    m["Subject"] = "Звернення"
    m.set_content(record["text"])
    parsed = parse(m.as_bytes())
    _, text = appeal_text(parsed)
    return extract_citizen(parsed, text)


def _name_key(s: str | None) -> str | None:
    return re.sub(r"[\W_]+", "", s).lower() if s else None


def _addr_key(s: str | None) -> str | None:
    return addresses.normalise(s) if s else None


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def _single(got: str | None, want: str | None) -> Counts:
    if got is not None and got == want:
        return Counts(tp=1)
    return Counts(fp=int(got is not None), fn=int(want is not None))


@dataclass
class Scores:
    fields: dict[str, Counts] = field(default_factory=lambda: {f: Counts() for f in FIELDS})
    location: Counts = field(default_factory=Counts)
    misses: list[str] = field(default_factory=list)

    @property
    def overall(self) -> Counts:
        total = Counts()
        for c in self.fields.values():
            total.add(c)
        return total


def score_one(record: dict[str, Any], info: CitizenInfo) -> dict[str, Counts]:
    want = record["expected"]
    out = {
        "name": _single(_name_key(info.name), _name_key(want["name"])),
        "address": _single(_addr_key(info.address), _addr_key(want["address"])),
        "location": _single(_addr_key(info.location), _addr_key(want.get("location"))),
    }
    got_phones = {phones.normalise(p) for p in info.phones} - {None}
    want_phones = set(want["phones"])
    out["phones"] = Counts(
        tp=len(got_phones & want_phones),
        fp=len(got_phones - want_phones),
        fn=len(want_phones - got_phones),
    )
    return out


def evaluate(records: list[dict[str, Any]]) -> Scores:
    scores = Scores()
    for rec in records:
        info = extract(rec)
        counts = score_one(rec, info)
        for f in FIELDS:
            scores.fields[f].add(counts[f])
        scores.location.add(counts["location"])
        wrong = [f for f in (*FIELDS, "location") if counts[f].fp or counts[f].fn]
        if wrong:
            want = rec["expected"]
            got = {
                "name": info.name,
                "address": info.address,
                "phones": list(info.phones),
                "location": info.location,
            }
            scores.misses.append(
                f"{rec['id']} ({' '.join(rec['tags'])}): "
                + "; ".join(f"{f}: got {got[f]!r}, want {want.get(f)!r}" for f in wrong)
            )
    return scores


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--misses", action="store_true", help="list every disagreement")
    p.add_argument("--tag", help="only the letters with this tag")
    a = p.parse_args()
    records = load()
    if a.tag:
        records = [r for r in records if a.tag in r["tags"]]
    s = evaluate(records)
    print(f"{len(records)} labelled letters ({DATA.relative_to(REPO)})")
    print(f"{'field':<10} {'precision':>9} {'recall':>7} {'tp':>5} {'fp':>4} {'fn':>4}")
    for name, c in (*s.fields.items(), ("overall", s.overall), ("location", s.location)):
        print(f"{name:<10} {c.precision:>9.3f} {c.recall:>7.3f} {c.tp:>5} {c.fp:>4} {c.fn:>4}")
    if a.misses:
        print(f"\n{len(s.misses)} letters with a disagreement:")
        for line in s.misses:
            print("  " + line)


if __name__ == "__main__":
    main()
