"""Attachments of every kind real clients send, through the running gateway: Outlook's
winmail.dat and .msg, Apple Mail's RFC 2231 names, a Gmail phone photo, a scan, archives,
programs, files over the limits and a message forwarded as an attachment. The forward
carries the allowed files byte-identical and lists every file; the citizen is told what
was not accepted and why; nothing crashes.

This module's gateway runs with small limits (200 KB a file, 400 KB a letter, 6 files),
so that "over the limit" needs no megabytes of test data.
"""

from __future__ import annotations

import base64
import email
import io
import quopri
import textwrap
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.header import Header
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from conftest import CaptureRelay
from containers import outlook_msg, tnef
from gwtest import free_port
from harness import Gateway, Letter

CITIZEN_FOOTER = "\n\n{name}\n{address}\n"
PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
SCAN = PDF.replace(b"%%EOF", b"%" + bytes(range(256)) * 40 + b"\n%%EOF")  # a scan: ~10 KB
JPEG = (
    bytes.fromhex("ffd8ffe1001845786966000049492a00080000000000ffdb0043") + bytes(range(256)) * 64
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
LIMITS = {"max_file_bytes": 200_000, "max_total_bytes": 400_000, "max_count": 6}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    relay = CaptureRelay("127.0.0.1", free_port())
    controller = Controller(relay, hostname=relay.host, port=relay.port)
    controller.start()
    gw = Gateway(Path(tmp_path_factory.mktemp("gw")), relay, attachments=LIMITS).start()
    try:
        yield gw
    finally:
        gw.stop()
        controller.stop()


def b64(data: bytes) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))


def word(text: str, charset: str = "utf-8") -> str:
    return Header(text, charset).encode()


def exchange(gateway: Gateway, raw: str, citizen: str, letters: int) -> tuple[list[Letter], Letter]:
    """Send a citizen's letter; (letters to the citizen, the department's forward)."""
    gateway.send(raw, citizen, ["appeals@council.example"])
    out = gateway.wait_letters(letters)
    mine = [lt for lt in out if lt.rcpt == citizen]
    (forward,) = [lt for lt in out if lt.rcpt != citizen]
    return mine, forward


def listing(forward: Letter) -> str:
    return forward.text.split("----- Вкладення", 1)[1]


def line_of(forward: Letter, name: str) -> str:
    """The line of the forward's listing about the file `name`."""
    (line,) = [ln for ln in listing(forward).splitlines() if f". {name}," in ln]
    return line


def test_outlook_desktop_winmail_dat_is_unpacked(gateway: Gateway) -> None:
    # Outlook 2016 on a Ukrainian Windows, rich text to a recipient it thinks is Outlook:
    # the text/plain part in windows-1251, the files inside winmail.dat.
    act, photo = PDF.replace(b"Catalog", b"Catalog/Act"), JPEG[:5000]
    blob = tnef(
        [("Акт обстеження даху.pdf", act), ("фото_під'їзд.jpg", photo)],
        body="Дах протікає над квартирою 12.",
        subject="Протікає дах",
    )
    body = (
        "Доброго дня!\r\n\r\nДах будинку на вул. Ковельській, 8 протікає вже другий тиждень, "
        "вода тече по стінах під'їзду. Акт обстеження та фото додаю.\r\n\r\n"
        "Марія Савчук\r\nвул. Ковельська, 8, кв. 12, м. Луцьк\r\n"
    ).encode("cp1251")
    raw = f"""From: =?windows-1251?B?{base64.b64encode("Марія Савчук".encode("cp1251")).decode()}?= <m.savchuk@ukr.net>
To: <appeals@council.example>
Subject: {word("Протікає дах", "windows-1251")}
Date: Thu, 3 Dec 2026 11:02:17 +0200
Message-ID: <003101db4562$8f6a1b20$ae3e5160$@ukr.net>
MIME-Version: 1.0
Content-Type: multipart/mixed;
\tboundary="----=_NextPart_000_0032_01DB4573.530A0A40"
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AdtFYo0zm2Xq9w1kQ8K0Zf0aJ3sV0w==
Content-Language: uk
X-MS-TNEF-Correlator: 00000000A5C3E1B2F0D34E4A8E3B7C1D2E3F4A5B

This is a multipart message in MIME format.

------=_NextPart_000_0032_01DB4573.530A0A40
Content-Type: text/plain;
\tcharset="windows-1251"
Content-Transfer-Encoding: quoted-printable

{quopri.encodestring(body).decode("ascii")}
------=_NextPart_000_0032_01DB4573.530A0A40
Content-Type: application/ms-tnef;
\tname="winmail.dat"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
\tfilename="winmail.dat"

{b64(blob)}

------=_NextPart_000_0032_01DB4573.530A0A40--
"""
    (ack,), fwd = exchange(gateway, raw, "m.savchuk@ukr.net", 2)
    assert ack.reg_no.startswith("A-")
    assert fwd.attachments == {"Акт обстеження даху.pdf": act, "фото_під'їзд.jpg": photo}
    assert "розпаковано з winmail.dat" in listing(fwd)
    assert "НЕ ПЕРЕДАНО" not in fwd.text


