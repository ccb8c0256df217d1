"""Personal data through `appeals run`: after a day's worth of letters shaped like real
clients (Gmail with a photo, Thunderbird in cp1251 with a PDF, an iPhone follow-up with
another photo, an Outlook staff answer with a command and a final answer, a citizen's
thanks, an anonymous letter, a hostile header, a relay attempt), and `appeals erase`,
`appeals purge` and `appeals status`, the whole log output of the process (stdout and
stderr, the intake child's too, and any log file under the data directory), at DEBUG, the
most telling level, names none of the citizens: no address, name, phone, street, file
name or text. Every letter the gateway sent is
DKIM-signed (a key is configured here) and verifies."""

from __future__ import annotations

import base64
import re
import smtplib
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest
from aiosmtpd.controller import Controller
from conftest import CaptureRelay
from gwtest import REPO, free_port, wait_for
from harness import Gateway, Letter
from probes import dkim_key

STAFF = "zhkg-staff@council.example"
SELECTOR = "gw"
# What must never reach a log: addresses, their local parts, names, phones (as written
# and as bare digits), streets, file names and words of the letters.
TRACES = [
    "yaroslava.kravchuk",
    "bohdan.ostapchuk",
    "anon.lutsk",
    "Ярослава",
    "Кравчук",
    "Kravchuk",
    "Богдан",
    "Остапчук",
    "431 20 98",
    "4312098",
    "555-13-24",
    "5551324",
    "Кривий Вал",
    "Молоді",
    "повалене дерево",
    "заливають",
    "ванну кімнату",
    "ще одне фото",
    "Дякую за допомогу",
    "Бережна",
    "evil.example",
]


def b64(data: bytes) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))


def enc(text: str) -> str:
    return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="


JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb0043") + bytes(range(256)) * 16
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 16 + b"\n%%EOF\n"


def gmail_with_photo() -> str:
    body = (
        "Добрий день!\n\nНа подвір'ї будинку повалене дерево перекрило проїзд для швидкої.\n"
        "Фото додаю.\n\nЯрослава Кравчук\nм. Луцьк, вул. Кривий Вал, 34, кв. 17\n"
        "+380 67 431 20 98\n"
    )
    return f"""MIME-Version: 1.0
Date: Mon, 7 Dec 2026 09:41:12 +0200
Message-ID: <CAJ8xLogs01@mail.gmail.com>
Subject: {enc("Повалене дерево на подвір'ї")}
From: {enc("Ярослава Кравчук")} <yaroslava.kravchuk@gmail.com>
To: zhkg@council.example
Content-Type: multipart/mixed; boundary="000000000000a1b2c3"

--000000000000a1b2c3
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(body.encode())}
--000000000000a1b2c3
Content-Type: image/jpeg; name="derevo_Kravchuk.jpg"
Content-Disposition: attachment; filename="derevo_Kravchuk.jpg"
Content-Transfer-Encoding: base64

{b64(JPEG)}
--000000000000a1b2c3--
"""


