"""The starter topic model: trained from the corpus shipped in this package.

`starter_corpus.jsonl` was written for this project (invented appeals, no real
people or addresses): one JSON object per line with `text`, `label` and `lang`
(`uk` or `ru`), about 37 appeals for each default topic. The gateway calls
`ensure_starter_model` on start-up so that a fresh install classifies at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib.resources import as_file, files
from pathlib import Path

from classifier.dataset import dedupe, load_tabular
from classifier.registry import ModelRegistry
from classifier.training import train
from classifier.types import Example

DEFAULT_TOPICS: tuple[str, ...] = (
    "housing",
    "roads_transport",
    "landscaping",
    "social",
    "health",
    "education",
    "land_construction",
    "trade_ads",
    "ecology",
    "public_order",
    "admin_services",
    "other",
)

STARTER_CORPUS = "starter_corpus.jsonl"


def starter_examples() -> list[Example]:
    """The shipped corpus as Examples (deduplicated)."""
    with as_file(files("classifier").joinpath(STARTER_CORPUS)) as path:
        return dedupe(load_tabular(path))


def train_starter(
    model_dir: str | Path,
    *,
    random_state: int = 0,
    now: Callable[[], datetime] | None = None,
) -> str:
    """Train on the starter corpus, save under `model_dir`, promote; returns the version."""
    registry = ModelRegistry(model_dir)
    result = train(starter_examples(), random_state=random_state, now=now)
    version = registry.save(result)
    # Forced: the starter model is the fallback baseline, not a candidate to be judged.
    registry.promote(version, force=True)
    return version


def ensure_starter_model(
    model_dir: str | Path, *, now: Callable[[], datetime] | None = None
) -> str | None:
    """Train the starter model if no model is active; returns its version, else None."""
    if ModelRegistry(model_dir).active_version() is not None:
        return None
    return train_starter(model_dir, now=now)
