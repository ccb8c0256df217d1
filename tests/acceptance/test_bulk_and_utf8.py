"""List and bulk mail, UTF-7 with broken surrogates, and a Cyrillic mailbox, through the
running gateway (`appeals run`) and a relay that offers SMTPUTF8:

- a petition site's letters from six signers (Precedence: bulk, List-Unsubscribe) are
  registered as one mass appeal, and no signer gets an automatic letter;
- a resident's letter relayed by a Google Groups list is registered for its author and
  not acknowledged; the department is told why;
- a UTF-7 letter whose text decodes to a lone surrogate is registered and acknowledged,
  and `appeals check-message` reads it;
- a citizen writing from `оксана@пошта.укр` gets the acknowledgement over SMTPUTF8.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import CaptureRelay
from gwtest import free_port
from harness import Gateway, Letter, by_rcpt

from gateway.intake.parsing import parse


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    # This module's relay offers SMTPUTF8, as Postfix with smtputf8_enable = yes does.
    relay = CaptureRelay("127.0.0.1", free_port())
    controller = Controller(relay, hostname=relay.host, port=relay.port, enable_SMTPUTF8=True)
    controller.start()
    gw = Gateway(Path(tmp_path_factory.mktemp("gw")), relay).start()
    try:
        yield gw
    finally:
        gw.stop()
        controller.stop()


def settled(gateway: Gateway, timeout: float = 60.0) -> None:
    """Wait until every received message is handled and the outbox is empty."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queue = json.loads(gateway.cli("status", "--json"))["queue"]
        if queue["unprocessed"] == 0 and queue["outbox_pending"] == 0:
            return
        time.sleep(0.3)
    raise AssertionError("the gateway did not settle")


def appeal(gateway: Gateway, reg_no: str) -> dict:  # type: ignore[type-arg]
    return json.loads(gateway.cli("appeal", "show", reg_no))  # type: ignore[no-any-return]


def seq(reg_no: str) -> int:
    return int(reg_no.rsplit("-", 1)[1])


SIGNERS = [
    ("Оксана Гнатюк", "oksana.hn@ukr.net", "вул. Лесі Українки, 12, кв. 4"),
    ("Ігор Мельник", "igor.melnyk@gmail.com", "вул. Лесі Українки, 20, кв. 31"),
    ("Марія Савчук", "m.savchuk@i.ua", "вул. Винниченка, 3, кв. 7"),
    ("Петро Іваненко", "petro.iv@meta.ua", "вул. Кафедральна, 5, кв. 2"),
    ("Олена Коваль", "olena.koval@ukr.net", "вул. Лесі Українки, 41, кв. 18"),
    ("Андрій Бойко", "boiko.andrii@gmail.com", "просп. Волі, 8, кв. 60"),
]
PETITION = (
    "Шановні депутати Луцької міської ради!\n\n"
    "Прошу не допустити вирубки дерев у сквері на вулиці Лесі Українки під час "
    "реконструкції. Сквер є єдиним місцем відпочинку мешканців мікрорайону, липи в ньому "
    "висаджено понад сорок років тому. Прошу оприлюднити проєкт реконструкції та провести "
    "громадські слухання до початку робіт.\n"
)


def campaign_letter(n: int, name: str, email: str, address: str) -> str:
    # A petition platform's mailer: its own From (DMARC forbids sending as the signer),
    # the signer in Reply-To, one Message-ID and VERP bounce address per signer, bulk and
    # one-click unsubscribe headers (RFC 2369, RFC 8058), plain + HTML.
    text = f"{PETITION}\nЗ повагою,\n{name}\nм. Луцьк, {address}\n"
    html = "<p>" + PETITION.replace("\n\n", "</p><p>").replace("\n", "") + "</p>"
    html += f"<p>З повагою,<br>{name}<br>м. Луцьк, {address}</p>"
    b = f"==petition_{n:04d}_7f3a=="
    enc_name = base64.b64encode(f"{name} через «Зелений Луцьк»".encode()).decode()
    return f"""Return-Path: <bounce+sig{n}.7f3a@mail.zeleny-lutsk.example>
From: =?UTF-8?B?{enc_name}?= <noreply@mail.zeleny-lutsk.example>
Reply-To: =?UTF-8?B?{base64.b64encode(name.encode()).decode()}?= <{email}>
To: appeals@council.example
Subject: =?UTF-8?B?{base64.b64encode("Збережіть сквер на Лесі Українки".encode()).decode()}?=
Date: Thu, 3 Dec 2026 10:{n:02d}:00 +0000
Message-ID: <petition.7f3a.sig{n}@mail.zeleny-lutsk.example>
Precedence: bulk
List-Unsubscribe: <https://zeleny-lutsk.example/u/7f3a/{n}>, <mailto:unsubscribe+{n}@mail.zeleny-lutsk.example>
List-Unsubscribe-Post: List-Unsubscribe=One-Click
Feedback-ID: 7f3a:petition:zeleny-lutsk
X-Mailer: Campaign mailer 4.2
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="{b}"

--{b}
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

{base64.encodebytes(text.encode()).decode()}
--{b}
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

{base64.encodebytes(html.encode()).decode()}
--{b}--
"""