def thunderbird_cp1251_with_pdf() -> bytes:
    body = (
        "Доброго дня.\n\nСусіди з квартири вище систематично заливають мою ванну кімнату,\n"
        "акт обстеження додаю.\n\nБогдан Остапчук\nм. Луцьк, просп. Молоді, 5, кв. 88\n"
        "тел. 097-555-13-24\n"
    )
    head = (
        "Message-ID: <5f1e2d3c-logs-02@ukr.net>\nDate: Mon, 7 Dec 2026 10:02:33 +0200\n"
        "MIME-Version: 1.0\nUser-Agent: Mozilla/5.0 Thunderbird/115.5.0\nContent-Language: uk\n"
        "To: zhkg@council.example\n"
        f"From: {enc('Богдан Остапчук')} <bohdan.ostapchuk@ukr.net>\n"
        f"Subject: {enc('Заливають сусіди')}\n"
        'Content-Type: multipart/mixed; boundary="------------tb0001"\n\n'
        "This is a multi-part message in MIME format.\n--------------tb0001\n"
        "Content-Type: text/plain; charset=windows-1251; format=flowed\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    )
    tail = (
        '\n--------------tb0001\nContent-Type: application/pdf; name="akt_Ostapchuk.pdf"\n'
        'Content-Disposition: attachment; filename="akt_Ostapchuk.pdf"\n'
        f"Content-Transfer-Encoding: base64\n\n{b64(PDF)}\n--------------tb0001--\n"
    )
    return head.encode() + body.encode("cp1251") + tail.encode()


def iphone_followup(ack: Letter) -> str:
    body = "Додаю ще одне фото, дерево вже лежить на машині.\n\nНадіслано з iPhone\n"
    return f"""Content-Type: multipart/mixed; boundary=Apple-Mail-1A2B
Mime-Version: 1.0 (1.0)
Subject: {enc("Re: " + ack.subject)}
From: {enc("Ярослава Кравчук")} <yaroslava.kravchuk@gmail.com>
In-Reply-To: {ack.msg["Message-ID"]}
References: {ack.msg["Message-ID"]}
Date: Mon, 7 Dec 2026 11:15:02 +0200
To: {ack.msg["Reply-To"]}
Message-Id: <AB12-logs-03@gmail.com>
X-Mailer: iPhone Mail (21B101)

--Apple-Mail-1A2B
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

{b64(body.encode())}
--Apple-Mail-1A2B
Content-Type: image/jpeg; name=IMG_0412.jpeg
Content-Disposition: attachment; filename=IMG_0412.jpeg
Content-Transfer-Encoding: base64

{b64(JPEG + b"2")}
--Apple-Mail-1A2B--
"""


def outlook_staff(fwd: Letter, first_lines: str, n: int) -> str:
    plain = (
        f"{first_lines}\n\nЗ повагою,\nІван Майстренко\n\n"
        f"From: Звернення громадян <appeals@council.example>\nSent: Monday, December 7, 2026\n"
        f"To: {STAFF}\nSubject: {fwd.subject}\n\n{fwd.text}\n"
    )
    return f"""From: {enc("Іван Майстренко")} <{STAFF}>
To: {fwd.msg["Reply-To"]}
Subject: {enc("RE: " + fwd.subject)}
Thread-Index: AQHbSFq0Yx2mW4kLRkKq3vR1sT0u7A==
Date: Mon, 7 Dec 2026 12:15:{10 + n:02d} +0000
Message-ID: <AM9PR07MB7{n:03d}logs@AM9PR07MB7123.eurprd07.prod.outlook.com>
References: {fwd.msg["Message-ID"]}
In-Reply-To: {fwd.msg["Message-ID"]}
Content-Language: uk-UA
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(plain.encode())}
"""


def citizen_thanks(answer: Letter) -> str:
    return f"""From: {enc("Богдан Остапчук")} <bohdan.ostapchuk@ukr.net>
To: {answer.msg["Reply-To"]}
Subject: {enc("Re: " + answer.subject)}
In-Reply-To: {answer.msg["Message-ID"]}
Message-ID: <thanks-logs-05@ukr.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

Дякую за допомогу!
"""


ANONYMOUS = """From: anon.lutsk@i.ua
To: zhkg@council.example
Subject: =?UTF-8?B?0KHQvNGW0YLRgtGP?=
Message-ID: <anon-logs-06@i.ua>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

Біля смітника на вулиці вже тиждень не вивозять сміття, Бережна просила передати.
"""

HOSTILE = """From: =?utf-8?q?=D0=AF=D1=80=D0=BE=D1=81=D0=BB=D0=B0=D0=B2=D0=B0=0D=0ABcc:_x@evil.example?= <yaroslava.kravchuk@gmail.com>
To: zhkg@council.example
Subject: =?utf-8?q?=D0=94=D0=B5=D1=80=D0=B5=D0=B2=D0=BE=0D=0ABcc:_y@evil.example?=
Message-ID: <hostile-logs-07@gmail.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

Ще раз про повалене дерево біля будинку на вул. Кривий Вал, 34: його досі не прибрали.

Ярослава Кравчук
"""


@pytest.fixture(scope="module")
def signed_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, bytes]]:
    tmp = Path(tmp_path_factory.mktemp("gwlogs"))
    key_file, record = dkim_key(tmp)
    relay = CaptureRelay("127.0.0.1", free_port())
    controller = Controller(relay, hostname=relay.host, port=relay.port)
    controller.start()
    gw = Gateway(
        tmp,
        relay,
        outbound={
            "dkim": {"selector": SELECTOR, "domain": "council.example", "key_file": str(key_file)}
        },
        logging={"level": "DEBUG"},
    ).start()
    try:
        yield gw, record
    finally:
        gw.stop()
        controller.stop()


