"""Training, prediction and evaluation on the shipped starter corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sklearn

from classifier.errors import TrainingDataError
from classifier.pipeline import ClassifierParams, CompactTfidfVectorizer
from classifier.starter import DEFAULT_TOPICS
from classifier.training import TrainResult, evaluate, train
from classifier.types import Example


def test_starter_corpus_covers_default_topics(starter: list[Example]) -> None:
    counts: dict[str, int] = {}
    for e in starter:
        counts[e.label] = counts.get(e.label, 0) + 1
    assert set(counts) == set(DEFAULT_TOPICS)
    assert min(counts.values()) >= 35


def test_label_set(trained: TrainResult) -> None:
    assert trained.model.labels == tuple(sorted(DEFAULT_TOPICS))
    assert trained.model.card.labels == trained.model.labels


def test_card_contents(trained: TrainResult, starter: list[Example]) -> None:
    card = trained.model.card
    assert card.data_size == len(starter)
    assert len(card.data_hash) == 64
    assert card.library_versions["scikit-learn"] == sklearn.__version__
    assert card.params["max_features"] == 5000
    assert card.evaluation is not None
    assert 0.0 <= card.evaluation["macro_f1"] <= 1.0
    assert sum(card.class_counts.values()) == len(starter)
    assert card.trained_at is None  # no clock given: never read the system clock


def test_training_date_comes_from_injected_clock(starter: list[Example]) -> None:
    from datetime import UTC, datetime

    fixed = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    params = ClassifierParams(max_features=2000, holdout_fraction=0)
    result = train(starter[:120], params, now=lambda: fixed)
    assert result.model.card.trained_at == "2024-03-01T09:30:00+00:00"


def test_determinism(starter: list[Example], small_params: ClassifierParams) -> None:
    texts = ["Прорвало трубу в підвалі", "Когда откроют садик?", "Яма на дорозі"]
    a = train(starter, small_params, random_state=3).model
    b = train(list(reversed(starter)), small_params, random_state=3).model
    assert a.card.data_hash == b.card.data_hash
    c = train(starter, small_params, random_state=3).model
    np.testing.assert_array_equal(a.predict_proba(texts), c.predict_proba(texts))


def test_predictions_shape(trained: TrainResult) -> None:
    preds = trained.model.predict(["Немає гарячої води", ""], top_k=4)
    assert len(preds) == 2
    for p in preds:
        assert len(p.top_k) == 4
        assert p.label == p.top_k[0][0]
        assert p.score == p.top_k[0][1]
        scores = [s for _, s in p.top_k]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
    assert trained.model.predict([]) == []


@pytest.mark.parametrize(
    ("text", "label"),
    [
        pytest.param(
            "Вже місяць немає гарячої води у квартирі, батареї холодні", "housing", id="uk-housing"
        ),
        pytest.param(
            "Огромная яма на дороге, автобус не ходит по расписанию",
            "roads_transport",
            id="ru-roads",
        ),
        pytest.param(
            "Дитину не беруть у дитячий садок, черга не рухається", "education", id="uk-education"
        ),
        pytest.param("Завод скидає відходи в річку, гине риба", "ecology", id="uk-ecology"),
        pytest.param(
            "Как получить справку в ЦНАП и загранпаспорт?", "admin_services", id="ru-admin"
        ),
    ],
)
def test_starter_sanity(trained: TrainResult, text: str, label: str) -> None:
    assert trained.model.predict([text])[0].label == label


def test_progress_is_reported(starter: list[Example]) -> None:
    seen: list[tuple[str, float]] = []
    train(
        starter[:150],
        ClassifierParams(max_features=2000),
        progress=lambda s, f: seen.append((s, f)),
    )
    assert ("fit", 1.0) in seen
    assert seen[0][1] == 0.0


def test_single_class_is_refused() -> None:
    examples = [Example(f"текст {i}", "housing") for i in range(10)] + [Example("одне", "other")]
    with pytest.raises(TrainingDataError):
        train(examples, ClassifierParams(max_features=100))


def test_evaluate_report(trained: TrainResult, starter: list[Example], tmp_path: Path) -> None:
    report = evaluate(trained.model, starter[:60])
    data = report.to_dict()
    assert data["n"] == 60
    assert set(data) >= {"accuracy", "macro_f1", "per_class", "confusion", "labels"}
    matrix = np.array(data["confusion"])
    assert matrix.sum() == 60
    assert matrix.shape == (len(report.labels), len(report.labels))
    assert np.trace(matrix) / 60 == pytest.approx(report.accuracy, abs=1e-6)
    text = report.to_text()
    assert "macro-F1" in text and report.labels[0] in text
    png = tmp_path / "confusion.png"
    report.save_confusion_png(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compact_vectorizer_state_round_trip(starter: list[Example]) -> None:
    texts = [e.text for e in starter[:80]]
    vec = CompactTfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit(texts)
    state = vec.__getstate__()
    assert "vocabulary_" not in state
    restored = CompactTfidfVectorizer.__new__(CompactTfidfVectorizer)
    restored.__setstate__(state)
    assert restored.vocabulary_ == vec.vocabulary_
    assert (restored.transform(texts) != vec.transform(texts)).nnz == 0
