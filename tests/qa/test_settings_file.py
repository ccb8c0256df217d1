"""The shipped settings.toml validates, and bad settings fail with key-named errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gateway.errors import SettingsError
from gateway.settings import load_settings, redacted, settings_from_dict

REPO = Path(__file__).resolve().parents[2]


def test_shipped_settings_file_is_valid() -> None:
    s = load_settings(REPO / "settings.toml", env={"APPEALS_TOKEN_KEY": "k"})
    assert s.deadlines.appeal_days == 30
    assert s.routing.triage_department in {d.code for d in s.departments}


def test_every_settings_key_is_documented_in_the_shipped_file() -> None:
    """Each field of each section appears in settings.toml (set, or shown in a comment)."""
    from pydantic import BaseModel

    from gateway.settings import ImapMailboxSettings, Settings

    text = (REPO / "settings.toml").read_text(encoding="utf-8")
    missing = []
    for section, field in Settings.model_fields.items():
        if section in ("base_dir", "secrets"):
            continue
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            missing += [f"{section}.{k}" for k in model.model_fields if k not in text]
        elif isinstance(model, type) and dataclasses.is_dataclass(model):
            missing += [
                f"{section}.{f.name}" for f in dataclasses.fields(model) if f.name not in text
            ]
    missing += [f"imap.mailboxes.{k}" for k in ImapMailboxSettings.model_fields if k not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"smtp_server": {"prot": 25}}, "smtp_server.prot: unknown key", id="typo"),
        pytest.param({"deadlines": {"timezone": "Europe/Kiev-x"}}, "deadlines.timezone", id="tz"),
        pytest.param(
            {"deadlines": {"appeal_days": 50}}, "appeal_days <= max_total_days", id="order"
        ),
        pytest.param({"registration": {"number_format": "{series}-{seq}"}}, "{year}", id="fmt"),
        pytest.param({"routing": {"min_confidence": 1.5}}, "routing.min_confidence", id="range"),
        pytest.param({"secrets": {"x": "y"}}, "not a settings key", id="reserved"),
        pytest.param(
            {"routing": {"street_register": "no-such-streets.csv"}},
            "routing.street_register: no file",
            id="street-register-missing",
        ),
        pytest.param(
            {"routing": {"min_district_confidence": -0.1}},
            "routing.min_district_confidence",
            id="district-confidence-range",
        ),
    ],
)
def test_bad_settings_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(SettingsError) as exc:
        settings_from_dict(data, base_dir=REPO, env={})
    assert message in str(exc.value)


def test_unknown_department_in_topic_table_is_an_error() -> None:
    data = {
        "departments": [{"code": "triage", "name": "T", "email": "t@x.example", "triage": True}],
        "routing": {"topics": {"housing": "nope"}},
    }
    with pytest.raises(SettingsError, match=r"routing\.topics\.housing"):
        settings_from_dict(data, base_dir=REPO, env={})


def test_secrets_come_from_env_and_are_never_printed() -> None:
    s = settings_from_dict({}, base_dir=REPO, env={"APPEALS_TOKEN_KEY": "super-secret-value"})
    assert s.secret("APPEALS_TOKEN_KEY") == "super-secret-value"
    dumped = repr(redacted(s)) + repr(s)
    assert "super-secret-value" not in dumped
    assert redacted(s)["secrets_present"]["APPEALS_TOKEN_KEY"] is True


@pytest.mark.parametrize(
    "mailbox",
    [
        "zhkg@council.example",
        "ZHKG@council.example",
        "info-request@council.example",
        "x@reply.council.example",
    ],
)
def test_a_department_mailbox_that_the_gateway_receives_is_refused(mailbox: str) -> None:
    import tomllib

    with (REPO / "settings.toml").open("rb") as fh:
        data = tomllib.load(fh)
    housing = next(d for d in data["departments"] if d["code"] == "housing")
    housing["email"] = mailbox
    with pytest.raises(SettingsError, match=r"departments\.housing\.email"):
        settings_from_dict(data, base_dir=REPO, env={"APPEALS_TOKEN_KEY": "k"})
