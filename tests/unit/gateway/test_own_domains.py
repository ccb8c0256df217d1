"""Which senders are "ours" for the held-answer letter: the council's own domains, derived
from the departments unless set, never a public mail service, and no look-alikes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import load_settings, settings_from_dict
from routing.held_answers import AlertConfig

REPO = Path(__file__).resolve().parents[3]


def test_derived_from_the_shipped_departments() -> None:
    s = load_settings(REPO / "settings.toml", env={})
    assert s.own_domains() == {"council.example", "zhkg.council.example"}


def test_a_department_on_a_public_service_does_not_make_it_ours() -> None:
    data = {
        "departments": [
            {"code": "triage", "name": "T", "email": "t-staff@rada.example", "triage": True},
            {"code": "cnap", "name": "ЦНАП", "email": "cnap.lutsk@gmail.com"},
            {"code": "osvita", "name": "О", "email": "osvita-lutsk@ukr.net"},
        ],
        "outbound": {"from_address": "appeals@rada.example"},
    }
    s = settings_from_dict(data, base_dir=REPO, env={})
    assert s.own_domains() == {"rada.example"}
    explicit = settings_from_dict(
        {**data, "alerts": {"own_domains": ["@Lutskrada.gov.ua"]}}, base_dir=REPO, env={}
    )
    assert explicit.own_domains() == {"lutskrada.gov.ua"}


@pytest.mark.parametrize(
    ("address", "own"),
    [
        ("i.petrenko@council.example", True),
        ("i.petrenko@osvita.council.example", True),
        ("I.Petrenko@COUNCIL.EXAMPLE", True),
        ("x@evilcouncil.example", False),
        ("x@council.example.evil.com", False),
        ("x@gmail.com", False),
    ],
)
def test_subdomains_count_look_alikes_do_not(address: str, own: bool) -> None:
    assert AlertConfig(own_domains=frozenset({"council.example"})).is_own(address) is own
