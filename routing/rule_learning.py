"""Learning a (topic, district) -> department table from routing history.

Pure functions over plain tuples: the gateway feeds rows from its history (which
department actually answered appeals of a topic from a district) and
`appeals routing suggest` turns the table into proposed routing rules.

Lookup backs off when a pair was never seen: (topic, district), then topic
alone, then district alone, then the most common department overall.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

Key = Hashable


def _majority(counter: Counter[str]) -> str:
    # Ties break by name so that the table is deterministic.
    best = max(counter.values())
    return min(dept for dept, n in counter.items() if n == best)


@dataclass(frozen=True)
class TableEntry:
    department: str
    support: int  # rows seen for this key
    share: float  # fraction of those rows that went to `department`


@dataclass(frozen=True)
class RoutingTable:
    """The learned table; build it with `learn_table`."""

    by_pair: dict[tuple[Key, Key], TableEntry]
    by_topic: dict[Key, TableEntry]
    by_district: dict[Key, TableEntry]
    default: str | None

    def lookup(self, topic: Key, district: Key) -> str | None:
        """Most likely department, backing off to coarser keys; None if the table is empty."""
        entry = self.entry(topic, district)
        return entry.department if entry else self.default

    def entry(self, topic: Key, district: Key) -> TableEntry | None:
        return (
            self.by_pair.get((topic, district))
            or self.by_topic.get(topic)
            or self.by_district.get(district)
        )

    def accuracy(self, rows: Iterable[tuple[Key, Key, str]]) -> float:
        """Share of (topic, district, department) rows the table routes correctly."""
        total = hits = 0
        for topic, district, department in rows:
            total += 1
            hits += self.lookup(topic, district) == department
        return hits / total if total else 0.0


def _entries(counters: dict[Key, Counter[str]], min_support: int) -> dict[Key, TableEntry]:
    out: dict[Key, TableEntry] = {}
    for key, counter in counters.items():
        support = sum(counter.values())
        if support < min_support:
            continue
        dept = _majority(counter)
        out[key] = TableEntry(dept, support, counter[dept] / support)
    return out


def learn_table(rows: Iterable[tuple[Key, Key, str]], *, min_support: int = 1) -> RoutingTable:
    """Majority department per (topic, district), with per-topic and per-district fallbacks.

    Pairs seen fewer than `min_support` times are left to the fallbacks.
    """
    pair: dict[Key, Counter[str]] = defaultdict(Counter)
    topic_c: dict[Key, Counter[str]] = defaultdict(Counter)
    district_c: dict[Key, Counter[str]] = defaultdict(Counter)
    overall: Counter[str] = Counter()
    for topic, district, department in rows:
        pair[(topic, district)][department] += 1
        topic_c[topic][department] += 1
        district_c[district][department] += 1
        overall[department] += 1
    return RoutingTable(
        by_pair=_entries(pair, min_support),  # type: ignore[arg-type]
        by_topic=_entries(topic_c, min_support),
        by_district=_entries(district_c, min_support),
        default=_majority(overall) if overall else None,
    )
