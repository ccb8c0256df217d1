"""Citizens' replies to finished appeals, through the running gateway, in the shapes real
clients give them: a Gmail reply disagreeing with the final answer becomes a new, linked
appeal; an Outlook reply supplying the address a returned appeal lacked re-opens it; an
iPhone "Дякую!" to an answer registers nothing."""

from __future__ import annotations

import base64
import json
import quopri
import textwrap
import time
from email.header import Header

from harness import Gateway, Letter, by_rcpt

STAFF = "zhkg-staff@council.example"


def b64(text: str) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(text.encode()).decode(), 76))


def enc(value: str) -> str:
    """A header value as a client puts it on the wire (RFC 2047 when not ASCII)."""
    return value if value.isascii() else Header(value, "utf-8").encode()


def quoted(letter: Letter) -> str:
    return "\n".join(("> " + ln).rstrip() for ln in letter.text.splitlines())


def show(gateway: Gateway, reg_no: str) -> dict:
    return json.loads(gateway.cli("appeal", "show", reg_no))


def staff_answer_outlook(gateway: Gateway, fwd: Letter, answer: str, mid: str) -> Letter:
    """Outlook 365 desktop: answer on top, then a "From:/Sent:" block and the forward
    unquoted (no "> "), HTML alternative with `divRplyFwdMsg`."""
    plain = (
        f"{answer}\n\nЗ повагою,\nМарія Іваненко\nголовний спеціаліст відділу експлуатації\n\n"
        "________________________________\n"
        "From: Звернення громадян <appeals@council.example>\n"
        "Sent: Thursday, December 3, 2026 10:02 AM\n"
        f"To: {STAFF}\n"
        f"Subject: {fwd.subject}\n\n"
        f"{fwd.text}\n"
    )
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '</head><body><div dir="ltr">'
        f"<p>{answer}</p><p>З повагою,<br>Марія Іваненко</p></div>"
        '<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" '
        'dir="ltr"><font face="Calibri, sans-serif"><b>From:</b> Звернення громадян '
        "&lt;appeals@council.example&gt;<br><b>Sent:</b> Thursday, December 3, 2026 10:02 AM"
        f"</font></div><div><pre>{fwd.text}</pre></div></body></html>"
    )
    boundary = "_000_AM0PR07MB61231D2E3F4A5B6C7D8E9F0A1B2C3D4AM0PR07MB6123eurp_"
    raw = f"""From: =?utf-8?B?{base64.b64encode("Марія Іваненко".encode()).decode()}?= <{STAFF}>
To: "{fwd.msg["Reply-To"]}" <{fwd.msg["Reply-To"]}>
Subject: {enc("RE: " + fwd.subject)}
Thread-Topic: {enc(fwd.subject)}
Thread-Index: AQHbRZ2xk3v1c0ZQ0U2x8m4Lr5mE7A==
Date: Thu, 3 Dec 2026 08:20:11 +0000
Message-ID: <AM0PR07MB6123{mid}@AM0PR07MB6123.eurprd07.prod.outlook.com>
References: {fwd.msg["Message-ID"]}
In-Reply-To: {fwd.msg["Message-ID"]}
Accept-Language: uk-UA, en-US
Content-Language: uk-UA
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: multipart/alternative; boundary="{boundary}"
MIME-Version: 1.0

--{boundary}
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(plain)}

--{boundary}
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(html)}

--{boundary}--
"""
    gateway.send(raw, STAFF, [str(fwd.msg["Reply-To"])])
    (answer_letter,) = gateway.wait_letters(1)
    return answer_letter


