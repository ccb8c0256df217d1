"""Letters with attachments, as real clients send them, through the running gateway: the
acknowledgement goes out, the forward carries every file byte-identical, and a staff
answer with a signed PDF reaches the citizen with the PDF."""

from __future__ import annotations

import base64
import textwrap
from email.header import Header

from harness import Gateway, by_rcpt

# A small but real PDF and JPEG: what matters is that the bytes come back unchanged.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + bytes(range(256)) * 4
# format=flowed (RFC 3676): a line ending in a space continues on the next one.
FLOWED_SOFT_BREAK = " "
PNG_LOGO = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def b64(data: bytes) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))


def test_outlook_express_cp1251_with_pdf(gateway: Gateway) -> None:
    # Outlook Express 6 on a Ukrainian Windows: windows-1251 body in quoted-printable, the
    # file name RFC 2047-encoded in windows-1251 in both name= and filename=.
    name = Header("Скарга_двір.pdf", "windows-1251").encode()
    body = (
        "Шановний міський голово!\n\nУ дворі будинку на вул. Шевченка, 40 третій місяць "
        "не вивозять сміття, контейнери переповнені. Фото та акт огляду додаю.\n\n"
        "З повагою, Оксана Гнатюк\nвул. Шевченка, 40, кв. 17, м. Луцьк\n"
    ).encode("cp1251")
    import quopri

    raw = (
        "From: =?windows-1251?B?"
        + base64.b64encode("Оксана Гнатюк".encode("cp1251")).decode()
        + "?= <oksana.hn@ukr.net>\n"
        "To: <appeals@council.example>\n"
        "Subject: =?windows-1251?B?"
        + base64.b64encode("Сміття у дворі".encode("cp1251")).decode()
        + "?=\n"
        "Date: Tue, 1 Dec 2026 09:12:44 +0200\n"
        "Message-ID: <000a01db44c1$5e2b8f40$0201a8c0@oksana>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed;\n\tboundary="----=_NextPart_000_0007_01DB44D2.1FB45F40"\n'
        "X-Priority: 3\nX-MSMail-Priority: Normal\n"
        "X-Mailer: Microsoft Outlook Express 6.00.2900.5931\n\n"
        "This is a multi-part message in MIME format.\n\n"
        "------=_NextPart_000_0007_01DB44D2.1FB45F40\n"
        'Content-Type: text/plain;\n\tcharset="windows-1251"\n'
        "Content-Transfer-Encoding: quoted-printable\n\n"
        + quopri.encodestring(body).decode("ascii")
        + "\n------=_NextPart_000_0007_01DB44D2.1FB45F40\n"
        f'Content-Type: application/pdf;\n\tname="{name}"\n'
        "Content-Transfer-Encoding: base64\n"
        f'Content-Disposition: attachment;\n\tfilename="{name}"\n\n'
        + b64(PDF)
        + "\n\n------=_NextPart_000_0007_01DB44D2.1FB45F40--\n"
    )
    gateway.send(raw, "oksana.hn@ukr.net", ["appeals@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    ack = out.pop("oksana.hn@ukr.net")
    assert ack.reg_no.startswith("A-") and ack.reg_no in ack.text
    ((_, fwd),) = out.items()
    assert "третій місяць" in fwd.text
    assert fwd.attachments == {"Скарга_двір.pdf": PDF}


def test_gmail_html_with_inline_image_and_photo(gateway: Gateway) -> None:
    # Gmail web: multipart/mixed > related > alternative(plain, html) + inline cid image,
    # then the phone photo as an attachment; UTF-8 base64 bodies.
    html = (
        '<div dir="ltr">Добрий день!<div><br></div><div>На зупинці «Центральний ринок» '
        "зламана лавка і немає освітлення.</div><div>Фото додаю.</div><div><br></div>"
        '<div>-- <br><div dir="ltr">Андрій Мельник<br>м. Луцьк, вул. Ковельська, 21, кв. 4<br><img src="cid:ii_m41sig0"></div></div></div>'
    )
    plain = (
        "Добрий день!\n\nНа зупинці «Центральний ринок» зламана лавка і немає освітлення.\n"
        "Фото додаю.\n\n--\nАндрій Мельник\nм. Луцьк, вул. Ковельська, 21, кв. 4\n[image: logo.png]\n"
    )
    raw = f"""MIME-Version: 1.0
Date: Wed, 2 Dec 2026 14:03:11 +0200
Message-ID: <CAJ8Hq1x=Yz0v7mQk2@mail.gmail.com>
Subject: =?UTF-8?B?{base64.b64encode("Зупинка «Центральний ринок»".encode()).decode()}?=
From: =?UTF-8?B?{base64.b64encode("Андрій Мельник".encode()).decode()}?= <andrii.melnyk@gmail.com>
To: appeals@council.example
Content-Type: multipart/mixed; boundary="000000000000b1c2d3e4f5a6b7c8"

--000000000000b1c2d3e4f5a6b7c8
Content-Type: multipart/related; boundary="000000000000a1b2c3d4e5f6a7b8"

--000000000000a1b2c3d4e5f6a7b8
Content-Type: multipart/alternative; boundary="000000000000f0e1d2c3b4a59687"

--000000000000f0e1d2c3b4a59687
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(plain.encode())}

--000000000000f0e1d2c3b4a59687
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(html.encode())}

--000000000000f0e1d2c3b4a59687--

--000000000000a1b2c3d4e5f6a7b8
Content-Type: image/png; name="logo.png"
Content-Disposition: inline; filename="logo.png"
Content-Transfer-Encoding: base64
Content-ID: <ii_m41sig0>
X-Attachment-Id: ii_m41sig0

{b64(PNG_LOGO)}
--000000000000a1b2c3d4e5f6a7b8--

--000000000000b1c2d3e4f5a6b7c8
Content-Type: image/jpeg; name="IMG_20261202_135502.jpg"
Content-Disposition: attachment; filename="IMG_20261202_135502.jpg"
Content-Transfer-Encoding: base64
X-Attachment-Id: f_m41sk3s71

{b64(JPEG)}
--000000000000b1c2d3e4f5a6b7c8--
"""
    gateway.send(raw, "andrii.melnyk@gmail.com", ["appeals@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    ack = out.pop("andrii.melnyk@gmail.com")
    assert ack.reg_no.startswith("A-")
    ((_, fwd),) = out.items()
    assert "зламана лавка" in fwd.text
    assert fwd.attachments["IMG_20261202_135502.jpg"] == JPEG
    assert fwd.attachments["logo.png"] == PNG_LOGO


def test_info_request_and_appeal_get_numbers_of_their_own_series(gateway: Gateway) -> None:
    def letter(n: int, subject: str, text: str) -> str:
        return (
            f"From: Ірина Бондар <iryna.b@i.ua>\nTo: appeals@council.example\n"
            f"Subject: {subject}\nMessage-ID: <series-{n}@i.ua>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            f"{text}\n\nІрина Бондар\nм. Луцьк, вул. Лесі Українки, 5\n"
        )

    gateway.send(
        letter(
            1,
            "Запит на інформацію",
            "Відповідно до Закону України «Про доступ до публічної інформації» прошу надати "
            "копію договору на утримання парку імені Лесі Українки за 2026 рік.",
        ),
        "iryna.b@i.ua",
        ["appeals@council.example"],
    )
    first = [lt for lt in gateway.wait_letters(2) if lt.rcpt == "iryna.b@i.ua"]
    gateway.send(
        letter(2, "Лавки в парку", "Прошу встановити нові лавки в парку, старі зламані."),
        "iryna.b@i.ua",
        ["appeals@council.example"],
    )
    second = [lt for lt in gateway.wait_letters(2) if lt.rcpt == "iryna.b@i.ua"]
    assert first[0].reg_no.startswith("I-") and second[0].reg_no.startswith("A-")
    # The first request of the year is number 1 of its series although appeals of this
    # module already hold sequence 1 of theirs.
    assert first[0].reg_no.endswith("-000001") and not second[0].reg_no.endswith("-000001")


def test_thunderbird_staff_answer_with_signed_pdf_reaches_the_citizen(gateway: Gateway) -> None:
    gateway.send(
        "From: Василь Ткачук <v.tkachuk@meta.ua>\nTo: appeals@council.example\n"
        "Subject: Тротуар на вул. Окружній\nMessage-ID: <tb-1@meta.ua>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "Прошу відремонтувати тротуар на вул. Окружній біля школи № 5, там ями й калюжі.\n\n"
        "Василь Ткачук, вул. Окружна, 3, м. Луцьк\n",
        "v.tkachuk@meta.ua",
        ["appeals@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    ack = out.pop("v.tkachuk@meta.ua")
    ((dept, fwd),) = out.items()
    reply_to = str(fwd.msg["Reply-To"])
    signed = PDF.replace(b"%%EOF", b"%signed by the department head\n%%EOF")
    # Thunderbird: format=flowed answer on top, attribution line, quoted forward below.
    quoted = "\n".join("> " + ln for ln in fwd.text.splitlines())
    raw = f"""Message-ID: <5b1f3a2e-9c1d-4e0b-a1f2-3c4d5e6f7a8b@council.example>
Date: Thu, 3 Dec 2026 10:20:31 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: {fwd.msg["Subject"]}
To: {reply_to}
References: {fwd.msg["Message-ID"]}
In-Reply-To: {fwd.msg["Message-ID"]}
From: Department <{dept}>
Content-Type: multipart/mixed; boundary="------------Xk2ZbqR1mFv3Lw8T0hP5sYcN"

This is a multi-part message in MIME format.
--------------Xk2ZbqR1mFv3Lw8T0hP5sYcN
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Тротуар на вул. Окружній буде відремонтовано до 15.12.2026, лист-відповідь{FLOWED_SOFT_BREAK}
з підписом додаю.

03.12.2026 09:55, Звернення громадян пише:
{quoted}

--------------Xk2ZbqR1mFv3Lw8T0hP5sYcN
Content-Type: application/pdf; name="vidpovid.pdf"
Content-Disposition: attachment; filename="vidpovid.pdf"
Content-Transfer-Encoding: base64

{b64(signed)}

--------------Xk2ZbqR1mFv3Lw8T0hP5sYcN--
"""
    gateway.send(raw, dept, [reply_to])
    (answer,) = gateway.wait_letters(1)
    assert answer.rcpt == "v.tkachuk@meta.ua"
    assert ack.reg_no in answer.subject
    assert "буде відремонтовано" in answer.text
    assert "ями й калюжі" not in answer.text  # the quoted forward stays behind
    assert answer.attachments == {"vidpovid.pdf": signed}
