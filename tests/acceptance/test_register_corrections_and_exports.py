"""The register through the running gateway: a department corrects an appeal's
characteristics from Thunderbird (`#type`, `#category`), an admin corrects another from the
console (`appeals appeal set`), and the exports and charts an office sends on come out of
`appeals export` and `appeals report quarterly --png` with the corrected values and, in the
open data, none of the citizens' personal data."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import openpyxl
from harness import Gateway, Letter, by_rcpt

NAME, MAIL, STREET = "Василина Гнатюк", "vasylyna.hnatiuk@meta.ua", "вул. Дубнівська, 41"


def thunderbird_reply(fwd: Letter, dept: str, body: str, mid: str) -> str:
    """Thunderbird 115: format=flowed, the attribution line, the forward "> "-quoted."""
    quoted = "\n".join("> " + ln for ln in fwd.text.splitlines())
    return f"""Message-ID: <{mid}@council.example>
Date: Fri, 4 Dec 2026 09:41:12 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: uk
Subject: Re: {fwd.msg["Subject"]}
To: {fwd.msg["Reply-To"]}
References: {fwd.msg["Message-ID"]}
In-Reply-To: {fwd.msg["Message-ID"]}
From: Department <{dept}>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{body}

04.12.2026 09:30, Звернення громадян пише:
{quoted}
"""


def test_corrections_reach_the_register_and_the_exports(gateway: Gateway) -> None:
    # Apple Mail (iPhone): the story of an official's inaction, told without the word
    # "скарга"; the author's category is not stated either.
    gateway.send(
        f"""Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
Mime-Version: 1.0 (1.0)
From: {NAME} <{MAIL}>
Date: Fri, 4 Dec 2026 09:12:40 +0200
Subject: =?utf-8?B?0JLQuNCy0ZbQtyDRgdC80ZbRgtGC0Y8=?=
Message-Id: <7F1C2B3A-4D5E-4F60-8172-93A4B5C6D7E8@meta.ua>
To: appeals@council.example
X-Mailer: iPhone Mail (21B101)

Сміття з контейнерного майданчика біля будинку на {STREET} не вивозили з 20 листопада.
Прошу вжити заходів.

{NAME}
{STREET}, кв. 8, м. Луцьк
тел. 097 555 12 34

Надіслано з iPhone
""",
        MAIL,
        ["appeals@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    reg_no = out.pop(MAIL).reg_no
    ((dept, fwd),) = out.items()
    before = json.loads(gateway.cli("appeal", "show", reg_no))["characteristics"]
    assert before["type"] == "application" and before["sources"]["type"] == "rule"

    gateway.send(
        thunderbird_reply(fwd, dept, "#type скарга\n#category багатодітна сім'я", "tb-fix-1"),
        dept,
        [str(fwd.msg["Reply-To"])],
    )
    confirmations = gateway.wait_letters(1)
    assert confirmations[0].rcpt == dept
    assert "вид звернення: скарга" in confirmations[0].text
    assert "категорія автора: багатодітна сім'я" in confirmations[0].text
    # The console: the same correction function.
    gateway.cli("appeal", "set", reg_no, "topic-code", "011", "--actor", "registry-clerk")

    shown = json.loads(gateway.cli("appeal", "show", reg_no))
    c = shown["characteristics"]
    assert (c["type"], c["privileged_category"], c["topic_code"]) == (
        "complaint",
        "large_family",
        "011",
    )
    assert [c["sources"][k] for k in ("type", "privileged_category", "topic_code")] == ["staff"] * 3
    assert shown["state"] == "routed"  # corrections answer nothing
    sets = [e for e in shown["events"] if e["type"] == "characteristic-set"]
    assert [(e["actor"], e["data"]["via"]) for e in sets] == [
        (dept, "email"),
        (dept, "email"),
        ("registry-clerk", "console"),
    ]

    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Kyiv")).date()
    period = ["--from", f"{today.year}-01-01", "--to", f"{today.year}-12-31"]
    open_csv, reg_xlsx, charts = (
        gateway.tmp / "open.csv",
        gateway.tmp / "registry.xlsx",
        gateway.tmp / "charts",
    )
    gateway.cli("export", "open-data", *period, "--csv", str(open_csv))
    gateway.cli("export", "registry", *period, "--xlsx", str(reg_xlsx))
    quarter = str((today.month + 2) // 3)
    gateway.cli(
        "report", "quarterly", "--year", str(today.year), "--quarter", quarter, "--png", str(charts)
    )

    text = open_csv.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1 and rows[0]["appeal_type"] == "complaint"
    assert rows[0]["topic_code"] == "011" and rows[0]["department"]
    for personal in (*NAME.split(), MAIL, "Дубнівськ", "555 12 34", "5551234", reg_no):
        assert personal not in text
    sheet = openpyxl.load_workbook(reg_xlsx).active
    header, *cells = list(sheet.iter_rows(values_only=True))
    row = dict(zip(header, cells[0], strict=True))
    assert (row["reg_no"], row["appeal_type"], row["privileged_category"]) == (
        reg_no,
        "complaint",
        "large_family",
    )
    assert "type=staff" in row["sources"]
    for name in ("type.png", "department.png", "timeliness.png"):
        assert (charts / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
