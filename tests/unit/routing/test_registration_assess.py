"""What registration reads from a message alone (`routing.registration.assess`), as a
table over letters shaped like real ones. No database: assess is pure."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from gateway.intake.parsing import parse
from routing.registration import assess

RECEIVED = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)  # Thursday 10:30 in Kyiv
SIGNED = "\n\nЗ повагою,\nОксана Гнатюк\nм. Луцьк, вул. Шевченка, 40, кв. 17\n"


def letter(
    text: str, subject: str = "Звернення", sender: str = "Оксана Гнатюк <oksana@ukr.net>"
) -> Any:
    raw = (
        f"From: {sender}\nTo: appeals@council.example\nSubject: {subject}\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        f"Content-Transfer-Encoding: 8bit\n\n{text}\n"
    )
    return parse(raw.encode())


CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "complete appeal",
        "Звернення",
        "Прошу відремонтувати під'їзд." + SIGNED,
        # 30 days end on Saturday 2 January 2027; the term ends on the next working day.
        {"kind": "appeal", "missing": (), "anonymous": False, "due": date(2027, 1, 4)},
    ),
    (
        "no postal address: incomplete (Art. 5)",
        "Звернення",
        "Прошу відремонтувати під'їзд.\n\nОксана Гнатюк",
        {"kind": "appeal", "anonymous": False, "missing_has": "address"},
    ),
    (
        "information request by wording: five working days",
        "Запит",
        "Відповідно до Закону «Про доступ до публічної інформації» прошу надати копію "
        "кошторису." + SIGNED,
        {"kind": "info_request", "urgent": False, "due": date(2026, 12, 10)},
    ),
    (
        "urgent information request: 48 hours",
        "Запит на інформацію",
        "Прошу надати публічну інформацію про аварію на водогоні: загроза життю людей." + SIGNED,
        {"kind": "info_request", "urgent": True},
    ),
    (
        "collective appeal with three signatures",
        "Колективне звернення",
        "Просимо встановити лежачого поліцейського.\n\nПідписи:\n1. Оксана Гнатюк\n"
        "2. Петро Сидоренко\n3. Марія Коваль\nм. Луцьк, вул. Шевченка, 40",
        {"kind": "appeal", "signatories_at_least": 2},
    ),
]


@pytest.mark.parametrize(
    ("subject", "text", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_assess(make_app: Any, subject: str, text: str, want: dict[str, Any]) -> None:
    deps = make_app().pipeline_deps()
    facts = assess(letter(text, subject), ["appeals@council.example"], RECEIVED, deps)
    assert facts.kind == want["kind"]
    if "missing" in want:
        assert facts.completeness.missing == want["missing"]
    if "missing_has" in want:
        assert want["missing_has"] in facts.completeness.missing
    if "anonymous" in want:
        assert facts.completeness.anonymous is want["anonymous"]
    if "urgent" in want:
        assert facts.urgent is want["urgent"]
        if want["urgent"]:
            assert facts.due.due_at is not None
            assert (facts.due.due_at - RECEIVED).total_seconds() == 48 * 3600
    if "due" in want:
        assert facts.due.receipt_date == date(2026, 12, 3)
        assert facts.due.due_date == want["due"]
    if "signatories_at_least" in want:
        assert facts.signatories >= want["signatories_at_least"]
    assert len(facts.fingerprint) == 64


def test_the_fingerprint_ignores_the_signature_and_quoted_history(make_app: Any) -> None:
    deps = make_app().pipeline_deps()
    a = assess(letter("Прошу відремонтувати під'їзд." + SIGNED), [], RECEIVED, deps)
    b = assess(
        letter("Прошу відремонтувати під'їзд.\n\n-- \nО. Гнатюк\nтел. 050 000 00 00"),
        [],
        RECEIVED,
        deps,
    )
    assert a.fingerprint == b.fingerprint
    assert a.text != b.text
