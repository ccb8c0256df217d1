"""Shared fixtures for classifier tests: one starter model trained once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.pipeline import ClassifierParams
from classifier.starter import starter_examples
from classifier.training import TrainResult, train
from classifier.types import Example


@pytest.fixture(scope="session")
def starter() -> list[Example]:
    return starter_examples()


@pytest.fixture(scope="session")
def small_params() -> ClassifierParams:
    # Small vocabularies keep the tests fast; the shape of the pipeline is unchanged.
    return ClassifierParams(max_features=5000, holdout_fraction=0.25)


@pytest.fixture(scope="session")
def trained(starter: list[Example], small_params: ClassifierParams) -> TrainResult:
    return train(starter, small_params, random_state=0)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"