def test_campaign_letters_from_six_signers_are_one_mass_appeal_never_acknowledged(
    gateway: Gateway,
) -> None:
    for n, (name, email, address) in enumerate(SIGNERS, start=1):
        gateway.send(
            campaign_letter(n, name, email, address),
            f"bounce+sig{n}.7f3a@mail.zeleny-lutsk.example",
            ["appeals@council.example"],
        )
    # The department gets the first four letters; from the fifth signer on they are one
    # mass appeal (settings: screening.mass_threshold = 5) and go to the group's leader.
    forwards = gateway.wait_letters(4, timeout=60)
    settled(gateway)
    signers = {email for _, email, _ in SIGNERS}
    assert not [lt for lt in gateway.letters() if lt.rcpt in signers]
    for fwd in forwards:
        assert "вирубки дерев" in fwd.text
        assert "автоматичне підтвердження заявнику не надсилалося" in fwd.text
    numbers = sorted(fwd.reg_no for fwd in forwards)
    first = appeal(gateway, numbers[0])
    assert first["flags"]["bulk_mail"] == "precedence:bulk+list-unsubscribe"
    assert [
        e["data"]["letter"] for e in first["events"] if e["type"] == "citizen-letter-withheld"
    ] == ["citizen/ack"]
    prefix = numbers[0].rsplit("-", 1)[0]
    fifth, sixth = (appeal(gateway, f"{prefix}-{seq(numbers[-1]) + i:06d}") for i in (1, 2))
    assert fifth["repeat_status"] == sixth["repeat_status"] == "mass"
    # The group takes in the earlier letters too: one answer reaches every signer.
    assert first["mass_group"] and fifth["mass_group"] == sixth["mass_group"] == first["mass_group"]


def google_groups_letter() -> str:
    # Google Groups relaying a member's letter; the author's domain has a strict DMARC
    # policy, so the group rewrote From to itself and kept the author in X-Original-From.
    # The council's intake address is a member of the group.
    body = (
        "Добрий день!\n\nНа перехресті вулиць Конякіна і Соборності вже місяць глибока яма "
        "на проїжджій частині, вчора там пошкодив колесо тролейбус. Прошу відремонтувати "
        "покриття до морозів.\n\nОксана Гнатюк\nм. Луцьк, вул. Конякіна, 7, кв. 12\n\n"
        "-- \nВи отримали це повідомлення, тому що підписані на групу «Громада Луцька» "
        "в Google Groups.\nЩоб відписатися, надішліть лист на "
        "hromada-lutsk+unsubscribe@googlegroups.com.\n"
    )
    return f"""X-Original-To: appeals@council.example
From: "'=?UTF-8?B?{base64.b64encode("Оксана Гнатюк".encode()).decode()}?=' via =?UTF-8?B?{base64.b64encode("Громада Луцька".encode()).decode()}?=" <hromada-lutsk@googlegroups.com>
To: hromada-lutsk@googlegroups.com
Subject: =?UTF-8?B?{base64.b64encode("Яма на перехресті Конякіна і Соборності".encode()).decode()}?=
Date: Thu, 3 Dec 2026 11:20:41 +0200
Message-ID: <CAHk4Rt7_q0Zx-3mVbJpYwE1@mail.example.org>
Reply-To: hromada-lutsk@googlegroups.com
X-Original-Sender: oksana.hnatiuk@example.org
X-Original-From: =?UTF-8?B?{base64.b64encode("Оксана Гнатюк".encode()).decode()}?= <oksana.hnatiuk@example.org>
X-Original-Authentication-Results: gmr-mx.google.com; dmarc=pass (p=REJECT) header.from=example.org
Precedence: list
Mailing-list: list hromada-lutsk@googlegroups.com; contact hromada-lutsk+owners@googlegroups.com
List-ID: <hromada-lutsk.googlegroups.com>
X-Google-Group-Id: 845126300417
List-Post: <https://groups.google.com/group/hromada-lutsk/post>, <mailto:hromada-lutsk@googlegroups.com>
List-Help: <https://support.google.com/a/users/answer/9308781>, <mailto:hromada-lutsk+help@googlegroups.com>
List-Archive: <https://groups.google.com/group/hromada-lutsk/>
List-Unsubscribe: <mailto:googlegroups-manage+845126300417+unsubscribe@googlegroups.com>,
 <https://groups.google.com/group/hromada-lutsk/subscribe>
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{base64.encodebytes(body.encode()).decode()}"""


