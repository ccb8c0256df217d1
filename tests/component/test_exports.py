"""`appeals export registry|open-data` over appeals registered by the pipeline from letters
full of personal data: the open-data set carries none of it and has exactly the columns
docs/open-data.md documents; the registry's XLSX opens with openpyxl and holds the same rows
as its CSV and as the rows built in memory."""

from __future__ import annotations

import argparse
import csv
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from gateway.clock import ManualClock
from gateway.commands.exports import build, cmd_export
from routing.exports import OPEN_DATA_HEADER, PERSONAL_HEADER, REGISTRY_HEADER
from routing.mail import Envelope

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
TODAY = NOW.astimezone(ZoneInfo("Europe/Kyiv")).date().isoformat()

# (name, e-mail, phone, address, subject, text) of each seeded citizen.
CITIZENS = (
    (
        "Тарас Григорович Кулик",
        "taras.kulyk@ukr.net",
        "+380 67 123 45 67",
        "вул. Рівненська, 48, кв. 12",
        "Ями на дорозі",
        "Прошу відремонтувати ями на вул. Рівненській біля зупинки «Стадіон».",
    ),
    (
        "Ганна Олексіївна Мазур",
        "h.mazur@gmail.com",
        "050-987-65-43",
        "просп. Молоді, 5, кв. 77",
        "Скарга на ЖЕК",
        "Скаржуся на бездіяльність ЖЕКу: дах протікає з жовтня. Я особа з інвалідністю ІІ групи.",
    ),
    (
        "Petro Savchenko",
        "p.savchenko@example.org",
        "0932223344",
        "вул. Шевченка, 9",
        "Пропозиція щодо парку",
        "Пропоную встановити лавки в Центральному парку культури біля фонтану.",
    ),
)


def _letter(name: str, addr: str, phone: str, street: str, subject: str, text: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"{name} <{addr}>"
    m["To"] = "appeals@council.example"
    m["Subject"] = subject
    m.set_content(f"{text}\n\n{name}\n{street}, м. Луцьк\nтел. {phone}\n")
    return m.as_bytes()


@pytest.fixture
def app(make_app: Any) -> Any:
    app = make_app(clock=ManualClock(NOW))
    for c in CITIZENS:
        app.ingest().accept(_letter(*c), Envelope("smtp", c[1], ()))
    app.worker().run_once()
    return app


def _args(command: str, **kw: Any) -> argparse.Namespace:
    base = {
        "export_command": command,
        "date_from": "2026-12-01",
        "date_to": "2026-12-31",
        "csv": None,
        "xlsx": None,
        "personal": False,
    }
    return argparse.Namespace(**{**base, **kw})


def test_open_data_carries_no_personal_data(app: Any, tmp_path: Path) -> None:
    out = tmp_path / "open.csv"
    assert cmd_export(app, _args("open-data", csv=str(out))) == 0
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # plain UTF-8 for machines
    text = raw.decode("utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert tuple(rows[0]) == OPEN_DATA_HEADER
    assert len(rows) == 1 + len(CITIZENS)
    # Every part of every seeded citizen's data: names word by word, addresses, phones in
    # the digits they were written with, subjects, texts.
    digits = re.sub(r"\D", "", text)
    for name, addr, phone, street, subject, body in CITIZENS:
        for word in name.split():
            assert word not in text
        assert addr not in text and addr.split("@")[0] not in text
        assert re.sub(r"\D", "", phone)[-7:] not in digits
        assert street not in text and street.split(",")[0] not in text
        assert subject not in text and body[:30] not in text
    assert "A-2026-" not in text  # no registration numbers either
    assert "disability" not in text  # nor the privileged category (health data)
    by_col = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert {r["receipt_date"] for r in by_col} == {TODAY}
    assert sorted(r["appeal_type"] for r in by_col) == ["application", "complaint", "proposal"]
    assert all(r["department"] and r["topic_code"] and r["receipt_form"] for r in by_col)


def test_the_open_data_schema_is_documented_column_by_column() -> None:
    doc = (REPO / "docs" / "open-data.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([a-z_]+)` \| ([a-z ]+?) \| .+ \|$", doc, re.MULTILINE)
    assert tuple(name for name, _ in documented) == OPEN_DATA_HEADER


def test_registry_xlsx_matches_its_csv_and_the_rows(app: Any, tmp_path: Path) -> None:
    out_csv, out_xlsx = tmp_path / "reg.csv", tmp_path / "reg.xlsx"
    assert cmd_export(app, _args("registry", csv=str(out_csv), xlsx=str(out_xlsx))) == 0
    data = build(app, _args("registry"))
    assert data.header == REGISTRY_HEADER and len(data.rows) == len(CITIZENS)
    expected = [[str(c) for c in r] for r in data.rows]
    with out_csv.open(encoding="utf-8-sig") as fh:
        from_csv = list(csv.reader(fh))
    assert tuple(from_csv[0]) == REGISTRY_HEADER and from_csv[1:] == expected
    book = openpyxl.load_workbook(out_xlsx)
    cells = [["" if c is None else c for c in r] for r in book.active.iter_rows(values_only=True)]
    assert tuple(cells[0]) == REGISTRY_HEADER and cells[1:] == expected
    by_type = {r[REGISTRY_HEADER.index("appeal_type")]: r for r in data.rows}
    complaint = by_type["complaint"]
    assert complaint[REGISTRY_HEADER.index("privileged_category")] == "disability"
    assert "type=rule" in str(complaint[REGISTRY_HEADER.index("sources")])
    # Names only on request, for the office's own register.
    assert not any("Мазур" in str(c) for r in data.rows for c in r)
    personal = build(app, _args("registry", personal=True))
    assert personal.header == REGISTRY_HEADER + PERSONAL_HEADER
    assert any("Ганна Олексіївна Мазур" in str(c) for r in personal.rows for c in r)


def test_a_period_outside_has_no_rows(app: Any) -> None:
    assert build(app, _args("open-data", date_from="2026-11-01", date_to="2026-11-30")).rows == []
    with pytest.raises(ValueError):
        build(app, _args("registry", date_from="2026-12-31", date_to="2026-12-01"))
