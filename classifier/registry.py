"""Versioned model artefacts on disk, the ACTIVE pointer, promotion and rollback.

Layout of `model_dir`:

    <model_dir>/<version>/model.skops   the fitted pipeline (skops: no pickle code execution)
    <model_dir>/<version>/card.json     the ModelCard
    <model_dir>/ACTIVE                  the active version, one line
    <model_dir>/HISTORY                 JSON list of versions activated so far (last = active)

Pointer files are replaced atomically (write tmp, fsync, rename, fsync the folder)
so a reader never sees a half-written name and a crash leaves the old pointer.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sklearn
from skops.io import dump, get_untrusted_types, load

from classifier.errors import (
    ClassifierError,
    IncompatibleModel,
    ModelNotFound,
    PromotionRefused,
)
from classifier.model import ModelCard, TopicModel
from classifier.training import TrainResult, evaluate
from classifier.types import ACTIVE_FILE, Example

log = logging.getLogger(__name__)

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"
HISTORY_FILE = "HISTORY"

# Types skops does not trust by default but which our pipeline legitimately contains.
# Anything else found in a model file is refused: it did not come from this code.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "classifier.normalise.normalise_text",
        "classifier.context.text_part",
        "classifier.context.context_tokens",
        "classifier.pipeline.CompactTfidfVectorizer",
        "classifier.margin.MarginSVC",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
    }
)

_VERSION_RE = re.compile(r"^v(\d{4,})-[0-9a-f]{8}$")


@dataclass(frozen=True)
class ListedModel:
    """A saved model's card and whether it is the active one."""

    card: ModelCard
    active: bool


