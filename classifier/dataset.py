"""Loading labelled training data an administrator brings, and checking it.

Supported shapes:
- CSV or JSONL (optionally gzip-compressed) with chosen text and label fields;
- a folder with one sub-folder per label, holding .eml files and/or maildirs;
- a folder with one mbox file per label (label = file name without extension).

Mail is turned into text by an injected `read_message(raw_bytes) -> str`: this
package must not know how mail is parsed (the gateway passes its own parser).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import mailbox
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from classifier.context import Context
from classifier.errors import TrainingDataError
from classifier.normalise import normalise_text
from classifier.types import Example

ReadMessage = Callable[[bytes], str]

# Below this many examples a class is effectively unlearnable and its figures are noise.
DEFAULT_MIN_PER_CLASS = 10


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open("r", encoding="utf-8-sig", newline="")


def _base_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def load_tabular(
    path: str | Path,
    text_field: str = "text",
    label_field: str = "label",
    *,
    with_context: bool = False,
) -> list[Example]:
    """Read a CSV (header row) or JSONL file; `.gz` is decompressed transparently.

    Rows with an empty text or label are an error, not silently skipped: an admin
    who brings data wants to know that a column name is wrong. With `with_context`,
    the optional columns `district`, `repeat` (1/true/yes) and `month` (1..12) give each
    example its routing context (the columns `export-dataset` writes).
    """
    path = Path(path)
    kind = _base_suffix(path)
    if kind not in {".csv", ".jsonl", ".ndjson", ".json"}:
        raise TrainingDataError(f"{path.name}: expected .csv or .jsonl (optionally .gz)")
    try:
        with _open_text(path) as fh:
            rows = list(_iter_csv(fh) if kind == ".csv" else _iter_jsonl(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TrainingDataError(f"{path.name}: cannot read: {exc}") from exc
    examples: list[Example] = []
    for lineno, row in rows:
        if text_field not in row or label_field not in row:
            raise TrainingDataError(
                f"{path.name}:{lineno}: missing field {text_field!r} or {label_field!r}"
            )
        text, label = row[text_field], row[label_field]
        if not isinstance(text, str) or not isinstance(label, str | int):
            raise TrainingDataError(f"{path.name}:{lineno}: text must be a string")
        label = str(label).strip()
        if not text.strip() or not label:
            raise TrainingDataError(f"{path.name}:{lineno}: empty text or label")
        context = _row_context(row, f"{path.name}:{lineno}") if with_context else None
        examples.append(
            Example(text=text, label=label, source_id=f"{path.name}:{lineno}", context=context)
        )
    if not examples:
        raise TrainingDataError(f"{path.name}: no examples")
    return examples


def _row_context(row: dict[str, object], where: str) -> Context:
    district = row.get("district")
    repeat = str(row.get("repeat") or "").strip().lower() in {"1", "true", "yes"}
    month_raw = row.get("month")
    month: int | None = None
    if month_raw not in (None, ""):
        try:
            month = int(str(month_raw))
        except ValueError:
            month = 0
        if not 1 <= month <= 12:
            raise TrainingDataError(f"{where}: month must be 1..12, got {month_raw!r}")
    return Context(
        district=str(district).strip() or None if district else None, repeat=repeat, month=month
    )


def _iter_csv(fh: IO[str]) -> Iterator[tuple[int, dict[str, object]]]:
    reader = csv.DictReader(fh)
    for row in reader:
        yield reader.line_num, dict(row)


def _iter_jsonl(fh: IO[str]) -> Iterator[tuple[int, dict[str, object]]]:
    for lineno, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingDataError(f"line {lineno}: invalid JSON: {exc.msg}") from exc
        if not isinstance(obj, dict):
            raise TrainingDataError(f"line {lineno}: expected a JSON object")
        yield lineno, obj


def _is_maildir(folder: Path) -> bool:
    return (folder / "cur").is_dir() and (folder / "new").is_dir()


def _message_files(folder: Path) -> Iterator[Path]:
    """Yield .eml files and maildir messages under `folder`, in a stable order."""
    for entry in sorted(folder.rglob("*")):
        if not entry.is_file() or entry.name.startswith("."):
            continue
        if entry.suffix.lower() == ".eml":
            yield entry
        elif entry.parent.name in {"cur", "new"} and _is_maildir(entry.parent.parent):
            # Maildir file names carry flags after ':'; any file in cur/new is one message.
            yield entry


def _to_example(raw: bytes, label: str, source_id: str, read: ReadMessage) -> Example | None:
    text = read(raw)
    if not text or not text.strip():
        return None
    return Example(text=text, label=label, source_id=source_id)


def load_eml_folders(path: str | Path, read_message: ReadMessage) -> list[Example]:
    """One sub-folder per label; each holds .eml files and/or maildirs (cur/new)."""
    root = Path(path)
    if not root.is_dir():
        raise TrainingDataError(f"{root}: not a folder")
    examples: list[Example] = []
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        label = label_dir.name
        for file in _message_files(label_dir):
            example = _to_example(
                file.read_bytes(), label, str(file.relative_to(root)), read_message
            )
            if example is not None:
                examples.append(example)
    if not examples:
        raise TrainingDataError(f"{root}: no messages found in label sub-folders")
    return examples


def load_mbox_per_label(path: str | Path, read_message: ReadMessage) -> list[Example]:
    """A folder of mbox files, one per label; the label is the file name's stem."""
    root = Path(path)
    if not root.is_dir():
        raise TrainingDataError(f"{root}: not a folder")
    examples: list[Example] = []
    for file in sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")):
        label = file.stem
        box = mailbox.mbox(file, create=False)
        try:
            for index, key in enumerate(box.iterkeys()):
                example = _to_example(
                    box.get_bytes(key), label, f"{file.name}#{index}", read_message
                )
                if example is not None:
                    examples.append(example)
        finally:
            box.close()
    if not examples:
        raise TrainingDataError(f"{root}: no messages found in mbox files")
    return examples


def dedupe_key(text: str, context: Context | None = None) -> str:
    """Texts equal after normalisation count as duplicates; with a context, only when the
    context is equal too (the same words from two districts may go to two bodies)."""
    key = normalise_text(text)
    return f"{key}\x1f{context!r}" if key and context is not None else key


def dedupe(examples: Iterable[Example]) -> list[Example]:
    """Drop repeated texts (normalised exact match), keeping the first occurrence.

    If the same text appears under different labels, the first label wins; a
    contradictory label set would only teach noise.
    """
    seen: set[str] = set()
    out: list[Example] = []
    for example in examples:
        key = dedupe_key(example.text, example.context)
        if not key or key in seen:
            continue
        seen.add(key)
        out.append(example)
    return out


def class_counts(examples: Iterable[Example]) -> dict[str, int]:
    """Examples per label, most frequent first (ties by label)."""
    counts = Counter(e.label for e in examples)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def warnings_for(
    examples: Iterable[Example], min_per_class: int = DEFAULT_MIN_PER_CLASS
) -> list[str]:
    """Human-readable problems with a training set (empty list when it looks usable)."""
    items = list(examples)
    counts = class_counts(items)
    problems: list[str] = []
    if len(counts) < 2:
        problems.append(f"only {len(counts)} class(es): at least 2 are needed to train")
    for label, n in counts.items():
        if n < min_per_class:
            problems.append(
                f"class {label!r} has {n} example(s), fewer than {min_per_class}: "
                "too small to learn reliably"
            )
    duplicates = len(items) - len(dedupe(items))
    if duplicates:
        problems.append(f"{duplicates} duplicate text(s): run dedupe() before training")
    return problems