def test_apple_mail_rfc2231_name_and_android_gmail_photo(gateway: Gateway) -> None:
    # Apple Mail: the long Cyrillic name split over RFC 2231 continuations, each
    # percent-encoded UTF-8 (RFC 2231 §3-4), the Content-Type name as an encoded word.
    name = "Заява щодо освітлення вулиці Лесі Українки та фото.pdf"
    enc = quote(name.encode(), safe="")
    cont = "; ".join(
        f"filename*{i}*={'utf-8' + chr(39) * 2 if i == 0 else ''}{enc[j : j + 60]}"
        for i, j in enumerate(range(0, len(enc), 60))
    )
    text = (
        "Добрий вечір!\n\nНа вулиці Лесі Українки від будинку 20 до 34 не світять ліхтарі, "
        "ввечері там дуже темно і небезпечно.\n\nОлег Кравчук\nвул. Лесі Українки, 22, м. Луцьк\n"
    )
    raw = f"""From: =?utf-8?Q?Oleh_Kravchuk?= <oleh.kravchuk@icloud.com>
Content-Type: multipart/mixed;
\tboundary="Apple-Mail=_5E0C1B7A-2D3F-4B8E-9C61-0A7F3E2D1C4B"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
Subject: =?utf-8?B?{base64.b64encode("Освітлення вулиці".encode()).decode()}?=
Date: Thu, 3 Dec 2026 19:44:05 +0200
Message-Id: <8A1F7C2E-5B3D-4E6A-9F0C-1D2E3F4A5B6C@icloud.com>
To: appeals@council.example
X-Mailer: Apple Mail (2.3774.600.62)

--Apple-Mail=_5E0C1B7A-2D3F-4B8E-9C61-0A7F3E2D1C4B
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
\tcharset=utf-8

{quopri.encodestring(text.encode()).decode("ascii")}
--Apple-Mail=_5E0C1B7A-2D3F-4B8E-9C61-0A7F3E2D1C4B
Content-Disposition: attachment;
\t{cont}
Content-Type: application/pdf;
\tx-unix-mode=0644;
\tname="{word(name)}"
Content-Transfer-Encoding: base64

{b64(SCAN)}
--Apple-Mail=_5E0C1B7A-2D3F-4B8E-9C61-0A7F3E2D1C4B--
"""
    _, fwd = exchange(gateway, raw, "oleh.kravchuk@icloud.com", 2)
    assert fwd.attachments == {name: SCAN}
    assert name in listing(fwd)

    # Gmail for Android: a photo straight from the camera, alternative plain/html text.
    photo = "IMG_20261203_101512.jpg"
    text_b64_199 = b64(
        "На перехресті вулиць Шопена та Гордіюк велика яма, вчора там пошкодили колесо.\n\nІрина Ткач\nвул. Шопена, 7, м. Луцьк\n".encode()
    )
    raw = f"""MIME-Version: 1.0
Date: Thu, 3 Dec 2026 10:16:40 +0200
Message-ID: <CAKx7Vb1qZ3m9pRf=2hTnW@mail.gmail.com>
Subject: =?UTF-8?B?{base64.b64encode("Яма на дорозі".encode()).decode()}?=
From: Iryna Tkach <iryna.tkach.lutsk@gmail.com>
To: appeals@council.example
Content-Type: multipart/mixed; boundary="0000000000004f6e2a0628b1c9d3"

--0000000000004f6e2a0628b1c9d3
Content-Type: multipart/alternative; boundary="0000000000004f6e290628b1c9d1"

--0000000000004f6e290628b1c9d1
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{text_b64_199}
--0000000000004f6e290628b1c9d1
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64("<div dir='auto'>На перехресті вулиць Шопена та Гордіюк велика яма, вчора там пошкодили колесо.<br><br>Ірина Ткач<br>вул. Шопена, 7, м. Луцьк</div>".encode())}
--0000000000004f6e290628b1c9d1--
--0000000000004f6e2a0628b1c9d3
Content-Type: image/jpeg; name="{photo}"
Content-Disposition: attachment; filename="{photo}"
Content-Transfer-Encoding: base64
Content-ID: <f_m48x2kq50>
X-Attachment-Id: f_m48x2kq50

{b64(JPEG)}
--0000000000004f6e2a0628b1c9d3--
"""
    _, fwd = exchange(gateway, raw, "iryna.tkach.lutsk@gmail.com", 2)
    assert fwd.attachments == {photo: JPEG}
    assert line_of(fwd, photo).endswith(f"{photo}, 17 КБ — передано")


