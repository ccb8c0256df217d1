"""The shipped settings.toml validates, and bad settings fail with key-named errors."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
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


def _settings_check(cwd: Path) -> subprocess.CompletedProcess[str]:
    """`appeals settings check` as an admin runs it on the embedded default: in the
    install's directory, ./settings.toml, no token key in the environment."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("APPEALS_TOKEN_KEY", "APPEALS_SETTINGS")
    }
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "gateway", "settings", "check"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_settings_check_works_on_the_default_install(tmp_path: Path) -> None:
    shutil.copy(REPO / "settings.toml", tmp_path / "settings.toml")
    before = _settings_check(tmp_path)
    assert before.returncode == 1
    assert "APPEALS_TOKEN_KEY" in before.stderr and "token.key" in before.stderr
    # What scripts/run makes on first start: var/token.key, one line, mode 600.
    run_script = (REPO / "scripts" / "run").read_text(encoding="utf-8")
    assert "var/token.key" in run_script and "umask 077" in run_script
    (tmp_path / "var").mkdir()
    key = tmp_path / "var" / "token.key"
    key.write_text("a-key-made-by-scripts-run\n", encoding="utf-8")
    key.chmod(0o600)
    done = _settings_check(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("settings OK")
    assert "warning" not in done.stderr
    shown = json.loads(done.stdout)
    assert shown["secrets_present"]["APPEALS_TOKEN_KEY"] is True
    assert "a-key-made-by-scripts-run" not in done.stdout + done.stderr
    key.chmod(0o644)
    loose = _settings_check(tmp_path)
    assert loose.returncode == 0 and "readable by others" in loose.stderr


def test_settings_check_refuses_a_department_mailbox_that_is_an_intake_address(
    tmp_path: Path,
) -> None:
    text = (REPO / "settings.toml").read_text(encoding="utf-8")
    assert 'email = "zhkg-staff@council.example"' in text
    (tmp_path / "settings.toml").write_text(
        text.replace('email = "zhkg-staff@council.example"', 'email = "zhkg@council.example"'),
        encoding="utf-8",
    )
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "token.key").write_text("k\n", encoding="utf-8")
    done = _settings_check(tmp_path)
    assert done.returncode == 1
    assert "departments.housing.email" in done.stderr and "zhkg@council.example" in done.stderr


def test_token_key_from_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "token.key").write_text("from-file\n", encoding="utf-8")
    from_file = settings_from_dict({}, base_dir=tmp_path, env={})
    assert from_file.secret("APPEALS_TOKEN_KEY") == "from-file"
    from_env = settings_from_dict({}, base_dir=tmp_path, env={"APPEALS_TOKEN_KEY": "env"})
    assert from_env.secret("APPEALS_TOKEN_KEY") == "env"
    assert (
        settings_from_dict({}, base_dir=tmp_path / "none", env={}).secret("APPEALS_TOKEN_KEY")
        is None
    )
