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

The district comes from the letter's address (routing.streets, via routing.features
`appeal_district`). Routing degrades gracefully, and every decision says which `path` made
it: `district` (a district's own rule, the district found in the letter), `text` (no
district found, or none needed: the body from the text's label alone, by an any-district
rule or the topic table), `triage` (nothing sure enough), besides `info-request` and
`intake-address`. A district found with a confidence under `min_district_confidence` is
not used. Every decision carries a short machine-readable reason for the event log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from classifier.types import Prediction
from routing.learned_rules import learned_department
from routing.streets import AddressResolver


@dataclass(frozen=True)
class RoutingConfig:
    triage_code: str
    min_confidence: float
    topics: Mapping[str, str]
    department_by_intake: Mapping[str, str]  # lower-cased address -> department code
    districts: tuple[str, ...] = ()
    info_request_code: str | None = None  # the public-information office, if there is one
    # The council's street register and the resolver over it; None: districts are only
    # recognised where a letter names one as a district ("Шевченківський район").
    resolver: AddressResolver | None = None
    min_district_confidence: float = 0.5


@dataclass(frozen=True)
class RoutingDecision:
    department_code: str
    rule: str
    reason: str
    # Which step of the chain decided: "info-request", "intake-address", "district",
    # "text" or "triage" (recorded on the `routed` event).
    path: str = "triage"


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
        return RoutingDecision(
            cfg.info_request_code, "info-request", "kind:info_request", "info-request"
        )
    for rcpt in recipients:
        code = cfg.department_by_intake.get(rcpt.lower())
        if code is not None:
            return RoutingDecision(code, "address", f"address:{rcpt.lower()}", "intake-address")
    if prediction is None:
        return RoutingDecision(cfg.triage_code, "triage", "no-model")
    score = f"{prediction.score:.2f}"
    if prediction.score < cfg.min_confidence:
        return RoutingDecision(
            cfg.triage_code, "triage", f"low-confidence topic:{prediction.label} p={score}"
        )
    label = prediction.label
    anywhere = learned(label, None) if learned is not None else None
    if district is not None and learned is not None:
        code = learned(label, district)
        # The district's own rule decides only where it differs from the label's
        # any-district rule; where they agree, the text alone would have sent it there.
        if code is not None and code != anywhere:
            return RoutingDecision(
                code, "learned", f"learned:{label} in {district} p={score}", "district"
            )
    if anywhere is not None:
        return RoutingDecision(
            anywhere, "learned", f"learned:{label} in any district p={score}", "text"
        )
    code = cfg.topics.get(label)
    if code is None:
        return RoutingDecision(cfg.triage_code, "triage", f"unmapped topic:{label}")
    # A topic the council sends to triage ("other") is a person's decision, not the text's.
    path = "triage" if code == cfg.triage_code else "text"
    return RoutingDecision(code, "topic", f"topic:{label} p={score}", path)


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