def test_t18_webmail_zips_and_a_hostile_file_name(gateway: Gateway) -> None:
    # ukr.net webmail: a zip of scans (forwarded), a zip with a program inside (refused),
    # and a scan whose name carries a Windows path and a control character.
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("довідка.pdf", PDF)
        z.writestr("скан_1.jpg", JPEG[:3000])
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("readme.txt", "run me")
        z.writestr("bin/setup.exe", EXE)
    hostile = "C:\\Documents and Settings\\Admin\\..\\Робочий стіл\\скан\x07заяви.pdf"
    text_b64_246 = b64(
        "Прошу переглянути розмір субсидії на оплату житлово-комунальних послуг, документи в архіві.\n\nПетро Мельничук\nвул. Рівненська, 40, кв. 3, м. Луцьк\n".encode()
    )
    raw = f"""From: =?utf-8?B?{base64.b64encode("Петро Мельничук".encode()).decode()}?= <p.melnychuk@ukr.net>
To: appeals@council.example
Subject: =?utf-8?B?{base64.b64encode("Документи до звернення про субсидію".encode()).decode()}?=
Date: Fri, 4 Dec 2026 08:15:00 +0200
Message-Id: <1733292900.118204000.x7kq2n1c@frv55.fwdcdn.com>
X-Mailer: FREE Mail ukr.net
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----0F2E7C91B3D45A8F"

------0F2E7C91B3D45A8F
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{text_b64_246}
------0F2E7C91B3D45A8F
Content-Type: application/zip; name="documents.zip"
Content-Disposition: attachment; filename="documents.zip"
Content-Transfer-Encoding: base64

{b64(good.getvalue())}
------0F2E7C91B3D45A8F
Content-Type: application/zip; name="programa.zip"
Content-Disposition: attachment; filename="programa.zip"
Content-Transfer-Encoding: base64

{b64(bad.getvalue())}
------0F2E7C91B3D45A8F
Content-Type: application/pdf; name="{word(hostile)}"
Content-Disposition: attachment; filename="{word(hostile)}"
Content-Transfer-Encoding: base64

{b64(PDF)}
------0F2E7C91B3D45A8F--
"""
    mine, fwd = exchange(gateway, raw, "p.melnychuk@ukr.net", 3)
    assert fwd.attachments == {"documents.zip": good.getvalue(), "скан заяви.pdf": PDF}
    assert "programa.zip" in listing(fwd) and "архів містить виконувані файли" in listing(fwd)
    ack, refused = sorted(mine, key=lambda lt: "Не всі файли" in lt.subject)
    assert "programa.zip" in ack.text and "programa.zip" in refused.text


