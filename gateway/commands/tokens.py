"""`appeals tokens rotate`: a new reply-token key for an installation that keeps its key in
a file (the embedded default: `scripts/run` keeps it in `<var_dir>/token.key`).

The old key moves to `<file>.previous` (which `scripts/run` exports as
`APPEALS_TOKEN_KEY_PREVIOUS`), a new random key takes its place, both with mode 600, and
the command prints the `[trust] previous_token_keys` entry that keeps the old addresses
valid for the grace period (docs/security.md, "Rotating the reply-token key"). Settings
are never edited by a program: an admin pastes the entry. Installations that keep the key
in their service's environment follow the same procedure by hand.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path


@dataclass(frozen=True)
class Rotation:
    key_file: Path
    previous_file: Path
    expires: datetime

    def settings_entry(self, secret_env: str = "APPEALS_TOKEN_KEY_PREVIOUS") -> str:
        stamp = self.expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f'[trust]\nprevious_token_keys = [{{ secret_env = "{secret_env}", expires = {stamp} }}]'
        )


def _write_secret(path: Path, value: str) -> None:
    # Created with mode 600 before any byte is written: the key is never world-readable.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def rotate(key_file: Path, now: datetime, grace: timedelta) -> Rotation:
    """Move the current key aside and make a new one. Raises FileNotFoundError when there
    is no key file to rotate."""
    old = key_file.read_text(encoding="utf-8").strip()
    if not old:
        raise FileNotFoundError(f"{key_file} is empty")
    previous = key_file.with_name(key_file.name + ".previous")
    _write_secret(previous, old)
    _write_secret(key_file, secrets.token_urlsafe(32))
    return Rotation(key_file, previous, now + grace)
