"""Nothing silent, through the running gateway: a staff answer from a personal address in
the council's domain is held and its writer told why; an outside forger gets nothing; a
letter that crashes the worker is held with its whole traceback in the log and no
personal data; and the admin's digest, sent by the scheduler tick through the outbox,
names each held letter's sender, subject, reason and the command to act on it.

The gateway of this module has a site template override with a mistake in it (the
public-information acknowledgement names a value that does not exist), which is how a
real crash happens: every request then fails while rendering its acknowledgement. Its
ticker runs once at start; the test ticks with `appeals tick`, as cron would."""

from __future__ import annotations

import base64
import json
import quopri
import textwrap
import time
from collections.abc import Iterator
from email.header import Header
from pathlib import Path

import pytest
from gwtest import wait_for
from harness import Gateway, Letter, by_rcpt, running_gateway

STAFF = "zhkg-staff@council.example"
CITIZEN = "taras.boichuk@outlook.com"
PERSONAL = "i.petrenko@council.example"  # a council address, not one the department answers from
FORGER = "zhkg.lutsk.rada@gmail.com"
REQUESTER = "nadiia.lysenko@meta.ua"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = Path(tmp_path_factory.mktemp("alerts"))
    site = tmp / "site-templates" / "uk" / "citizen"
    site.mkdir(parents=True)
    (site / "info_ack.txt.j2").write_text(
        "Ваш запит № {{ appeal.reg_no }} зареєстровано {{ appeal.registered_by }}.\n",
        encoding="utf-8",
    )
    with running_gateway(
        tmp,
        paths={"template_overrides": str(tmp / "site-templates")},
        reminders={"tick_seconds": 3600},
    ) as gw:
        yield gw


def b64(data: bytes) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))


def enc(value: str, charset: str = "utf-8") -> str:
    return value if value.isascii() else Header(value, charset).encode()


def qp(text: str, charset: str = "utf-8") -> str:
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def held(gateway: Gateway) -> list[dict]:
    return json.loads(gateway.cli("holding-pen", "list", "--json"))


PROBLEMS = {
    1: "У під'їзді будинку на вул. Винниченка, 12 другий місяць не працює освітлення, "
    "мешканці ходять з ліхтариками.",
    2: "Біля будинку на вул. Винниченка, 12 з осені відкритий каналізаційний люк, "
    "туди вже падала дитина.",
}


def outlook_desktop_appeal(gateway: Gateway, n: int) -> tuple[Letter, Letter]:
    """Outlook 2016 on Windows: multipart/alternative, the plain part quoted-printable, the
    HTML part Word's (MsoNormal paragraphs, the o:p namespace)."""
    text = (
        f"Доброго дня!\r\n\r\n{PROBLEMS[n]}\r\n\r\nЗ повагою,\r\n"
        "Тарас Бойчук\r\nм. Луцьк, вул. Винниченка, 12, кв. 44\r\n"
    )
    html = (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:'
        'office:office" xmlns:w="urn:schemas-microsoft-com:office:word"><head>'
        '<meta http-equiv=Content-Type content="text/html; charset=utf-8">'
        '<meta name=Generator content="Microsoft Word 15 (filtered medium)">'
        '<style><!--p.MsoNormal{margin:0cm;font-size:11.0pt;font-family:"Calibri",'
        'sans-serif;}--></style></head><body lang=UK link="#0563C1"><div class=WordSection1>'
        "<p class=MsoNormal>Доброго дня!<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p>"
        f"</p><p class=MsoNormal>{PROBLEMS[n]}<o:p></o:p></p>"
        "<p class=MsoNormal>З повагою,<br>Тарас Бойчук<br>м. Луцьк, вул. Винниченка, 12, "
        "кв. 44<o:p></o:p></p></div></body></html>"
    )
    boundary = "----=_NextPart_000_0011_01DB4A1C.6B1E9E70"
    raw = f"""From: {enc("Тарас Бойчук")} <{CITIZEN}>
To: <zhkg@council.example>
Subject: {enc("Немає світла в під'їзді")}
Date: Thu, 3 Dec 2026 11:02:17 +0200
Message-ID: <00{n}101db4a0b$a6c3d470$f44b7d50$@outlook.com>
MIME-Version: 1.0
Content-Type: multipart/alternative;
\tboundary="{boundary}"
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AdtKC6Zw8x1bT7n0QkK3m0u5Yd2Ihw==
Content-Language: uk

This is a multipart message in MIME format.

--{boundary}
Content-Type: text/plain;
\tcharset="utf-8"
Content-Transfer-Encoding: quoted-printable

{qp(text)}
--{boundary}
Content-Type: text/html;
\tcharset="utf-8"
Content-Transfer-Encoding: quoted-printable

{qp(html)}
--{boundary}--
"""
    gateway.send(raw, CITIZEN, ["zhkg@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    return out[CITIZEN], out[STAFF]


def owa_answer(fwd: Letter, sender: str, name: str, answer: str) -> str:
    """Outlook on the web (Exchange Online): HTML only in a multipart/alternative with a
    plain part, the quoted forward under `divRplyFwdMsg`, X-MS-Exchange headers."""
    plain = (
        f"{answer}\r\n\r\n{name}\r\n\r\n________________________________\r\n"
        "Від: Звернення громадян <appeals@council.example>\r\n"
        "Надіслано: 3 грудня 2026 р. 11:05\r\n"
        f"Тема: {fwd.subject}\r\n\r\n{fwd.text}"
    )
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} '
        '</style></head><body dir="ltr"><div class="elementToProof" style="font-family: '
        f'Aptos, sans-serif; font-size: 12pt;">{answer}</div><div class="elementToProof">'
        f'{name}</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%"'
        ' tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" '
        'style="font-size:11pt"><b>Від:</b> Звернення громадян &lt;appeals@council.example'
        f"&gt;</font></div><div>{fwd.text}</div></body></html>"
    )
    boundary = "_000_DB9PR03MB7324A1B2C3D4E5F6A7B8C9D0E1F2A3B4DB9PR03MB7324eurp_"
    return f"""From: {enc(name)} <{sender}>
To: "{fwd.msg["Reply-To"]}" <{fwd.msg["Reply-To"]}>
Subject: {enc("RE: " + fwd.subject)}
Thread-Topic: {enc(fwd.subject)}
Thread-Index: AQHbRa1Yk0v3m2ZQ8kK9c1Lr0mE7Aw==
Date: Thu, 3 Dec 2026 09:31:02 +0000
Message-ID: <DB9PR03MB7324B8F0D1E2A3C4B5D6E7F8A9B0C1D2@DB9PR03MB7324.eurprd03.prod.outlook.com>
References: {fwd.msg["Message-ID"]}
In-Reply-To: {fwd.msg["Message-ID"]}
Accept-Language: uk-UA, en-US
Content-Language: uk-UA
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
msip_labels:
x-ms-exchange-messagesentrepresentingtype: 1
x-ms-publictraffictype: Email
x-ms-traffictypediagnostic: DB9PR03MB7324:EE_|AS8PR03MB6838:EE_
x-originating-ip: [193.93.216.40]
Content-Type: multipart/alternative;
\tboundary="{boundary}"
MIME-Version: 1.0

--{boundary}
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(plain.encode())}

--{boundary}
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(html.encode())}

--{boundary}--
"""


