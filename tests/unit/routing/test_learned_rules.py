"""Learned (label, district) rules: parsing an admin's table and their place in `route`."""

from __future__ import annotations

import pytest

from classifier.types import Prediction
from routing.departments import RoutingConfig, route
from routing.learned_rules import RuleError, parse_rules

CFG = RoutingConfig(
    triage_code="triage",
    min_confidence=0.5,
    topics={"housing": "housing"},
    department_by_intake={"zhkg@council.example": "housing"},
)
RULES = {("housing", "Північний"): "housing_north", ("roads", None): "transport"}


def _learned(label: str, district: str | None) -> str | None:
    return RULES.get((label, district)) or RULES.get((label, None))


def _p(label: str, score: float) -> Prediction:
    return Prediction(label, score, ((label, score),), "v1")


@pytest.mark.parametrize(
    ("rcpt", "prediction", "district", "want"),
    [
        ("appeals@x", _p("housing", 0.9), "Північний", ("housing_north", "learned")),
        ("appeals@x", _p("housing", 0.9), "Центральний", ("housing", "topic")),
        ("appeals@x", _p("roads", 0.9), None, ("transport", "learned")),
        ("appeals@x", _p("housing", 0.2), "Північний", ("triage", "triage")),
        ("zhkg@council.example", _p("housing", 0.9), "Північний", ("housing", "address")),
        ("appeals@x", _p("ecology", 0.9), "Північний", ("triage", "triage")),
    ],
)
def test_route_order(
    rcpt: str, prediction: Prediction, district: str | None, want: tuple[str, str]
) -> None:
    d = route([rcpt], prediction, CFG, district=district, learned=_learned)
    assert (d.department_code, d.rule) == want


def test_parse_rules_accepts_suggest_output_and_names_problems() -> None:
    rules = parse_rules(
        {
            "table": [
                {"topic": "housing", "district": "Північний", "department": "n", "support": 3},
                {"topic": "housing", "district": None, "department": "h", "share": 0.8},
            ]
        }
    )
    assert [(r.label, r.district, r.department) for r in rules] == [
        ("housing", "Північний", "n"),
        ("housing", None, "h"),
    ]
    with pytest.raises(RuleError, match="table"):
        parse_rules({"rules": []})
    with pytest.raises(RuleError, match=r"table\[0\]: 'department'"):
        parse_rules({"table": [{"topic": "housing", "district": None}]})
    with pytest.raises(RuleError, match="appears twice"):
        parse_rules({"table": [{"topic": "a", "department": "b"}] * 2})
