"""`appeals classifier ...` and `appeals routing ...`: the model's life cycle for admins.

Training data an admin can bring: CSV or JSONL (chosen text and label fields), a folder
with one sub-folder per label holding .eml files or maildirs, an mbox per label, or the
gateway's own history (appeals whose topic or department a person set or corrected).
Messages are read with the gateway's own parser, so training sees what routing sees.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from classifier.context import Context, check_fields
from classifier.dataset import (
    class_counts,
    dedupe,
    load_eml_folders,
    load_mbox_per_label,
    load_tabular,
    warnings_for,
)
from classifier.errors import TrainingDataError
from classifier.pipeline import ClassifierParams
from classifier.registry import ModelRegistry
from classifier.training import evaluate, train
from classifier.types import Example
from gateway.app import App
from gateway.intake.parsing import parse
from models import Appeal, TrainingLabel
from routing.features import model_text, routing_context
from routing.learned_rules import RuleError, apply_rules, current_rules, parse_rules
from routing.lifecycle import record_event

log = logging.getLogger(__name__)


def read_message(raw: bytes) -> str:
    return model_text(parse(raw))


def context_fields(args: argparse.Namespace) -> tuple[str, ...]:
    raw = getattr(args, "context", None) or ""
    try:
        return check_fields([f.strip() for f in raw.split(",") if f.strip()])
    except ValueError as exc:
        raise TrainingDataError(str(exc)) from exc


def load_data(app: App, args: argparse.Namespace) -> list[Example]:
    if args.data == "history":
        return history_examples(app, args.target)
    path = Path(args.data)
    if path.is_dir():
        subdirs = [p for p in path.iterdir() if p.is_dir()]
        if subdirs and all(p.suffix != ".mbox" for p in subdirs):
            return load_eml_folders(path, read_message)
        return load_mbox_per_label(path, read_message)
    # Context columns are read whenever present: a model trained without context ignores
    # them, one trained with context needs them to be evaluated fairly.
    return load_tabular(
        path, text_field=args.text_field, label_field=args.label_field, with_context=True
    )


def history_examples(app: App, target: str = "topic") -> list[Example]:
    """Appeals whose topic (or department) a person chose: triage decisions, #redirect,
    admin corrections. The latest label per appeal wins."""
    out: dict[int, Example] = {}
    tz = app.pipeline_config().timezone
    with app.sessions() as s:
        rows = s.execute(
            select(TrainingLabel, Appeal)
            .join(Appeal, Appeal.id == TrainingLabel.appeal_id)
            .order_by(TrainingLabel.id)
        ).all()
        for label, appeal in rows:
            value = label.topic if target == "topic" else label.department_code
            if value:
                out[appeal.id] = Example(
                    f"{appeal.subject}\n{appeal.text}".strip(),
                    value,
                    appeal.reg_no,
                    # What the worker knew when it routed the appeal.
                    context=routing_context(
                        appeal.district, appeal.repeat_status, appeal.received_at, tz
                    ),
                )
    return list(out.values())


def promote(app: App, version: str, actor: str, *, force: bool = False) -> None:
    """Make a saved model the active one (a running gateway picks it up within seconds),
    recorded as an event with who did it."""
    ModelRegistry(app.settings.model_dir).promote(version, force=force)
    with app.sessions.begin() as s:
        record_event(s, app.clock.now(), "classifier-promoted", actor=actor, version=version)


def rollback(app: App, actor: str) -> str:
    """The previously active model again; returns its version."""
    version = ModelRegistry(app.settings.model_dir).rollback()
    with app.sessions.begin() as s:
        record_event(s, app.clock.now(), "classifier-rolled-back", actor=actor, version=version)
    return version


def cmd_classifier(app: App, args: argparse.Namespace) -> int:
    registry = ModelRegistry(app.settings.model_dir)
    c = args.clf_command
    if c == "list":
        for item in registry.list():
            card = item.card
            ev = card.evaluation or {}
            figures = f"macro-F1 {ev['macro_f1']:.3f}" if "macro_f1" in ev else "no holdout"
            print(
                f"{'*' if item.active else ' '} {card.version}  {card.trained_at}  "
                f"n={card.data_size}  {figures}"
            )
        return 0
    if c == "rollback":
        print(f"active: {rollback(app, 'cli')}")
        return 0
    if c == "promote":
        examples = dedupe(load_data(app, args)) if args.data else None
        registry.promote(args.version, eval_examples=examples, force=args.force)
        print(f"active: {args.version}")
        return 0
    if c == "export-dataset":
        rows = history_examples(app, args.target)
        with open(args.out, "w", encoding="utf-8") as fh:
            for ex in rows:
                ctx = ex.context or Context()
                record = {
                    "text": ex.text,
                    "label": ex.label,
                    "id": ex.source_id,
                    "district": ctx.district,
                    "repeat": ctx.repeat,
                    "month": ctx.month,
                }
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"{len(rows)} example(s) written to {args.out}; classes: {dict(class_counts(rows))}")
        return 0
    fields = context_fields(args)
    loaded = load_data(app, args)
    if c == "train" and not fields:
        loaded = [replace(e, context=None) for e in loaded]
    examples = dedupe(loaded)
    if c == "train":
        print(f"{len(examples)} example(s) after dedupe; classes: {dict(class_counts(examples))}")
        for problem in warnings_for(examples):
            print(f"warning: {problem}", file=sys.stderr)

        def progress(stage: str, fraction: float) -> None:
            bar = "#" * int(fraction * 30)
            print(
                f"\r[{bar:<30}] {fraction:4.0%} {stage[:40]:<40}",
                end="",
                file=sys.stderr,
                flush=True,
            )

        params = ClassifierParams(context=fields)
        result = train(examples, params, progress=progress, now=app.clock.now)
        print(file=sys.stderr)
        version = registry.save(result)
        print(f"saved {version}")
        if args.promote:
            registry.promote(version, force=args.force)
            print(f"active: {version}")
        return 0
    if c == "evaluate":
        model = registry.load(args.version) if args.version else registry.load_active()
        report = evaluate(model, examples)
        if args.png:
            report.save_confusion_png(args.png)
        print(
            json.dumps(report.to_dict(), ensure_ascii=False, default=str, indent=2)
            if args.json
            else report.to_text()
        )
        return 0
    return 2


def cmd_routing(app: App, args: argparse.Namespace) -> int:
    if args.routing_command == "suggest":
        return cmd_routing_suggest(app, args)
    if args.routing_command == "apply":
        return cmd_routing_apply(app, args)
    with app.sessions() as s:
        rules = current_rules(s)
    for r in rules:
        print(f"{r.label}\t{r.district or '*'}\t{r.department}\tsupport={r.support}")
    print(f"{len(rules)} learned rule(s)")
    return 0


def cmd_routing_suggest(app: App, args: argparse.Namespace) -> int:
    """Propose a (topic, district) -> department table from history, with its accuracy on
    held-out history, for an admin to review, edit and `appeals routing apply`."""
    from routing.rule_learning import learn_table

    with app.sessions() as s:
        rows = [
            (a.topic, a.district, a.department.code)
            for a in s.scalars(
                select(Appeal)
                .where(Appeal.topic.is_not(None), Appeal.department_id.is_not(None))
                .order_by(Appeal.id)
            )
            if a.department is not None
        ]
    if len(rows) < 10:
        print(f"only {len(rows)} routed appeal(s) with a topic: not enough history")
        return 1
    # Held-out estimate: learn on 4/5, test on every fifth row (deterministic).
    train_rows = [r for i, r in enumerate(rows) if i % 5]
    test_rows = [r for i, r in enumerate(rows) if not i % 5]
    held = learn_table(train_rows)
    hits = sum(held.lookup(t, d) == dept for t, d, dept in test_rows)
    table = learn_table(rows)
    entries: list[dict[str, Any]] = []
    for (topic, district), entry in sorted(table.by_pair.items(), key=_key):
        if district is not None:
            entries.append(_entry(topic, district, entry))
    for topic, entry in sorted(table.by_topic.items(), key=lambda x: str(x[0])):
        entries.append(_entry(topic, None, entry))  # any other district
    suggestion: dict[str, Any] = {
        "rows": len(rows),
        "held_out_accuracy": round(hits / len(test_rows), 3) if test_rows else None,
        "table": entries,
    }
    text = json.dumps(suggestion, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(
            f"{len(entries)} rule(s) from {len(rows)} appeal(s), held-out accuracy "
            f"{suggestion['held_out_accuracy']}: written to {args.out}; review it, then "
            f"`appeals routing apply {args.out}`"
        )
    else:
        print(text)
    return 0


def cmd_routing_apply(app: App, args: argparse.Namespace) -> int:
    """Replace the learned rules with the reviewed table in FILE (suggest's JSON)."""
    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
        rules = parse_rules(data)
        with app.sessions.begin() as s:
            n = apply_rules(s, rules, now=app.clock.now(), actor=args.actor)
    except (OSError, json.JSONDecodeError, RuleError) as exc:
        print(f"appeals routing apply: {args.file}: {exc}", file=sys.stderr)
        return 1
    log.info("routing rules replaced: %d rule(s)", n)
    print(f"{n} learned rule(s) applied; they take effect with the next appeal")
    return 0


def _key(item: tuple[tuple[Any, Any], Any]) -> tuple[str, str]:
    (topic, district), _ = item
    return str(topic), str(district)


def _entry(topic: Any, district: Any, entry: Any) -> dict[str, Any]:
    return {
        "topic": topic,
        "district": district,
        "department": entry.department,
        "support": entry.support,
        "share": round(entry.share, 3),
    }