def test_a_held_staff_answer_is_explained_to_its_council_writer(gateway: Gateway) -> None:
    ack, fwd = outlook_desktop_appeal(gateway, 1)
    assert "освітлення" in fwd.text
    gateway.send(
        owa_answer(fwd, PERSONAL, "Іван Петренко", "Електрика замінить лампи до п'ятниці."),
        PERSONAL,
        [str(fwd.msg["Reply-To"])],
    )
    (told,) = gateway.wait_letters(1)
    assert told.rcpt == PERSONAL and told.kind == "department/answer_held"
    assert ack.reg_no in told.subject and "не передано" in told.subject
    assert STAFF in told.text and "staff_addresses" in told.text
    assert "Тарас Бойчук" not in told.text and CITIZEN not in told.text
    assert any(h["reason"] == "unknown-sender" for h in held(gateway))
    # Nothing went to the citizen: the answer waits for a person.
    assert [lt.kind for lt in gateway.letters() if lt.rcpt == CITIZEN] == ["citizen/ack"]


def gmail_android_forgery(fwd: Letter) -> str:
    """Gmail for Android: multipart/alternative, `<div dir="auto">`, the forward quoted."""
    text = "Питання вирішено, звернення закрите.\r\n"
    html = f'<div dir="auto">{text.strip()}</div><br><div class="gmail_quote"></div>'
    boundary = "000000000000b7c1e50628a4d3f1"
    return f"""MIME-Version: 1.0
From: {enc("ЖКГ Луцьк")} <{FORGER}>
Date: Thu, 3 Dec 2026 11:40:12 +0200
Message-ID: <CAH7kQz0aJm2X1r9Lw8Tn5bP4cV6dF3sG7hK2jN8mQ1pR5tU9vW@mail.gmail.com>
Subject: {enc("Re: " + fwd.subject)}
To: {fwd.msg["Reply-To"]}
In-Reply-To: {fwd.msg["Message-ID"]}
References: {fwd.msg["Message-ID"]}
Content-Type: multipart/alternative; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(text.encode())}

--{boundary}
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(html.encode())}

--{boundary}--
"""