def test_programs_are_not_forwarded_and_the_citizen_is_told(gateway: Gateway) -> None:
    # Outlook.com: a real scan, a program, and a program dressed up as a photo.
    text_b64_289 = b64(
        "Маршрутка № 27 вже тиждень не ходить за розкладом після 19:00, люди чекають по годині.\n\nВасиль Гнатюк\nпросп. Волі, 15, кв. 9, м. Луцьк\n".encode()
    )
    raw = f"""From: Vasyl Hnatiuk <vasyl.hnatiuk@outlook.com>
To: "appeals@council.example" <appeals@council.example>
Subject: =?utf-8?B?{base64.b64encode("Скарга на роботу маршрутки 27".encode()).decode()}?=
Date: Fri, 4 Dec 2026 09:30:12 +0000
Message-ID: <AM0PR07MB6305C1D2E3F4A5B6C7D8E9F0A1B2C3@AM0PR07MB6305.eurprd07.prod.outlook.com>
Content-Type: multipart/mixed;
\tboundary="_004_AM0PR07MB6305C1D2E3F4A5B6_"
MIME-Version: 1.0

--_004_AM0PR07MB6305C1D2E3F4A5B6_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{text_b64_289}

--_004_AM0PR07MB6305C1D2E3F4A5B6_
Content-Type: application/pdf; name="rozklad.pdf"
Content-Disposition: attachment; filename="rozklad.pdf"; size={len(SCAN)}
Content-Transfer-Encoding: base64

{b64(SCAN)}

--_004_AM0PR07MB6305C1D2E3F4A5B6_
Content-Type: application/x-msdownload; name="video_player.exe"
Content-Disposition: attachment; filename="video_player.exe"
Content-Transfer-Encoding: base64

{b64(EXE)}

--_004_AM0PR07MB6305C1D2E3F4A5B6_
Content-Type: image/jpeg; name="foto_zupynky.jpg"
Content-Disposition: attachment; filename="foto_zupynky.jpg"
Content-Transfer-Encoding: base64

{b64(EXE + b"more")}

--_004_AM0PR07MB6305C1D2E3F4A5B6_--
"""
    mine, fwd = exchange(gateway, raw, "vasyl.hnatiuk@outlook.com", 3)
    assert fwd.attachments == {"rozklad.pdf": SCAN}
    files = listing(fwd)
    assert "video_player.exe, 68 байт — НЕ ПЕРЕДАНО: виконуваний файл" in files
    assert "foto_zupynky.jpg, 72 байт — НЕ ПЕРЕДАНО: виконуваний файл" in files
    ack, refused = sorted(mine, key=lambda lt: "Не всі файли" in lt.subject)
    assert ack.reg_no in refused.subject
    assert "video_player.exe: виконуваний файл" in ack.text
    assert "video_player.exe (68 байт): виконуваний файл" in refused.text
    assert "foto_zupynky.jpg" in refused.text and "rozklad.pdf" not in refused.text


