"""Fixtures of the acceptance suite: one running gateway per test module. When a module is
done, every appeal its gateway registered must carry every characteristic of the Classifier
with its source: the teardown checks the database and fails the module if not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import CaptureRelay
from gwtest import free_port
from harness import Gateway


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    relay = CaptureRelay("127.0.0.1", free_port())
    controller = Controller(relay, hostname=relay.host, port=relay.port)
    controller.start()
    gw = Gateway(Path(tmp_path_factory.mktemp("gw")), relay).start()
    try:
        yield gw
        problems = gw.uncharacterised()
        assert not problems, "appeals without a characteristic or its source:\n" + "\n".join(
            problems
        )
    finally:
        gw.stop()
        controller.stop()