def meta_ua_request() -> bytes:
    """meta.ua webmail: a single text/plain part in windows-1251, 8bit, its own X-Mailer."""
    body = (
        "Прошу надати копію договору на вивезення побутових відходів, укладеного міською "
        "радою у 2026 році, відповідно до Закону України «Про доступ до публічної "
        "інформації».\r\n\r\nНадія Лисенко\r\nм. Луцьк, вул. Рівненська, 5, кв. 8\r\n"
    )
    return (
        f"From: {enc('Надія Лисенко', 'windows-1251')} <{REQUESTER}>\r\n"
        "To: info-request@council.example\r\n"
        f"Subject: {enc('Запит на інформацію: договір на вивезення відходів', 'windows-1251')}\r\n"
        "Date: Thu, 3 Dec 2026 12:01:33 +0200\r\n"
        "Message-ID: <1733220093.918273@webmail.meta.ua>\r\n"
        "X-Mailer: META.ua WebMail\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=windows-1251\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + body.encode("cp1251")


def thunderbird_reply_to_the_citizens_address(ack: Letter) -> str:
    """Thunderbird: format=flowed plain text, the attribution line, "> " quotes."""
    quoted = "\n".join(("> " + ln).rstrip() for ln in ack.text.splitlines())
    return f"""Message-ID: <5c2e1a47-91b3-4c0e-8f6d-2a7b9e3d1f40@council.example>
Date: Thu, 3 Dec 2026 12:20:41 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: {enc("Re: " + ack.subject)}
To: {ack.msg["Reply-To"]}
References: {ack.msg["Message-ID"]}
In-Reply-To: {ack.msg["Message-ID"]}
Content-Language: uk
From: {enc("Департамент ЖКГ")} <{STAFF}>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Лампи замінено.

03.12.2026 11:02, Звернення громадян пише:
{quoted}
"""


def test_the_forger_gets_nothing_the_crash_is_logged_whole_and_the_admin_gets_a_digest(
    gateway: Gateway,
) -> None:
    ack, fwd = outlook_desktop_appeal(gateway, 2)
    sent_before = len(gateway.letters())
    # 1. An outsider answering as the department: held, and no letter back to them.
    gateway.send(gmail_android_forgery(fwd), FORGER, [str(fwd.msg["Reply-To"])])
    # 2. A request that crashes every attempt (the broken site template): held as crash.
    gateway.send(meta_ua_request(), REQUESTER, ["info-request@council.example"])
    # 3. The department answering the citizen's address instead of the forward: held, and
    # the department is told to answer the forward.
    gateway.send(thunderbird_reply_to_the_citizens_address(ack), STAFF, [str(ack.msg["Reply-To"])])
    (told,) = gateway.wait_letters(1)
    assert (told.rcpt, told.kind) == (STAFF, "department/answer_held")
    assert "адресу з листа заявника" in told.text

    def all_held() -> list[dict] | None:
        rows = held(gateway)
        return rows if len(rows) >= 4 and "crash" in {h["reason"] for h in rows} else None

    rows = wait_for(all_held, 60)
    by_reason = {h["reason"]: h for h in rows}  # the latest of each reason
    assert {"unknown-sender", "crash", "department-via-citizen-token"} <= set(by_reason)
    crash = by_reason["crash"]

    # The crash log: every frame, no message text, no names, no addresses.
    log = gateway.log.read_text(errors="replace")
    failure = log[log.index(f"inbound {crash['id']} failed") :]
    failure = failure[: failure.index("\n20")]  # up to the next log record
    assert failure.count('  File "') >= 5, failure
    assert "routing/registration.py" in failure and "jinja2" in failure
    assert "UndefinedError" in failure
    assert "has no attribute" not in failure  # the exception's message is left out
    for personal in ("Лисенко", "Надія", "nadiia", "договору", "відходів"):
        assert personal not in failure
    assert "Лисенко" not in log and "Бойчук" not in log and "boichuk" not in log

    # The digest, by the scheduler tick (`appeals tick`, as cron runs it), to the admin.
    gateway.cli("tick")
    digest = gateway.wait_digest(f"№ {crash['id']}", 30)
    assert digest.rcpt == "admin@council.example"
    body = digest.text
    forged = by_reason["unknown-sender"]
    # Sender, subject, reason and the exact command for each held letter.
    assert f"ЖКГ Луцьк <{FORGER}>" in body
    assert f"Re: {fwd.subject}" in body
    assert f"appeals holding-pen assign {forged['id']} {ack.reg_no}" in body
    assert f"Надія Лисенко <{REQUESTER}>" in body
    assert "Запит на інформацію: договір на вивезення відходів" in body
    assert f"appeals requeue {crash['id']}" in body and "UndefinedError" in body
    via_citizen = by_reason["department-via-citizen-token"]
    assert f"appeals holding-pen assign {via_citizen['id']} {ack.reg_no}" in body
    assert "department-via-citizen-token" in body
    # The forger got nothing: only the department's "answer held" letter went out.
    after = gateway.letters()[sent_before:]
    assert FORGER not in {lt.rcpt for lt in after}
    assert {lt.rcpt for lt in after} <= {STAFF, "admin@council.example"}
    # Ticking again at once sends nothing more: at most one digest per hour.
    count = len(gateway.digests())
    gateway.cli("tick")
    time.sleep(2)
    assert len(gateway.digests()) == count
