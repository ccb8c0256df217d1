"""The register through the running gateway: a complaint, a proposal and a collective
appeal come in as real clients send them, a department answers one with
`#result вирішено`, and `appeals report quarterly` counts them by type, subject and
result."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from harness import Gateway, by_rcpt


def _row(report: str, section: str, value: str) -> int:
    """The count on `value`'s line in the `section` table of the terminal report."""
    lines = report.splitlines()
    start = lines.index(section)
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        if line.split()[0] == value:
            return int(line.split()[-1])
    return 0


def test_quarterly_report_counts_what_came_in(gateway: Gateway) -> None:
    # Outlook 2016, Windows: a complaint, quoted-printable UTF-8.
    gateway.send(
        "From: =?utf-8?B?"
        + base64.b64encode("Ігор Савчук".encode()).decode()
        + "?= <igor.savchuk@ukr.net>\n"
        'To: "appeals@council.example" <appeals@council.example>\n'
        "Subject: =?utf-8?B?"
        + base64.b64encode("Скарга на бездіяльність ЖЕКу".encode()).decode()
        + "?=\n"
        "Date: Wed, 2 Dec 2026 14:03:11 +0200\n"
        "Message-ID: <AM0PR09MB1234A5B6C7D8E9F0@AM0PR09MB1234.eurprd09.prod.outlook.com>\n"
        "X-Mailer: Microsoft Outlook 16.0\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: 8bit\n\n"
        "Подаю скаргу на бездіяльність ЖЕКу № 4: третій тиждень у під'їзді немає світла, "
        "заявки не виконують.\n\n"
        "Ігор Савчук\nвул. Кравчука, 18, кв. 52, м. Луцьк\n",
        "igor.savchuk@ukr.net",
        ["appeals@council.example"],
    )
    # Gmail web: a proposal, plain text part of multipart/alternative.
    gateway.send(
        "MIME-Version: 1.0\n"
        "Date: Wed, 2 Dec 2026 15:41:09 +0200\n"
        "Message-ID: <CAF3k9xQ7b2LmN0pZr4Tw@mail.gmail.com>\n"
        "Subject: =?UTF-8?B?"
        + base64.b64encode("Велодоріжка на проспекті Волі".encode()).decode()
        + "?=\n"
        "From: Olena Kovalchuk <olena.kovalchuk@gmail.com>\n"
        "To: appeals@council.example\n"
        'Content-Type: multipart/alternative; boundary="0000000000004f8a1c0603b2d1e7"\n\n'
        "--0000000000004f8a1c0603b2d1e7\n"
        'Content-Type: text/plain; charset="UTF-8"\n'
        "Content-Transfer-Encoding: 8bit\n\n"
        "Добрий день!\n\nПропоную облаштувати велодоріжку вздовж проспекту Волі від "
        "центру до вокзалу.\n\n-- \nОлена Ковальчук\nм. Луцьк, вул. Винниченка, 7, кв. 3\n\n"
        "--0000000000004f8a1c0603b2d1e7\n"
        'Content-Type: text/html; charset="UTF-8"\n'
        "Content-Transfer-Encoding: 8bit\n\n"
        '<div dir="ltr">Добрий день!<br><br>Пропоную облаштувати велодоріжку вздовж '
        "проспекту Волі від центру до вокзалу.<br><br>-- <br>Олена Ковальчук<br>"
        "м. Луцьк, вул. Винниченка, 7, кв. 3</div>\n\n"
        "--0000000000004f8a1c0603b2d1e7--\n",
        "olena.kovalchuk@gmail.com",
        ["appeals@council.example"],
    )
    # ukr.net webmail: a collective appeal with numbered signatories.
    gateway.send(
        "From: =?utf-8?B?"
        + base64.b64encode("Петро Мельничук".encode()).decode()
        + "?= <p.melnychuk@ukr.net>\n"
        "To: appeals@council.example\n"
        "Subject: =?utf-8?B?"
        + base64.b64encode("Колективне звернення мешканців вул. Львівської, 60".encode()).decode()
        + "?=\n"
        "Date: Wed, 02 Dec 2026 16:20:55 +0200\n"
        "Message-Id: <1733149255.381920000.k2ab9xq1@frv55.fwdcdn.com>\n"
        "X-Mailer: ukr.net\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
        "Ми, мешканці будинку № 60 на вул. Львівській, просимо встановити дитячий "
        "майданчик у дворі.\n\nПідписи:\n1. Мельничук Петро\n2. Гаврилюк Ірина\n"
        "3. Бондар Сергій\n\nКонтакт: Петро Мельничук, вул. Львівська, 60, кв. 9, м. Луцьк\n",
        "p.melnychuk@ukr.net",
        ["appeals@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(6))
    ack = out.pop("igor.savchuk@ukr.net")
    out.pop("olena.kovalchuk@gmail.com")
    out.pop("p.melnychuk@ukr.net")
    forwards = [lt for lt in out.values() if ack.reg_no in lt.subject]
    assert len(forwards) == 1
    fwd = forwards[0]
    reply_to = str(fwd.msg["Reply-To"])
    # Outlook answer from the department: command on the first line, the answer below,
    # the forward quoted under an Outlook header block.
    gateway.send(
        f"From: Staff <{fwd.rcpt}>\n"
        f"To: {reply_to}\n"
        f"Subject: RE: {fwd.msg['Subject']}\n"
        f"In-Reply-To: {fwd.msg['Message-ID']}\n"
        f"References: {fwd.msg['Message-ID']}\n"
        "Date: Thu, 3 Dec 2026 11:02:00 +0200\n"
        "Message-ID: <VI1PR0901MB2222F0E1D2C3B4A5@VI1PR0901MB2222.eurprd09.prod.outlook.com>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: 8bit\n\n"
        "#result вирішено\n"
        "Освітлення в під'їзді відновлено 03.12.2026, ЖЕК № 4 отримав догану.\n\n"
        "-----Original Message-----\n"
        "From: Звернення громадян\n"
        f"Subject: {fwd.msg['Subject']}\n\n"
        + "\n".join("> " + ln for ln in fwd.text.splitlines())
        + "\n",
        fwd.rcpt,
        [reply_to],
    )
    (answer,) = gateway.wait_letters(1)
    assert answer.rcpt == "igor.savchuk@ukr.net"
    assert "#result" not in answer.text
    assert "Освітлення в під'їзді відновлено" in answer.text

    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Kyiv")).date()
    report = gateway.cli(
        "report", "quarterly", "--year", str(today.year), "--quarter", str((today.month + 2) // 3)
    )
    assert _row(report, "type", "complaint") == 1
    assert _row(report, "type", "proposal") == 1
    assert _row(report, "type", "application") == 1
    assert _row(report, "subject", "collective") == 1
    assert _row(report, "subject", "individual") == 2
    assert _row(report, "form of receipt", "email") == 3
    assert _row(report, "result", "resolved") == 1
    assert _row(report, "result", "—") == 2  # the other two are still open
    assert _row(report, "timeliness", "on_time") == 1
    assert _row(report, "timeliness", "open_in_time") == 2
    assert _row(report, "type", "total") == 3


def test_every_appeal_registered_here_has_every_characteristic_with_its_source(
    gateway: Gateway,
) -> None:
    # The same check every acceptance module's gateway gets at teardown (conftest.py),
    # here as a test of its own, on the appeals of the test above: three registered, one
    # closed with a staff result.
    assert gateway.uncharacterised() == []
    shown = json.loads(gateway.cli("appeal", "show", "A-2026-000001"))
    sources = shown["characteristics"]["sources"]
    assert set(sources) >= {"form", "sign", "type", "subject", "privileged_category", "topic_code"}
    assert sources["result"] == "staff"