def _major_minor(version: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", version)[:2]
    return tuple(int(p) for p in parts)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    # fsync the directory so the rename itself survives a power cut.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class ModelRegistry:
    """Model artefacts under one directory; see the module docstring for the layout."""

    def __init__(self, model_dir: str | Path) -> None:
        self.model_dir = Path(model_dir)

    # -- paths and pointers -------------------------------------------------------------

    @property
    def active_path(self) -> Path:
        return self.model_dir / ACTIVE_FILE

    def _version_dir(self, version: str) -> Path:
        if not _VERSION_RE.match(version):
            raise ModelNotFound(f"not a model version: {version!r}")
        return self.model_dir / version

    def active_version(self) -> str | None:
        try:
            text = self.active_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def history(self) -> list[str]:
        try:
            data = json.loads((self.model_dir / HISTORY_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        return [str(v) for v in data]

    def _set_active(self, version: str, history: list[str]) -> None:
        # HISTORY first: if we crash between the two writes, ACTIVE (the truth readers
        # use) still names the old version, and HISTORY's extra tail is harmless.
        _write_atomic(self.model_dir / HISTORY_FILE, json.dumps(history, indent=0).encode("utf-8"))
        _write_atomic(self.active_path, (version + "\n").encode("utf-8"))

    # -- artefacts ----------------------------------------------------------------------

    def versions(self) -> list[str]:
        if not self.model_dir.is_dir():
            return []
        found = [
            p.name
            for p in self.model_dir.iterdir()
            if p.is_dir() and _VERSION_RE.match(p.name) and (p / CARD_FILE).is_file()
        ]
        return sorted(found, key=lambda v: int(_VERSION_RE.match(v).group(1)))  # type: ignore[union-attr]

    def _next_version(self, data_hash: str) -> str:
        existing = [
            int(m.group(1))
            for p in (self.model_dir.iterdir() if self.model_dir.is_dir() else [])
            if (m := _VERSION_RE.match(p.name))
        ]
        return f"v{max(existing, default=0) + 1:04d}-{data_hash[:8]}"

    def save(self, result: TrainResult | TopicModel) -> str:
        """Store a trained model under a new version; returns the version. Not activated."""
        model = result.model if isinstance(result, TrainResult) else result
        self.model_dir.mkdir(parents=True, exist_ok=True)
        version = self._next_version(model.card.data_hash)
        final = self.model_dir / version
        staging = self.model_dir / f".{version}.tmp"
        staging.mkdir()
        card = model.card.with_version(version)
        dump(model.pipeline, staging / MODEL_FILE)
        untrusted = set(get_untrusted_types(file=staging / MODEL_FILE))
        unknown = untrusted - TRUSTED_TYPES
        if unknown:
            # Refuse now rather than produce a file that load() would refuse later.
            raise IncompatibleModel(
                f"model contains types outside TRUSTED_TYPES: {sorted(unknown)}"
            )
        (staging / CARD_FILE).write_text(
            json.dumps(card.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        os.replace(staging, final)
        model.card = card
        log.info("saved model %s", version)
        return version

    def card(self, version: str) -> ModelCard:
        path = self._version_dir(version) / CARD_FILE
        try:
            return ModelCard.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise ModelNotFound(f"no model {version!r} in {self.model_dir}") from exc

    def list(self) -> list[ListedModel]:
        active = self.active_version()
        return [ListedModel(card=self.card(v), active=v == active) for v in self.versions()]

    def load(self, version: str, force: bool = False) -> TopicModel:
        """Load a saved model, refusing another sklearn major.minor unless `force`."""
        card = self.card(version)
        made_with = card.library_versions.get("scikit-learn", "")
        if _major_minor(made_with) != _major_minor(sklearn.__version__) and not force:
            raise IncompatibleModel(
                f"model {version} was made with scikit-learn {made_with or '?'}, "
                f"installed is {sklearn.__version__}: retrain, or load with force=True"
            )
        path = self._version_dir(version) / MODEL_FILE
        if not path.is_file():
            raise ModelNotFound(f"model {version!r} has no {MODEL_FILE}")
        try:
            untrusted = get_untrusted_types(file=path)
        except Exception as exc:  # zipfile/json errors on a corrupt or foreign file
            raise IncompatibleModel(f"model {version} is not a readable skops file") from exc
        unknown = sorted(set(untrusted) - TRUSTED_TYPES)
        if unknown:
            raise IncompatibleModel(f"model {version} contains untrusted types: {unknown}")
        try:
            pipeline = load(path, trusted=list(untrusted))
        except Exception as exc:  # skops raises many types on corrupt or foreign files
            raise IncompatibleModel(f"model {version} cannot be loaded: {exc}") from exc
        return TopicModel(pipeline, card)

    def load_active(self, force: bool = False) -> TopicModel:
        version = self.active_version()
        if version is None:
            raise ModelNotFound(f"no active model in {self.model_dir}")
        return self.load(version, force=force)

    # -- activation -----------------------------------------------------------------------

    def promote(
        self,
        version: str,
        eval_examples: Sequence[Example] | None = None,
        force: bool = False,
    ) -> None:
        """Make `version` active.

        With `eval_examples`, both the candidate and the active model are evaluated
        on them and a candidate with lower macro-F1 is refused unless `force`.
        Without them, the cards' holdout figures are compared only when both were
        computed on the same data (same data hash): otherwise the numbers are not
        comparable and the promotion goes ahead.
        """
        candidate_card = self.card(version)
        active = self.active_version()
        if active == version:
            return
        if active is not None and not force:
            candidate_f1, active_f1 = self._compare(version, active, eval_examples)
            if candidate_f1 is not None and active_f1 is not None and candidate_f1 < active_f1:
                raise PromotionRefused(
                    f"{version} macro-F1 {candidate_f1:.4f} < active {active} "
                    f"{active_f1:.4f}; use force to promote anyway"
                )
        del candidate_card
        history = [v for v in self.history() if v != version]
        if active is not None and (not history or history[-1] != active):
            history.append(active)
        history.append(version)
        self._set_active(version, history)
        log.info("promoted model %s (previous %s)", version, active)

    def _compare(
        self, version: str, active: str, eval_examples: Sequence[Example] | None
    ) -> tuple[float | None, float | None]:
        if eval_examples is not None:
            candidate = evaluate(self.load(version), eval_examples).macro_f1
            try:
                current = evaluate(self.load(active), eval_examples).macro_f1
            except ClassifierError:
                return candidate, None  # active model unusable: nothing to protect
            return candidate, current
        a, b = self.card(version).evaluation, self.card(active).evaluation
        if a and b and a.get("data_hash") == b.get("data_hash"):
            return float(a["macro_f1"]), float(b["macro_f1"])
        return None, None

    def rollback(self) -> str:
        """Re-activate the previously active version; returns it."""
        history = self.history()
        active = self.active_version()
        if history and history[-1] == active:
            history = history[:-1]
        if not history:
            raise ClassifierError("nothing to roll back to")
        previous = history[-1]
        self.card(previous)  # must still exist
        self._set_active(previous, history)
        log.info("rolled back from %s to %s", active, previous)
        return previous


class ActiveModelLoader:
    """Hands out the active model and notices when ACTIVE changes, without a restart.

    `current()` is cheap: at most every `recheck_seconds` (by the injected monotonic
    clock) it stats the ACTIVE file and reads it only if its mtime or size changed.
    If a new model cannot be loaded, the previous one keeps serving.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        recheck_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        force: bool = False,
    ) -> None:
        self.registry = registry
        self.recheck_seconds = recheck_seconds
        self.monotonic = monotonic
        self.force = force
        self._model: TopicModel | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked_at: float | None = None

    def current(self) -> TopicModel | None:
        now = self.monotonic()
        if self._checked_at is not None and now - self._checked_at < self.recheck_seconds:
            return self._model
        self._checked_at = now
        try:
            st = self.registry.active_path.stat()
        except FileNotFoundError:
            self._model, self._stamp = None, None
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return self._model
        version = self.registry.active_version()
        if version is None:
            return self._model
        if self._model is not None and self._model.version == version:
            self._stamp = stamp
            return self._model
        try:
            self._model = self.registry.load(version, force=self.force)
        except ClassifierError:
            log.exception("could not load model %s; keeping %s", version, self._version())
            return self._model
        self._stamp = stamp
        log.info("loaded model %s", version)
        return self._model

    def _version(self) -> str | None:
        return self._model.version if self._model else None
