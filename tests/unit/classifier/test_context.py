"""Context features (district, repeat, month) in the model input (classifier.context)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.context import SEPARATOR, Context, compose, context_tokens, text_part
from classifier.dataset import dedupe, load_tabular
from classifier.errors import TrainingDataError
from classifier.pipeline import ClassifierParams
from classifier.registry import ModelRegistry
from classifier.training import train
from classifier.types import Example


def test_compose_keeps_text_and_context_apart() -> None:
    doc = compose(f"Яма{SEPARATOR}на дорозі", Context("Північний", True, 3), ("district", "repeat"))
    assert doc.count(SEPARATOR) == 1  # a separator inside the text is neutralised
    assert text_part(doc) == "яма на дорозі"
    assert context_tokens(doc) == ["district=північний", "repeat=1"]
    assert compose("Яма", Context("Північний"), ()) == "Яма"  # no fields: the text alone
    assert context_tokens("Яма") == []


def test_unknown_context_field_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown context field"):
        ClassifierParams(context=("weather",))


def test_same_words_two_districts_two_labels_and_the_file_round_trip(tmp_path: Path) -> None:
    # The words never tell the office apart: only the district does.
    texts = ["яма на дорозі біля школи", "розбитий асфальт у дворі", "не прибрано сміття"]
    examples = [
        Example(f"{t} {i}", f"office_{d}", context=Context(district=d, month=1 + i % 12))
        for i in range(40)
        for t in texts
        for d in ("A", "B")
    ]
    result = train(dedupe(examples), ClassifierParams(context=("district", "month")))
    registry = ModelRegistry(tmp_path)
    model = registry.load(registry.save(result))
    assert model.context_fields == ("district", "month")
    assert model.card.params["context"] == ["district", "month"]
    for d in ("A", "B"):
        pred = model.predict(["яма на дорозі"], contexts=[Context(district=d)])[0]
        assert pred.label == f"office_{d}"
    # Without context fields the same data gives a model that ignores contexts.
    plain = train(dedupe(examples), ClassifierParams(holdout_fraction=0)).model
    assert plain.context_fields == ()
    a, b = (plain.predict(["яма на дорозі"], contexts=[Context(district=d)])[0].label for d in "AB")
    assert a == b


def test_dedupe_keeps_equal_texts_with_different_context() -> None:
    items = [
        Example("Те саме", "x", context=Context("A")),
        Example("те  саме", "y", context=Context("B")),
        Example("ТЕ САМЕ", "x", context=Context("A")),
    ]
    assert [e.label for e in dedupe(items)] == ["x", "y"]
    assert len(dedupe([Example("Те саме", "x"), Example("те саме", "y")])) == 1


def test_tabular_context_columns(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [
        {"text": "яма", "label": "roads", "district": "Північний", "repeat": True, "month": 11},
        {"text": "сміття", "label": "clean"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    loaded = load_tabular(path, with_context=True)
    assert loaded[0].context == Context("Північний", True, 11)
    assert loaded[1].context == Context(None, False, None)
    assert load_tabular(path)[0].context is None
    path.write_text(json.dumps({"text": "яма", "label": "r", "month": 13}), encoding="utf-8")
    with pytest.raises(TrainingDataError, match=r"month must be 1\.\.12"):
        load_tabular(path, with_context=True)
