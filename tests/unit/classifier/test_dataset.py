"""Dataset loaders (tabular, eml folders, maildirs, mbox), dedupe and warnings."""

from __future__ import annotations

import csv
import gzip
import json
import mailbox
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest

from classifier.dataset import (
    class_counts,
    dedupe,
    load_eml_folders,
    load_mbox_per_label,
    load_tabular,
    warnings_for,
)
from classifier.errors import TrainingDataError
from classifier.types import Example


def read_message(raw: bytes) -> str:
    """Test-only stand-in for the gateway's parser: subject + plain-text body."""
    msg = BytesParser(policy=default).parsebytes(raw)
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return f"{msg['subject'] or ''}\n{text}".strip()


def make_message(subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "citizen@example.org"
    msg["To"] = "appeals@council.example"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def test_load_jsonl_gz_and_csv(tmp_path: Path) -> None:
    rows = [{"body": "Немає води", "topic": "housing"}, {"body": "Яма", "topic": "roads"}]
    jsonl = tmp_path / "data.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    csv_path = tmp_path / "data.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["body", "topic"])
        writer.writeheader()
        writer.writerows(rows)
    for path in (jsonl, csv_path):
        examples = load_tabular(path, text_field="body", label_field="topic")
        assert [(e.text, e.label) for e in examples] == [
            ("Немає води", "housing"),
            ("Яма", "roads"),
        ]
        assert examples[0].source_id is not None


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("bad.jsonl", '{"text": "x"}\n', id="missing-label"),
        pytest.param("bad2.jsonl", "{not json\n", id="invalid-json"),
        pytest.param("bad.txt", "text,label\n", id="unknown-format"),
        pytest.param("empty.csv", "text,label\n", id="no-rows"),
        pytest.param("blank.csv", "text,label\n ,housing\n", id="blank-text"),
    ],
)
def test_load_tabular_errors(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrainingDataError):
        load_tabular(path)


def test_load_eml_folders_with_maildir(tmp_path: Path) -> None:
    housing = tmp_path / "housing"
    housing.mkdir()
    (housing / "1.eml").write_bytes(bytes(make_message("Вода", "Немає гарячої води")))
    (housing / "notes.txt").write_text("ignored", encoding="utf-8")
    (tmp_path / "roads").mkdir()
    box = mailbox.Maildir(tmp_path / "roads" / "inbox", create=True)
    box.add(make_message("Дорога", "Яма на дорозі"))
    box.add(make_message("Світлофор", "Не працює світлофор"))
    box.close()
    examples = load_eml_folders(tmp_path, read_message)
    assert class_counts(examples) == {"roads": 2, "housing": 1}
    assert any("Немає гарячої води" in e.text for e in examples if e.label == "housing")


def test_load_mbox_per_label(tmp_path: Path) -> None:
    for label, bodies in {
        "health": ["Немає лікаря", "Черга в поліклініці"],
        "other": ["Дякую"],
    }.items():
        box = mailbox.mbox(tmp_path / f"{label}.mbox")
        for body in bodies:
            box.add(make_message("Звернення", body))
        box.close()
    examples = load_mbox_per_label(tmp_path, read_message)
    assert class_counts(examples) == {"health": 2, "other": 1}
    assert [e.source_id for e in examples if e.label == "health"] == [
        "health.mbox#0",
        "health.mbox#1",
    ]


def test_empty_mail_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "housing").mkdir()
    with pytest.raises(TrainingDataError):
        load_eml_folders(tmp_path, read_message)


def test_dedupe_uses_normalised_text() -> None:
    examples = [
        Example("Під’їзд брудний", "housing", "a"),
        Example("ПІДʼЇЗД   брудний", "landscaping", "b"),
        Example("Інший текст", "other", "c"),
    ]
    assert [e.source_id for e in dedupe(examples)] == ["a", "c"]


def test_warnings_for_small_classes_and_duplicates() -> None:
    examples = [Example(f"текст {chr(0x430 + i)}", "big") for i in range(12)]
    examples += [Example("мало", "tiny"), Example("мало", "tiny")]
    problems = warnings_for(examples, min_per_class=10)
    assert any("'tiny'" in p and "2 example" in p for p in problems)
    assert not any("'big'" in p for p in problems)
    assert any("duplicate" in p for p in problems)
    assert warnings_for(examples[:12], min_per_class=10) == [
        "only 1 class(es): at least 2 are needed to train"
    ]