def test_gmail_disagreement_with_the_final_answer_is_a_new_linked_appeal(
    gateway: Gateway,
) -> None:
    citizen = "halyna.petrenko@gmail.com"
    body = (
        "Добрий день!\n\nУ нашому будинку другий тиждень не працює ліфт, "
        "а на дев'ятому поверсі живуть люди похилого віку.\n\nГалина Петренко\n"
        "м. Луцьк, вул. Кафедральна, 7, кв. 36\n"
    )
    gateway.send(
        f"""MIME-Version: 1.0
Date: Tue, 1 Dec 2026 09:41:07 +0200
Message-ID: <CAKx9Qv2mW0bT1r8sY4=hP3dN7fJ5@mail.gmail.com>
Subject: {enc("Не працює ліфт")}
From: {enc("Галина Петренко")} <{citizen}>
To: zhkg@council.example
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(body)}
""",
        citizen,
        ["zhkg@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    first_no = out[citizen].reg_no
    fwd = out[STAFF]
    answer = staff_answer_outlook(
        gateway,
        fwd,
        "Ліфт буде відремонтовано до кінця січня 2027 року.",
        "1D2E3F4A5B6C7D8E9F0A1B2C3D4",
    )
    assert answer.rcpt == citizen and "до кінця січня" in answer.text
    assert "оскаржити" in answer.text and "дайте відповідь на цей лист" in answer.text
    assert show(gateway, first_no)["state"] == "closed"

    # Gmail web, Ukrainian interface: plain text with the attribution wrapped over two
    # lines and the answer "> "-quoted, HTML with gmail_quote.
    disagreement = (
        "Я не згодна з відповіддю. Люди похилого віку не можуть два місяці чекати, "
        "прошу відремонтувати ліфт до кінця грудня."
    )
    attribution = "чт, 3 груд. 2026 р. о 10:20 Звернення громадян <appeals@council.example>"
    plain = f"{disagreement}\n\nГалина Петренко\n\n{attribution}\nпише:\n\n{quoted(answer)}\n"
    answer_html = answer.text.replace("\n", "<br>")
    html = (
        f'<div dir="ltr"><div>{disagreement}</div><div><br></div><div>Галина Петренко</div>'
        '</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">чт, 3 груд. '
        '2026 р. о 10:20 Звернення громадян &lt;<a href="mailto:appeals@council.example">'
        'appeals@council.example</a>&gt; пише:<br></div><blockquote class="gmail_quote" '
        'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);'
        f'padding-left:1ex">{answer_html}</blockquote></div>'
    )
    reply_to = str(answer.msg["Reply-To"])
    gateway.send(
        f"""MIME-Version: 1.0
Date: Thu, 3 Dec 2026 10:31:55 +0200
References: {answer.msg["Message-ID"]}
In-Reply-To: {answer.msg["Message-ID"]}
Message-ID: <CAKx9Qv0ZpL4u8Hc2=Qe1mT7wXn3bR@mail.gmail.com>
Subject: {enc("Re: " + answer.subject)}
From: {enc("Галина Петренко")} <{citizen}>
To: {enc("Звернення громадян")} <{reply_to}>
Content-Type: multipart/alternative; boundary="000000000000c4a1f705f2d3e6b1"

--000000000000c4a1f705f2d3e6b1
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(plain)}

--000000000000c4a1f705f2d3e6b1
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(html)}

--000000000000c4a1f705f2d3e6b1--
""",
        citizen,
        [reply_to],
    )
    out = by_rcpt(gateway.wait_letters(2))
    ack, fwd2 = out.pop(citizen), out.pop(STAFF)
    second_no = ack.reg_no
    assert second_no != first_no and second_no.startswith("A-")
    assert first_no in ack.text and "скарга" in ack.text
    second = show(gateway, second_no)
    assert second["state"] == "routed" and second["department"] == "housing"
    assert second["repeat_status"] == "repeated"
    assert second["related_appeal"] == first_no and second["flags"]["followup_of"] == first_no
    assert second["characteristics"]["sign"] == "repeated"
    assert second["characteristics"]["type"] == "complaint"
    # The register files it under the first appeal's topic.
    first_topic = show(gateway, first_no)["characteristics"]["topic_code"]
    assert second["characteristics"]["topic_code"] == first_topic
    assert f"до {_dmy(second['due_date'])}" in ack.text  # its own term
    assert fwd2.reg_no == second_no and first_no in fwd2.subject
    assert first_no in fwd2.text and "до кінця грудня" in fwd2.text
    assert "вул. Кафедральна, 7, кв. 36" in fwd2.text  # the address of the first appeal
    assert "Ліфт буде відремонтовано" not in fwd2.text  # the quoted answer stays behind
    assert show(gateway, first_no)["state"] == "closed"


def _dmy(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}.{m}.{y}"


def test_outlook_reply_with_the_missing_address_reopens_a_returned_appeal(
    gateway: Gateway,
) -> None:
    citizen = "p.kovalenko@outlook.com"
    body = (
        "Доброго дня!\r\n\r\nПрошу вжити заходів: у під'їзді будинку не працює освітлення "
        "вже місяць, вечорами небезпечно.\r\n\r\nЗ повагою,\r\nПетро Коваленко\r\n"
    )
    gateway.send(
        f"""From: {enc("Петро Коваленко")} <{citizen}>
To: "zhkg@council.example" <zhkg@council.example>
Subject: {enc("Освітлення в під'їзді")}
Thread-Topic: {enc("Освітлення в під'їзді")}
Thread-Index: AQHbRa1cQ2m4Z0yYQkq3Tn1Vb2zXmg==
Date: Thu, 3 Dec 2026 08:40:02 +0000
Message-ID: <DB9PR03MB7310E2A4C5F6A7B8C9D0E1F2A3B4C5D6@DB9PR03MB7310.eurprd03.prod.outlook.com>
Accept-Language: uk-UA, en-US
Content-Language: uk-UA
X-MS-Has-Attach:
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64
MIME-Version: 1.0

{b64(body)}
""",
        citizen,
        ["zhkg@council.example"],
    )
    (returned,) = gateway.wait_letters(1)  # returned at once; nothing to the department
    assert returned.rcpt == citizen and "місце проживання (адресу)" in returned.text
    reg_no = returned.reg_no
    assert show(gateway, reg_no)["state"] == "returned"

    # Outlook for Windows, Ukrainian interface: new text, "____" rule, a "Від:/Надіслано:"
    # header block and the letter unquoted; quoted-printable UTF-8.
    address = "м. Луцьк, вул. Кравчука, 14, кв. 8"
    plain = (
        f"Доповнюю звернення: проживаю за адресою {address}.\n\n"
        "З повагою,\nПетро Коваленко\n\n"
        "________________________________\n"
        "Від: Звернення громадян <appeals@council.example>\n"
        "Надіслано: 3 грудня 2026 р. 10:40\n"
        f"Кому: {citizen} <{citizen}>\n"
        f"Тема: {returned.subject}\n\n"
        f"{returned.text}\n"
    )
    reply_to = str(returned.msg["Reply-To"])
    gateway.send(
        f"""From: {enc("Петро Коваленко")} <{citizen}>
To: {enc("Звернення громадян")} <{reply_to}>
Subject: {enc("RE: " + returned.subject)}
Thread-Topic: {enc(returned.subject)}
Thread-Index: AQHbRa1cQ2m4Z0yYQkq3Tn1Vb2zXmgABbX2w
Date: Thu, 3 Dec 2026 08:52:40 +0000
Message-ID: <DB9PR03MB73108F1E2D3C4B5A69788796A5B4C3D2@DB9PR03MB7310.eurprd03.prod.outlook.com>
References: {returned.msg["Message-ID"]}
In-Reply-To: {returned.msg["Message-ID"]}
Accept-Language: uk-UA, en-US
Content-Language: uk-UA
X-MS-Has-Attach:
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

{quopri.encodestring(plain.encode()).decode("ascii")}
""",
        citizen,
        [reply_to],
    )
    out = by_rcpt(gateway.wait_letters(2))
    ack, fwd = out.pop(citizen), out.pop(STAFF)
    appeal = show(gateway, reg_no)
    assert appeal["state"] == "routed"
    reopened = [e for e in appeal["events"] if e["type"] == "reopened"]
    assert len(reopened) == 1 and reopened[0]["data"]["from_state"] == "returned"
    assert reopened[0]["data"]["receipt_date"] == appeal["receipt_date"]
    assert ack.reg_no == reg_no and "прийнято до розгляду" in ack.text
    assert f"до {_dmy(appeal['due_date'])}" in ack.text
    assert fwd.reg_no == reg_no
    assert address in fwd.text and "не працює освітлення" in fwd.text
    assert "ст. 5" in fwd.text  # the department is told why it comes only now


def test_iphone_thank_you_for_the_answer_registers_nothing(gateway: Gateway) -> None:
    citizen = "taras.melnyk@icloud.com"
    # Apple Mail on iOS: quoted-printable UTF-8 and its own footer.
    body = (
        "Добрий день! На дитячому майданчику біля будинку на просп. Волі, 20 зламана гойдалка, "
        "діти можуть травмуватися.\n\nТарас Мельник\nм. Луцьк, просп. Волі, 20, кв. 11\n\n"
        "Надіслано з iPhone\n"
    )
    gateway.send(
        f"""Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
From: {enc("Тарас Мельник")} <{citizen}>
Mime-Version: 1.0 (1.0)
Date: Thu, 3 Dec 2026 11:05:12 +0200
Subject: {enc("Зламана гойдалка")}
Message-Id: <4C7E2A1B-9F3D-4E8A-B6C5-2D1F0E9A8B7C@icloud.com>
To: zhkg@council.example
X-Mailer: iPhone Mail (22B91)

{quopri.encodestring(body.encode()).decode("ascii")}
""",
        citizen,
        ["zhkg@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    reg_no = out[citizen].reg_no
    answer = staff_answer_outlook(
        gateway, out[STAFF], "Гойдалку замінено 4 грудня.", "9E8D7C6B5A4F3E2D1C0B9A8F7E6"
    )
    assert answer.rcpt == citizen
    before = json.loads(gateway.cli("status", "--json"))

    # iOS quotes its own attribution line and keeps a byte-order mark in front of the
    # quoted text.
    reply = (
        "Дякую!\n\nНадіслано з iPhone\n\n"
        "> 4 груд. 2026 р. о 09:12 Звернення громадян <appeals@council.example> написав(ла):\n"
        "> \n> \ufeff" + quoted(answer)[2:] + "\n"
    )
    reply_to = str(answer.msg["Reply-To"])
    gateway.send(
        f"""Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
From: {enc("Тарас Мельник")} <{citizen}>
Mime-Version: 1.0 (1.0)
Date: Fri, 4 Dec 2026 09:30:44 +0200
Subject: {enc("Re: " + answer.subject)}
Message-Id: <8A1D3C5E-7B9F-4A2C-8E6D-1F3B5A7C9E0D@icloud.com>
References: {answer.msg["Message-ID"]}
In-Reply-To: {answer.msg["Message-ID"]}
To: {enc("Звернення громадян")} <{reply_to}>
X-Mailer: iPhone Mail (22B91)

{quopri.encodestring(reply.encode()).decode("ascii")}
""",
        citizen,
        [reply_to],
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = [e["type"] for e in show(gateway, reg_no)["events"]]
        if "citizen-thanks" in events:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"no thanks recorded: {events}")
    after = json.loads(gateway.cli("status", "--json"))
    # Nothing registered and nothing queued: the event and any letter would have been
    # committed together.
    assert sum(after["appeals"].values()) == sum(before["appeals"].values())
    assert sum(after["outbound"].values()) == sum(before["outbound"].values())
    assert show(gateway, reg_no)["state"] == "closed"
    assert after["inbound"].get("processed", 0) == before["inbound"].get("processed", 0) + 1
