"""Routing's settings and collaborators as plain frozen values: what the pipeline and its
stages read. `gateway.settings` validates the settings file; `gateway.app` (the one
composition root) builds these from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import saferegex
from routing.attachments import AttachmentLimits
from routing.characteristics import RegistryConfig
from routing.deadlines import WorkCalendar
from routing.departments import RoutingConfig
from routing.held_answers import AlertConfig
from routing.numbering import RegistrationConfig, reg_number_pattern
from routing.ports import Classify, Clock
from routing.screening import ScreeningContext
from routing.tokens import ReplyAddressCodec
from routing.trust import TrustConfig


@dataclass(frozen=True)
class Policies:
    """How human mail that needs care is handled (settings [screening])."""

    anonymous_policy: str = "not_considered"
    repeated_policy: str = "consider"
    incomplete_policy: str = "return"
    mass_threshold: int = 5
    duplicate_window_days: int = 30


@dataclass(frozen=True)
class PipelineConfig:
    registration: RegistrationConfig
    routing: RoutingConfig
    screening: ScreeningContext
    timezone: str
    instance: Mapping[str, str] = field(default_factory=dict)
    policies: Policies = field(default_factory=Policies)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    # (code, name) of every department, in settings order: the codes `#redirect` takes,
    # listed in forwards and help letters.
    departments: tuple[tuple[str, str], ...] = ()
    attachments: AttachmentLimits = field(default_factory=AttachmentLimits)
    trust: TrustConfig = field(default_factory=TrustConfig)
    # Who is told that their answer was held, and how often (settings [alerts]).
    alerts: AlertConfig = field(default_factory=AlertConfig)


@dataclass
class PipelineDeps:
    """Everything one message's processing needs besides its session and notice sink."""

    clock: Clock
    config: PipelineConfig
    calendar: WorkCalendar
    codec: ReplyAddressCodec
    relay_mode: str = "auto"
    classify: Classify | None = None  # None: no classifier at all, everything to triage

    @property
    def reg_pattern(self) -> saferegex.Pattern[str]:
        return reg_number_pattern(self.config.registration)
