"""`appeals tokens rotate` and the settings it prints (docs/security.md T10): after a
rotation the gateway signs with the new key and still accepts addresses made with the old
one until the printed expiry."""

from __future__ import annotations

import stat
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gwtest
import pytest

from gateway.app import build_app
from gateway.cli import main
from gateway.errors import SettingsError
from gateway.settings import settings_from_dict
from routing.tokens import ReplyAddressCodec


def test_t10_tokens_rotate_keeps_old_addresses_valid_for_the_grace_period(
    tmp_path: Path, capsys: Any
) -> None:
    settings = gwtest.write_settings(tmp_path, 0, gwtest.free_port())
    var = tmp_path / "var"
    var.mkdir(exist_ok=True)
    (var / "token.key").write_text("the-old-key\n")
    assert main(["--settings", str(settings), "tokens", "rotate", "--grace-days", "30"]) == 0
    out = capsys.readouterr().out
    new_key = (var / "token.key").read_text().strip()
    assert (var / "token.key.previous").read_text().strip() == "the-old-key"
    assert new_key and new_key != "the-old-key"
    for f in ("token.key", "token.key.previous"):
        assert stat.S_IMODE((var / f).stat().st_mode) == 0o600, f

    # What the admin pastes: the printed [trust] entry.
    entry = tomllib.loads(out[out.index("[trust]") :])["trust"]
    expires = entry["previous_token_keys"][0]["expires"]
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    with settings.open("rb") as fh:
        data = tomllib.load(fh)
    data["trust"].update(entry)
    env = {"APPEALS_TOKEN_KEY": new_key, "APPEALS_TOKEN_KEY_PREVIOUS": "the-old-key"}
    app = build_app(settings_from_dict(data, base_dir=tmp_path, env=env))
    old_codec = ReplyAddressCodec(b"the-old-key", "reply", "+", app.codec.domain)
    sent_before = old_codec.address_for(12, "department")
    assert app.codec.address_for(12, "department") != sent_before
    within = app.codec.decode(sent_before, expires - timedelta(minutes=1))
    assert within is not None and within.valid and within.key == "previous"
    after = app.codec.decode(sent_before, expires + timedelta(minutes=1))
    assert after is not None and not after.valid and after.expired


def test_rotate_refuses_without_a_key_file(tmp_path: Path, capsys: Any) -> None:
    settings = gwtest.write_settings(tmp_path, 0, gwtest.free_port())
    assert main(["--settings", str(settings), "tokens", "rotate"]) == 1
    assert "no key to rotate" in capsys.readouterr().err


def test_a_listed_previous_key_must_be_in_the_environment(tmp_path: Path) -> None:
    settings = gwtest.write_settings(tmp_path, 0, gwtest.free_port())
    with settings.open("rb") as fh:
        data = tomllib.load(fh)
    # A TOML local date-time, as an admin may well write it (no zone).
    entry = 'previous_token_keys = [{ secret_env = "APPEALS_TOKEN_KEY_PREVIOUS", expires = 2027-03-01T00:00:00 }]'
    data["trust"].update(tomllib.loads(entry))
    s = settings_from_dict(data, base_dir=tmp_path, env={"APPEALS_TOKEN_KEY": "k"})
    assert s.trust.previous_token_keys[0].expires.tzinfo is not None  # read as UTC
    with pytest.raises(SettingsError, match="APPEALS_TOKEN_KEY_PREVIOUS"):
        build_app(s)