def letter_to(gw: Gateway, rcpt: str, pred: object = None, count: int = 1) -> list[Letter]:
    def found() -> list[Letter]:
        got = [lt for lt in gw.letters() if lt.rcpt == rcpt and (pred is None or pred(lt))]  # type: ignore[operator]
        return got if len(got) >= count else []

    return wait_for(found, timeout=40)  # type: ignore[no-any-return]


def cli_with_stderr(gw: Gateway, *args: str) -> tuple[str, str]:
    env = {"APPEALS_TOKEN_KEY": "e2e-key", "PYTHONPATH": str(REPO), "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "--settings", str(gw.settings), *args],
        capture_output=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, out + err
    return out, err


def test_t21_a_days_mail_leaves_no_personal_data_in_the_logs(
    signed_gateway: tuple[Gateway, bytes],
) -> None:
    gw, record = signed_gateway
    gw.send(gmail_with_photo(), "yaroslava.kravchuk@gmail.com", ["zhkg@council.example"])
    gw.send(thunderbird_cp1251_with_pdf(), "bohdan.ostapchuk@ukr.net", ["zhkg@council.example"])
    ack_y = letter_to(gw, "yaroslava.kravchuk@gmail.com")[0]
    fwd_b = letter_to(gw, STAFF, lambda lt: "akt_Ostapchuk.pdf" in lt.attachments)[0]
    gw.send(iphone_followup(ack_y), "yaroslava.kravchuk@gmail.com", [str(ack_y.msg["Reply-To"])])
    letter_to(gw, STAFF, lambda lt: "IMG_0412.jpeg" in lt.attachments)
    gw.send(
        outlook_staff(fwd_b, "#extend 15 потрібне обстеження квартири", 1),
        STAFF,
        [str(fwd_b.msg["Reply-To"])],
    )
    letter_to(gw, "bohdan.ostapchuk@ukr.net", count=2)  # the acknowledgement and the new term
    gw.send(
        outlook_staff(fwd_b, "Власника квартири 92 попереджено, ремонт зроблено.", 2),
        STAFF,
        [str(fwd_b.msg["Reply-To"])],
    )
    answer = letter_to(gw, "bohdan.ostapchuk@ukr.net", lambda lt: "Власника квартири" in lt.text)[0]
    gw.send(citizen_thanks(answer), "bohdan.ostapchuk@ukr.net", [str(answer.msg["Reply-To"])])
    gw.send(ANONYMOUS, "anon.lutsk@i.ua", ["zhkg@council.example"])
    letter_to(gw, "anon.lutsk@i.ua")
    gw.send(HOSTILE, "yaroslava.kravchuk@gmail.com", ["zhkg@council.example"])
    letter_to(gw, "yaroslava.kravchuk@gmail.com", count=2)
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:  # a relay attempt, refused
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail(
                "bohdan.ostapchuk@ukr.net", ["x@evil.example"], b"Subject: x\r\n\r\nx\r\n"
            )
    time.sleep(2)  # the thanks and the last letters are processed and logged

    out, err = cli_with_stderr(gw, "erase", "--citizen", "bohdan.ostapchuk@ukr.net")
    assert "erased: 1 appeal(s)" in out
    _, err_purge = cli_with_stderr(gw, "purge")
    _, err_status = cli_with_stderr(gw, "status")
    gw.stop()  # everything flushed

    logs = gw.log.read_text(encoding="utf-8", errors="replace")
    for extra in sorted(gw.tmp.rglob("*.log")):
        if extra != gw.log:
            logs += extra.read_text(encoding="utf-8", errors="replace")
    logs += err + err_purge + err_status
    assert "SMTP listening" in logs and len(logs.splitlines()) > 10  # the log was captured
    found = [t for t in TRACES if t.lower() in logs.lower()]
    assert found == [], "\n".join(
        line for line in logs.splitlines() if any(t.lower() in line.lower() for t in found)
    )
    # Nothing went to the addresses the hostile letter injected.
    assert not [lt.rcpt for lt in gw.letters() if "evil.example" in lt.rcpt]
    # Every letter sent is DKIM-signed for council.example and verifies.
    sent = gw.relay.snapshot()
    assert len(sent) >= 10

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.council.example.".encode() else None

    for m in sent:
        assert re.match(
            rb"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=council.example;", m.data
        )
        assert dkim.verify(m.data, dnsfunc=dns)
