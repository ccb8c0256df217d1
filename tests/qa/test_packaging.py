"""The four generic top-level names are ours alone, and the build lists them explicitly."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from gateway import guard

REPO = Path(__file__).resolve().parents[2]


def test_no_other_installed_distribution_provides_our_package_names() -> None:
    assert guard.foreign_providers() == {}


def test_our_packages_resolve_side_by_side() -> None:
    assert guard.misplaced_packages() == {}


def test_guard_names_a_foreign_distribution(monkeypatch: object) -> None:
    # The guard must be able to fail: feed it a metadata map where another
    # distribution claims `models`.
    import gateway.guard as g

    fake = {"models": ["appeal-gateway", "someone-elses-orm"], "gateway": ["appeal-gateway"]}
    monkeypatch.setattr(g, "packages_distributions", lambda: fake)  # type: ignore[attr-defined]
    assert g.foreign_providers() == {"models": ["someone-elses-orm"]}
    # Something was installed since the last clean check: the metadata is read again.
    monkeypatch.setattr(g, "_installed_fingerprint", lambda: "after-an-install")  # type: ignore[attr-defined]
    assert "someone-elses-orm" in (g.check() or "")


def test_guard_reads_the_metadata_again_only_after_an_install(
    monkeypatch: object, tmp_path: Path
) -> None:
    import gateway.guard as g

    calls = []
    monkeypatch.setattr(g, "_stamp", lambda: tmp_path / "stamp")  # type: ignore[attr-defined]
    monkeypatch.setattr(g, "foreign_providers", lambda: calls.append(1) or {})  # type: ignore[attr-defined]
    installed = ["one"]
    monkeypatch.setattr(g, "_installed_fingerprint", lambda: installed[0])  # type: ignore[attr-defined]
    assert g.check() is None and g.check() is None
    assert len(calls) == 1  # the second start trusted the stamp
    installed[0] = "two"
    assert g.check() is None
    assert len(calls) == 2


def test_build_config_lists_packages_and_keeps_tests_and_templates_out() -> None:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = data["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert sorted(packages) == sorted(guard.OUR_PACKAGES)
    assert not (REPO / "tests" / "__init__.py").exists()
    assert not (REPO / "templates" / "__init__.py").exists()


def test_console_entry_points_work() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert out.stdout.startswith("appeal-gateway ")
