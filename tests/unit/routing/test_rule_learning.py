"""The (topic, district) -> department table learner."""

from __future__ import annotations

import pytest

from routing.rule_learning import learn_table

ROWS = [
    ("housing", "north", "housing-north"),
    ("housing", "north", "housing-north"),
    ("housing", "north", "admin-north"),
    ("housing", "south", "housing-south"),
    ("roads", "north", "roads-city"),
    ("roads", "south", "roads-city"),
    ("ecology", "south", "ecology-city"),
]


@pytest.mark.parametrize(
    ("topic", "district", "expected"),
    [
        pytest.param("housing", "north", "housing-north", id="pair-majority"),
        pytest.param("housing", "south", "housing-south", id="pair"),
        pytest.param("roads", "east", "roads-city", id="topic-fallback"),
        pytest.param("unknown", "south", "ecology-city", id="district-fallback-tie-by-name"),
        pytest.param("unknown", "east", "housing-north", id="overall-default"),
    ],
)
def test_lookup(topic: str, district: str, expected: str) -> None:
    assert learn_table(ROWS).lookup(topic, district) == expected


def test_entry_support_and_share() -> None:
    entry = learn_table(ROWS).entry("housing", "north")
    assert entry is not None
    assert (entry.department, entry.support) == ("housing-north", 3)
    assert entry.share == pytest.approx(2 / 3)


def test_accuracy_and_min_support() -> None:
    table = learn_table(ROWS)
    assert table.accuracy(ROWS) == pytest.approx(6 / 7)
    strict = learn_table(ROWS, min_support=2)
    assert ("housing", "south") not in strict.by_pair
    assert strict.lookup("housing", "south") == "housing-north"  # topic fallback
    assert learn_table([]).lookup("x", "y") is None
    assert table.accuracy([]) == 0.0
