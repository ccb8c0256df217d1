"""Registry: skops round trip, version checks, promotion, rollback, hot reload."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifier.errors import ClassifierError, IncompatibleModel, ModelNotFound, PromotionRefused
from classifier.pipeline import ClassifierParams
from classifier.registry import ActiveModelLoader, ModelRegistry
from classifier.training import TrainResult, train
from classifier.types import Example

TEXTS = ["Прорвало трубу в підвалі", "Когда откроют садик?", "Яма на дорозі біля школи"]


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def weak(starter: list[Example]) -> TrainResult:
    """A deliberately poor model: a few examples per topic, tiny vocabulary."""
    few: dict[str, list[Example]] = {}
    for e in starter:
        few.setdefault(e.label, [])
        if len(few[e.label]) < 3:
            few[e.label].append(e)
    examples = [e for group in few.values() for e in group]
    return train(examples, ClassifierParams(max_features=50, holdout_fraction=0), random_state=0)


def test_skops_round_trip(trained: TrainResult, model_dir: Path) -> None:
    registry = ModelRegistry(model_dir)
    version = registry.save(trained)
    assert (model_dir / version / "model.skops").is_file()
    card = json.loads((model_dir / version / "card.json").read_text(encoding="utf-8"))
    assert card["version"] == version
    loaded = registry.load(version)
    assert loaded.card == registry.card(version)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), trained.model.predict_proba(TEXTS))
    assert all(p.model_version == version for p in loaded.predict(TEXTS))


def test_versions_are_sequential_and_listed(trained: TrainResult, model_dir: Path) -> None:
    registry = ModelRegistry(model_dir)
    v1 = registry.save(trained)
    v2 = registry.save(trained)
    assert v1.startswith("v0001-") and v2.startswith("v0002-")
    registry.promote(v2)
    listed = registry.list()
    assert [(m.card.version, m.active) for m in listed] == [(v1, False), (v2, True)]


def test_incompatible_sklearn_version_refused(trained: TrainResult, model_dir: Path) -> None:
    registry = ModelRegistry(model_dir)
    version = registry.save(trained)
    card_path = model_dir / version / "card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["library_versions"]["scikit-learn"] = "0.24.2"
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(IncompatibleModel, match=r"0\.24\.2"):
        registry.load(version)
    assert registry.load(version, force=True).labels == trained.model.labels


def test_missing_version(model_dir: Path) -> None:
    registry = ModelRegistry(model_dir)
    with pytest.raises(ModelNotFound):
        registry.load("v0042-deadbeef")
    with pytest.raises(ModelNotFound):
        registry.load("../etc")
    assert registry.active_version() is None


def test_promote_refuses_worse_model(
    trained: TrainResult, weak: TrainResult, starter: list[Example], model_dir: Path
) -> None:
    registry = ModelRegistry(model_dir)
    good = registry.save(trained)
    bad = registry.save(weak)
    registry.promote(good)
    with pytest.raises(PromotionRefused):
        registry.promote(bad, eval_examples=starter)
    assert registry.active_version() == good
    registry.promote(bad, eval_examples=starter, force=True)
    assert registry.active_version() == bad


def test_rollback(trained: TrainResult, weak: TrainResult, model_dir: Path) -> None:
    registry = ModelRegistry(model_dir)
    first = registry.save(trained)
    second = registry.save(weak)
    with pytest.raises(ClassifierError):
        registry.rollback()
    registry.promote(first)
    registry.promote(second, force=True)
    assert registry.rollback() == first
    assert registry.active_version() == first
    assert (model_dir / "ACTIVE").read_text(encoding="utf-8").strip() == first
    with pytest.raises(ClassifierError):
        registry.rollback()
    assert not list(model_dir.glob(".*.tmp"))


def test_loader_picks_up_promotion(
    trained: TrainResult, weak: TrainResult, model_dir: Path
) -> None:
    registry = ModelRegistry(model_dir)
    clock = FakeMonotonic()
    loader = ActiveModelLoader(registry, recheck_seconds=2.0, monotonic=clock)
    assert loader.current() is None
    first = registry.save(trained)
    clock.t += 2.0
    registry.promote(first)
    model = loader.current()
    assert model is not None and model.version == first
    assert loader.current() is model  # cached, no reload

    second = registry.save(weak)
    registry.promote(second, force=True)
    clock.t += 1.0
    assert loader.current() is model  # not rechecked yet: inside recheck window
    clock.t += 1.5
    reloaded = loader.current()
    assert reloaded is not None and reloaded.version == second


def test_loader_keeps_old_model_when_new_one_is_broken(
    trained: TrainResult, model_dir: Path
) -> None:
    registry = ModelRegistry(model_dir)
    clock = FakeMonotonic()
    loader = ActiveModelLoader(registry, monotonic=clock)
    first = registry.save(trained)
    second = registry.save(trained)
    registry.promote(first)
    assert loader.current() is not None
    (model_dir / second / "model.skops").write_bytes(b"not a zip")
    registry.promote(second, force=True)
    clock.t += 10
    current = loader.current()
    assert current is not None and current.version == first


def _foreign(texts: list[str]) -> list[str]:
    return texts


def test_untrusted_type_refused(trained: TrainResult, model_dir: Path) -> None:
    from sklearn.preprocessing import FunctionTransformer
    from skops.io import dump

    registry = ModelRegistry(model_dir)
    version = registry.save(trained)
    dump(FunctionTransformer(func=_foreign), model_dir / version / "model.skops")
    with pytest.raises(IncompatibleModel, match="untrusted"):
        registry.load(version)
