"""Routing decisions: address rule, topic rule, triage on low confidence or no model."""

from __future__ import annotations

import pytest

from classifier.types import Prediction
from routing.departments import RoutingConfig, route

CFG = RoutingConfig(
    triage_code="triage",
    min_confidence=0.5,
    topics={"housing": "housing", "roads_transport": "transport"},
    department_by_intake={"zhkg@c.example": "housing"},
)


def p(label: str, score: float) -> Prediction:
    return Prediction(label, score, ((label, score),), "v1")


@pytest.mark.parametrize(
    ("rcpts", "pred", "code", "rule"),
    [
        pytest.param(
            ["zhkg@c.example"], p("roads_transport", 0.9), "housing", "address", id="address-wins"
        ),
        pytest.param(
            ["all@c.example"], p("roads_transport", 0.9), "transport", "topic", id="topic"
        ),
        pytest.param(
            ["all@c.example"], p("roads_transport", 0.3), "triage", "triage", id="low-confidence"
        ),
        pytest.param(["all@c.example"], p("ecology", 0.9), "triage", "triage", id="unmapped-topic"),
        pytest.param(["all@c.example"], None, "triage", "triage", id="no-model"),
    ],
)
def test_route(rcpts: list[str], pred: Prediction | None, code: str, rule: str) -> None:
    d = route(rcpts, pred, CFG)
    assert (d.department_code, d.rule) == (code, rule)
    assert d.reason


@pytest.mark.parametrize(
    ("rcpts", "pred"),
    [
        pytest.param(["all@c.example"], p("admin_services", 0.9), id="by-wording-on-general"),
        pytest.param(["zhkg@c.example"], p("housing", 0.9), id="to-another-departments-address"),
        pytest.param(["all@c.example"], None, id="no-model"),
    ],
)
def test_every_information_request_goes_to_the_public_information_office(
    rcpts: list[str], pred: Prediction | None
) -> None:
    cfg = RoutingConfig(
        triage_code="triage",
        min_confidence=0.5,
        topics={"housing": "housing", "admin_services": "cnap"},
        department_by_intake={"zhkg@c.example": "housing"},
        info_request_code="public-info",
    )
    d = route(rcpts, pred, cfg, kind="info_request")
    assert (d.department_code, d.rule) == ("public-info", "info-request")
    # An appeal on the same address is routed as before.
    assert route(rcpts, pred, cfg).department_code != "public-info"


RULES = {("housing", "Залізничний"): "housing_zal", ("roads_transport", None): "transport"}


def _learned(label: str, district: str | None) -> str | None:
    return RULES.get((label, district)) or RULES.get((label, None))


@pytest.mark.parametrize(
    ("rcpts", "pred", "district", "want"),
    [
        pytest.param(
            ["all@c.example"],
            p("housing", 0.9),
            "Залізничний",
            ("housing_zal", "district"),
            id="district-rule",
        ),
        pytest.param(
            ["all@c.example"], p("housing", 0.9), None, ("housing", "text"), id="no-district"
        ),
        pytest.param(
            ["all@c.example"],
            p("housing", 0.9),
            "Галицький",
            ("housing", "text"),
            id="district-without-a-rule-of-its-own",
        ),
        pytest.param(
            ["all@c.example"],
            p("roads_transport", 0.9),
            "Залізничний",
            ("transport", "text"),
            id="any-district-rule-is-the-texts",
        ),
        pytest.param(
            ["all@c.example"],
            p("housing", 0.2),
            "Залізничний",
            ("triage", "triage"),
            id="unsure-model-even-with-a-district",
        ),
        pytest.param(
            ["zhkg@c.example"],
            p("roads_transport", 0.9),
            "Залізничний",
            ("housing", "intake-address"),
            id="intake-address",
        ),
    ],
)
def test_every_decision_names_the_path_that_made_it(
    rcpts: list[str], pred: Prediction, district: str | None, want: tuple[str, str]
) -> None:
    d = route(rcpts, pred, CFG, district=district, learned=_learned)
    assert (d.department_code, d.path) == want