def test_over_the_limits_the_rest_is_registered(gateway: Gateway) -> None:
    # Thunderbird, seven files: one over 200 KB, then more than 400 KB and more than six
    # files together.
    big = PDF + b"%" + b"x" * 250_000 + b"\n"
    photos = [JPEG + bytes([i]) * 150_000 for i in range(3)]
    small = [JPEG[: 1000 + i] for i in range(5)]
    files = [("plan_kvartyry.pdf", big)]
    files += [(f"foto_{i}.jpg", data) for i, data in enumerate(photos)]
    files += [(f"mini_{i}.jpg", data) for i, data in enumerate(small)]
    parts = "".join(
        f"""--------------0aBcDeFgHiJkLmNoPqRsTuVw
Content-Type: image/jpeg; name="{name}"
Content-Disposition: attachment; filename="{name}"
Content-Transfer-Encoding: base64

{b64(data)}
"""
        for name, data in files
    )
    raw = f"""Message-ID: <7d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6@meta.ua>
Date: Fri, 4 Dec 2026 12:01:44 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: uk
To: appeals@council.example
From: Halyna Bondar <h.bondar@meta.ua>
Subject: =?UTF-8?B?{base64.b64encode("Перепланування квартири".encode()).decode()}?=
Content-Type: multipart/mixed; boundary="------------0aBcDeFgHiJkLmNoPqRsTuVw"

This is a multi-part message in MIME format.
--------------0aBcDeFgHiJkLmNoPqRsTuVw
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Прошу погодити перепланування квартири, план і фото додаю.

Галина Бондар
вул. Винниченка, 12, кв. 40, м. Луцьк

{parts}--------------0aBcDeFgHiJkLmNoPqRsTuVw--
"""
    mine, fwd = exchange(gateway, raw, "h.bondar@meta.ua", 3)
    # The plan is over 200 KB; the third photo would take the letter over 400 KB; after
    # two photos and four small files the fifth small one would be the seventh file.
    sent = {"foto_0.jpg": photos[0], "foto_1.jpg": photos[1]}
    sent |= {f"mini_{i}.jpg": small[i] for i in range(4)}
    assert fwd.attachments == sent
    assert "НЕ ПЕРЕДАНО: файл завеликий (більше 196 КБ)" in line_of(fwd, "plan_kvartyry.pdf")
    assert "разом з попередніми файлами лист завеликий" in line_of(fwd, "foto_2.jpg")
    assert "забагато файлів в одному листі (не більше 6)" in line_of(fwd, "mini_4.jpg")
    assert "— передано" in line_of(fwd, "mini_3.jpg")
    ack, refused = sorted(mine, key=lambda lt: "Не всі файли" in lt.subject)
    assert ack.reg_no.startswith("A-") and ack.reg_no in refused.subject
    assert "plan_kvartyry.pdf (245 КБ): файл завеликий" in refused.text
    assert "foto_2.jpg" in refused.text and "mini_4.jpg" in refused.text
    assert "відповідь на цей лист" in refused.text
    assert "mini_3.jpg" not in refused.text and "foto_0.jpg" not in refused.text


def test_thunderbird_forward_as_attachment(gateway: Gateway) -> None:
    # The citizen forwards the utility's answer "as attachment": the whole message goes
    # to the department as an .eml, and its sender, date, subject and text are in the
    # appeal text.
    inner = (
        "Return-Path: <info@vodokanal.example>\r\n"
        "From: =?UTF-8?B?"
        + base64.b64encode("Луцькводоканал".encode()).decode()
        + "?= <info@vodokanal.example>\r\n"
        "To: r.kovalchuk@i.ua\r\n"
        "Subject: =?UTF-8?B?"
        + base64.b64encode("Відповідь на Вашу заявку № 4417".encode()).decode()
        + "?=\r\n"
        "Date: Mon, 30 Nov 2026 15:20:00 +0200\r\n"
        "Message-ID: <4417.answer@vodokanal.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="inner-b"\r\n\r\n'
        "--inner-b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Заміну лічильника буде виконано протягом 60 робочих днів.\r\n"
        '--inner-b\r\nContent-Type: application/pdf; name="akt.pdf"\r\n'
        'Content-Disposition: attachment; filename="akt.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(PDF).replace("\n", "\r\n")
        + "\r\n--inner-b--\r\n"
    )
    subject = "Відповідь на Вашу заявку № 4417"
    raw = f"""Message-ID: <e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b@i.ua>
Date: Fri, 4 Dec 2026 13:05:10 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
From: Roman Kovalchuk <r.kovalchuk@i.ua>
To: appeals@council.example
Subject: =?UTF-8?B?{base64.b64encode("Fwd: Відповідь водоканалу — прошу втрутитися".encode()).decode()}?=
Content-Type: multipart/mixed; boundary="------------Fw7dAsAtTaChMeNt01"

This is a multi-part message in MIME format.
--------------Fw7dAsAtTaChMeNt01
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Водоканал три місяці не міняє лічильник, їхня відповідь нижче. Прошу втрутитися.

Роман Ковальчук
вул. Шевченка, 3, кв. 5, м. Луцьк

--------------Fw7dAsAtTaChMeNt01
Content-Type: message/rfc822; name="{word(subject + ".eml")}"
Content-Disposition: attachment; filename*=UTF-8''{quote((subject + ".eml").encode(), safe="")}

"""
    data = (
        raw.replace("\n", "\r\n") + inner + "\r\n--------------Fw7dAsAtTaChMeNt01--\r\n"
    ).encode()
    gateway.send(data, "r.kovalchuk@i.ua", ["appeals@council.example"])
    out = gateway.wait_letters(2)
    (fwd,) = [lt for lt in out if lt.rcpt != "r.kovalchuk@i.ua"]
    eml_name = subject + ".eml"
    assert set(fwd.attachments) == {eml_name}
    assert fwd.attachments[eml_name] == inner.encode()
    forwarded = email.message_from_bytes(fwd.attachments[eml_name], policy=policy.default)
    assert forwarded["Message-ID"] == "<4417.answer@vodokanal.example>"
    assert "три місяці не міняє" in fwd.text
    assert "Від: Луцькводоканал <info@vodokanal.example>" in fwd.text
    assert "Дата: Mon, 30 Nov 2026 15:20:00 +0200" in fwd.text
    assert f"Тема: {subject}" in fwd.text
    assert "протягом 60 робочих днів" in fwd.text
    assert line_of(fwd, "akt.pdf").endswith(f"— передано у складі {eml_name}")


