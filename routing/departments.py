"""Which department answers an appeal: rules an admin controls, in a fixed order.

0. `info-request`: a public-information request goes to the public-information office
   (the department whose intake address is a request address), however it arrived: the
   office keeps the Law 2939-VI procedure and its working-day terms.
1. `address`: the citizen wrote to a department's own intake address: that department.
2. `learned`: the classifier's label, if its confidence reaches `min_confidence`, looked up
   in the (label, district) -> department rules an admin applied from `appeals routing
   suggest` (the district's own rule first, then the label's any-district rule).
3. `topic`: otherwise the label in the topic -> department table of settings.
4. `triage`: anything else (no model, low confidence, a topic with no department) goes to
   the triage department, where a person decides; that decision becomes a training label.
Every decision carries a short machine-readable reason for the event log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from classifier.types import Prediction
from routing.learned_rules import learned_department


@dataclass(frozen=True)
class RoutingConfig:
    triage_code: str
    min_confidence: float
    topics: Mapping[str, str]
    department_by_intake: Mapping[str, str]  # lower-cased address -> department code
    districts: tuple[str, ...] = ()
    info_request_code: str | None = None  # the public-information office, if there is one


@dataclass(frozen=True)
class RoutingDecision:
    department_code: str
    rule: str
    reason: str


# (label, district or None) -> department code of the applied rule, or None.
LearnedLookup = Callable[[str, str | None], str | None]


def route(
    recipients: Sequence[str],
    prediction: Prediction | None,
    cfg: RoutingConfig,
    *,
    district: str | None = None,
    learned: LearnedLookup | None = None,
    kind: str = "appeal",
) -> RoutingDecision:
    if kind == "info_request" and cfg.info_request_code is not None:
        return RoutingDecision(cfg.info_request_code, "info-request", "kind:info_request")
    for rcpt in recipients:
        code = cfg.department_by_intake.get(rcpt.lower())
        if code is not None:
            return RoutingDecision(code, "address", f"address:{rcpt.lower()}")
    if prediction is None:
        return RoutingDecision(cfg.triage_code, "triage", "no-model")
    score = f"{prediction.score:.2f}"
    if prediction.score < cfg.min_confidence:
        return RoutingDecision(
            cfg.triage_code, "triage", f"low-confidence topic:{prediction.label} p={score}"
        )
    code = learned(prediction.label, district) if learned is not None else None
    if code is not None:
        where = district or "any district"
        return RoutingDecision(code, "learned", f"learned:{prediction.label} in {where} p={score}")
    code = cfg.topics.get(prediction.label)
    if code is None:
        return RoutingDecision(cfg.triage_code, "triage", f"unmapped topic:{prediction.label}")
    return RoutingDecision(code, "topic", f"topic:{prediction.label} p={score}")


def find_district(text: str, districts: Sequence[str]) -> str | None:
    """The first configured district named in the text ("Шевченківський район",
    "у Шевченківському районі"): matched by stem, so case endings do not matter."""
    low = text.lower()
    for name in districts:
        stem = name.lower().split()[0]
        stem = stem[:-2] if len(stem) > 6 else stem
        if stem and stem in low:
            return name
    return None


def decide_route(
    session: Session,
    recipients: Sequence[str],
    prediction: Prediction | None,
    cfg: RoutingConfig,
    district: str | None,
    kind: str = "appeal",
) -> RoutingDecision:
    """`route` with the learned rules in force in the database."""
    return route(
        recipients,
        prediction,
        cfg,
        district=district,
        learned=lambda label, where: learned_department(session, label, where),
        kind=kind,
    )
