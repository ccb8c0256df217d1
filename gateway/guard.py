"""Start-up guard against foreign packages with our generic top-level names.

`gateway`, `classifier`, `routing`, `models` and `saferegex` are generic names. If
another installed distribution ships one of them, ours can be shadowed or overwritten
without any error from pip. The guard checks that all of them resolve side by side, and
names the foreign distribution when one does not.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

OUR_PACKAGES = ("gateway", "classifier", "routing", "models", "saferegex")
DISTRIBUTION = "appeal-gateway"


def foreign_providers() -> dict[str, list[str]]:
    """Top-level names of ours that another installed distribution also provides."""
    mapping = packages_distributions()
    out = {}
    for name in OUR_PACKAGES:
        others = sorted({d for d in mapping.get(name, []) if d.lower() != DISTRIBUTION})
        if others:
            out[name] = others
    return out


def misplaced_packages() -> dict[str, str]:
    """Our packages that do not resolve next to `gateway` (shadowed by something else)."""
    here = Path(__file__).resolve().parent.parent
    out = {}
    for name in OUR_PACKAGES:
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin).resolve().parent.parent if spec and spec.origin else None
        if origin != here:
            out[name] = str(spec.origin if spec else None)
    return out


def _installed_fingerprint() -> str:
    """A digest of what is installed: the names in each site-packages folder (a new or
    removed distribution adds or removes its .dist-info folder there)."""
    digest = hashlib.sha256()
    for folder in sorted({p for p in sys.path if p.endswith("-packages")}):
        with contextlib.suppress(OSError):
            digest.update("\0".join(sorted(os.listdir(folder))).encode())
    return digest.hexdigest()


def _stamp() -> Path:
    return Path(sys.prefix) / ".appeal-gateway-guard"


def check() -> str | None:
    """A message describing the problem, or None when everything is ours.

    Reading every distribution's metadata takes about half a second, longer than a
    whole `appeals status`; it is done again only when the set of installed
    distributions changed since the last clean check."""
    problems = []
    fingerprint = _installed_fingerprint()
    try:
        known_good = _stamp().read_text(encoding="ascii") == fingerprint
    except OSError:
        known_good = False
    foreign = {} if known_good else foreign_providers()
    for name, dists in foreign.items():
        problems.append(f"package {name!r} is also provided by: {', '.join(dists)}")
    for name, where in misplaced_packages().items():
        problems.append(f"package {name!r} resolves to {where}, not to this installation")
    if not problems:
        if not known_good:
            with contextlib.suppress(OSError):  # a read-only install just checks each time
                _stamp().write_text(fingerprint, encoding="ascii")
        return None
    return "appeal-gateway must be installed in its own virtual environment: " + "; ".join(problems)