def test_outlook_msg_attachment_is_forwarded_and_read(gateway: Gateway) -> None:
    # Outlook desktop: an e-mail dragged from the inbox into a new letter becomes a .msg.
    item = outlook_msg(
        subject="Щодо ремонту ліфта",
        sender_name="ОСББ «Затишок»",
        sender_email="osbb.zatyshok@example.org",
        body="Ремонт ліфта в під'їзді 2 відкладено до отримання коштів з міського бюджету.\r\n",
        sent=datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        files=[("кошторис.pdf", SCAN)],
    )
    name = "Щодо ремонту ліфта.msg"
    text_b64_480 = b64(
        "Ліфт у нашому будинку не працює пів року, відповідь ОСББ у вкладенні.\r\n\r\nНіна Олійник\r\nвул. Кравчука, 11, кв. 77, м. Луцьк\r\n".encode()
    )
    raw = f"""From: =?utf-8?B?{base64.b64encode("Ніна Олійник".encode()).decode()}?= <nina.oliinyk@ukr.net>
To: <appeals@council.example>
Subject: =?utf-8?B?{base64.b64encode("Ліфт не працює пів року".encode()).decode()}?=
Date: Fri, 4 Dec 2026 14:40:00 +0200
Message-ID: <000001db4644$1a2b3c40$4e5f6a70$@ukr.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----=_NextPart_000_0001_01DB4655.1A2B3C40"
X-Mailer: Microsoft Outlook 16.0
Content-Language: uk

This is a multipart message in MIME format.

------=_NextPart_000_0001_01DB4655.1A2B3C40
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{text_b64_480}

------=_NextPart_000_0001_01DB4655.1A2B3C40
Content-Type: application/vnd.ms-outlook; name="{word(name)}"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="{word(name)}"

{b64(item)}

------=_NextPart_000_0001_01DB4655.1A2B3C40--
"""
    _, fwd = exchange(gateway, raw, "nina.oliinyk@ukr.net", 2)
    assert fwd.attachments == {name: item}
    assert "Тема: Щодо ремонту ліфта" in fwd.text
    assert "osbb.zatyshok@example.org" in fwd.text
    assert "відкладено до отримання коштів" in fwd.text
    assert line_of(fwd, "кошторис.pdf").endswith(f"— передано у складі {name}")