def test_letter_relayed_by_a_list_is_registered_for_its_author_not_acknowledged(
    gateway: Gateway,
) -> None:
    gateway.send(
        google_groups_letter(),
        "hromada-lutsk+bncBDx7ZGV3QIGBB4XK2@googlegroups.com",
        ["appeals@council.example"],
    )
    (fwd,) = gateway.wait_letters(1)
    settled(gateway)
    assert "глибока яма" in fwd.text
    assert "oksana.hnatiuk@example.org" in fwd.text
    assert "список розсилки" in fwd.text
    sent_to = {lt.rcpt for lt in gateway.letters()}
    assert "hromada-lutsk@googlegroups.com" not in sent_to
    assert "oksana.hnatiuk@example.org" not in sent_to
    shown = appeal(gateway, fwd.reg_no)
    assert shown["state"] == "routed"
    assert shown["flags"]["bulk_mail"].startswith("precedence:list+list-id")


def utf7(text: str) -> str:
    return text.encode("utf-7").decode("ascii")


# Outlook Express with "Encoding: Unicode (UTF-7)" chosen; the text was pasted from a
# phone note whose emoji lost its low half: "+2D0-" is a lone high surrogate.
UTF7_LETTER = f"""From: =?utf-7?B?{base64.b64encode(utf7("Василь Коваль").encode()).decode()}?= <vasyl.koval@ukr.net>
To: <appeals@council.example>
Subject: =?utf-7?Q?{utf7("Не горять ліхтарі").replace(" ", "_")}+2D0-?=
Date: Thu, 3 Dec 2026 12:01:09 +0200
Message-ID: <001101db4571$7c2e1a30$0201a8c0@vasyl>
MIME-Version: 1.0
Content-Type: text/plain;
\tcharset="utf-7"
Content-Transfer-Encoding: 7bit
X-Mailer: Microsoft Outlook Express 6.00.2900.5931

{utf7("Добрий вечір! На вулиці Ковельській від будинку 40 до зупинки не горять ліхтарі вже два тижні, ходити темно")} +2D0-
{utf7("Прошу відновити вуличне освітлення.")}

{utf7("Василь Коваль")}
{utf7("м. Луцьк, вул. Ковельська, 44, кв. 9")}
"""


def test_utf7_letter_with_a_lone_surrogate_is_registered_and_checkable(
    gateway: Gateway,
) -> None:
    gateway.send(UTF7_LETTER, "vasyl.koval@ukr.net", ["appeals@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    ack = out.pop("vasyl.koval@ukr.net")
    ((_, fwd),) = out.items()
    assert ack.reg_no == fwd.reg_no
    assert "не горять ліхтарі вже два тижні, ходити темно \ufffd" in fwd.text
    assert "Не горять ліхтарі\ufffd" in fwd.subject
    eml = gateway.tmp / "utf7.eml"
    eml.write_bytes(UTF7_LETTER.replace("\n", "\r\n").encode())
    (report,) = (
        json.loads(x) for x in gateway.cli("check-message", str(eml), "--json").splitlines()
    )
    assert report["parse"]["subject"] == "Не горять ліхтарі\ufffd"
    assert report["screening"]["action"] == "accept"


THUNDERBIRD_UTF8_MAILBOX = """From: =?UTF-8?B?0J7QutGB0LDQvdCwINCT0L3QsNGC0Y7Qug==?= <оксана@пошта.укр>
To: zhkg@council.example
Subject: =?UTF-8?B?0J3QtSDQv9GA0LDRhtGO0ZQg0LvRltGE0YI=?=
Message-ID: <3b1f0c2e-8d7a-4c55-9f0e-1a2b3c4d5e6f@пошта.укр>
Date: Thu, 3 Dec 2026 12:30:00 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: uk
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Доброго дня!

У будинку на вул. Карпенка-Карого, 2 другий тиждень не працює ліфт, а на
дев'ятому поверсі живуть літні люди. Прошу відремонтувати.

Оксана Гнатюк
м. Луцьк, вул. Карпенка-Карого, 2, кв. 57
"""


def test_cyrillic_mailbox_gets_its_acknowledgement_over_smtputf8(gateway: Gateway) -> None:
    gateway.send(
        THUNDERBIRD_UTF8_MAILBOX, "оксана@пошта.укр", ["zhkg@council.example"], smtputf8=True
    )
    out = by_rcpt(gateway.wait_letters(2))
    assert "оксана@xn--80a1acn3a.xn--j1amh" in out, list(out)
    ack: Letter = out.pop("оксана@xn--80a1acn3a.xn--j1amh")
    ((_, fwd),) = out.items()
    assert ack.reg_no == fwd.reg_no
    assert "Реєстраційний номер" in ack.text
    # The header names the mailbox as the citizen wrote it (RFC 6532), sent with SMTPUTF8.
    assert [a.email for a in parse(ack.raw).to] == ["оксана@пошта.укр"]
    (wire,) = [m for m in gateway.relay.snapshot() if m.data == ack.raw]
    assert wire.smtp_utf8
    assert "оксана@пошта.укр" in fwd.text
