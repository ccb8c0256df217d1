"""Fixtures of the acceptance suite: one running gateway per test module (with the module's
GATEWAY_SETTINGS over the shipped settings, when it has them). When a module is
done, every appeal its gateway registered must carry every characteristic of the Classifier
with its source, and every letter it sent must have been expected by a test: the teardown
(`harness.running_gateway`) checks both and fails the module if not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Gateway, running_gateway


@pytest.fixture(scope="module")
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    # A module may set GATEWAY_SETTINGS ({section: {key: value}}) over the shipped ones.
    patch = getattr(request.module, "GATEWAY_SETTINGS", {})
    with running_gateway(Path(tmp_path_factory.mktemp("gw")), **patch) as gw:
        yield gw