def test_broken_winmail_dat_and_msg_are_kept_as_they_are(gateway: Gateway) -> None:
    broken_tnef = tnef([("a.pdf", PDF)])[:40]  # cut off in the middle of an attribute
    broken_msg = bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 600
    raw = f"""From: Taras Lysyi <taras.lysyi@i.ua>
To: appeals@council.example
Subject: =?utf-8?B?{base64.b64encode("Прибирання снігу".encode()).decode()}?=
Date: Fri, 4 Dec 2026 15:00:00 +0200
Message-ID: <broken-containers-1@i.ua>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="xyz"

--xyz
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Двір на вул. Глушець, 30 не прибирають від снігу, мешканці не можуть вийти.

Тарас Лисий
вул. Глушець, 30, кв. 2, м. Луцьк

--xyz
Content-Type: application/ms-tnef; name="winmail.dat"
Content-Disposition: attachment; filename="winmail.dat"
Content-Transfer-Encoding: base64

{b64(broken_tnef)}
--xyz
Content-Type: application/vnd.ms-outlook; name="lyst.msg"
Content-Disposition: attachment; filename="lyst.msg"
Content-Transfer-Encoding: base64

{b64(broken_msg)}
--xyz--
"""
    _, fwd = exchange(gateway, raw, "taras.lysyi@i.ua", 2)
    assert fwd.attachments == {"winmail.dat": broken_tnef, "lyst.msg": broken_msg}


def test_follow_ups_and_staff_answers_follow_the_same_rules(gateway: Gateway) -> None:
    raw = (
        "From: Olena Shevchuk <olena.shevchuk@i.ua>\nTo: appeals@council.example\n"
        "Subject: =?utf-8?B?" + base64.b64encode("Дитячий майданчик".encode()).decode() + "?=\n"
        "Message-ID: <playground-1@i.ua>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "На дитячому майданчику біля будинку на вул. Конякіна, 9 зламані гойдалки.\n\n"
        "Олена Шевчук\nвул. Конякіна, 9, кв. 14, м. Луцьк\n"
    )
    (ack,), fwd = exchange(gateway, raw, "olena.shevchuk@i.ua", 2)

    def with_files(head: str, text: str) -> str:
        return f"""{head}MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fu"

--fu
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{text}
--fu
Content-Type: application/pdf; name="foto.pdf"
Content-Disposition: attachment; filename="foto.pdf"
Content-Transfer-Encoding: base64

{b64(PDF)}
--fu
Content-Type: application/octet-stream; name="gra.scr"
Content-Disposition: attachment; filename="gra.scr"
Content-Transfer-Encoding: base64

{b64(EXE)}
--fu--
"""

    # The citizen adds a photo (and, unknowingly, a screen saver) by replying to the ack.
    citizen_reply = with_files(
        f"From: Olena Shevchuk <olena.shevchuk@i.ua>\nTo: {ack.msg['Reply-To']}\n"
        f"Subject: Re: {ack.subject}\nIn-Reply-To: {ack.msg['Message-ID']}\n"
        "Message-ID: <playground-2@i.ua>\n",
        "Додаю фото зламаних гойдалок.",
    )
    gateway.send(citizen_reply, "olena.shevchuk@i.ua", [str(ack.msg["Reply-To"])])
    out = gateway.wait_letters(2)
    (followup,) = [lt for lt in out if lt.rcpt == fwd.rcpt]
    (told,) = [lt for lt in out if lt.rcpt == "olena.shevchuk@i.ua"]
    assert followup.attachments == {"foto.pdf": PDF}
    assert "gra.scr" in followup.text and "НЕ ПЕРЕДАНО: виконуваний файл" in followup.text
    assert "Ваш лист до звернення" in told.text and "gra.scr" in told.text

    # Staff answer with a signed PDF and the same program: the citizen gets the PDF only,
    # staff are told what did not go.
    staff_reply = with_files(
        f"From: {fwd.rcpt}\nTo: {fwd.msg['Reply-To']}\nSubject: Re: {fwd.subject}\n"
        f"In-Reply-To: {fwd.msg['Message-ID']}\nMessage-ID: <answer-playground@council.example>\n",
        "Гойдалки буде замінено до 20.12.2026.",
    )
    gateway.send(staff_reply, fwd.rcpt, [str(fwd.msg["Reply-To"])])
    out = gateway.wait_letters(2)
    (answer,) = [lt for lt in out if lt.rcpt == "olena.shevchuk@i.ua"]
    (staff,) = [lt for lt in out if lt.rcpt == fwd.rcpt]
    assert answer.attachments == {"foto.pdf": PDF} and "буде замінено" in answer.text
    assert "без цих файлів: gra.scr" in staff.text
