"""Staff commands and public-information requests through the running gateway, with letters
shaped like real clients: `#extend 15` from Outlook on an appeal gives the citizen the exact
new date (45 days from receipt, moved off a day off) and the department a confirmation; a
refused extension is explained in Ukrainian; a request written to the general address is
recognised by its wording, goes to the public-information office with a request's own
letters, and `#extend` on it runs in working days."""

from __future__ import annotations

import base64
import re
import textwrap
from datetime import date, timedelta

from harness import Gateway, Letter, by_rcpt

from routing.deadlines import DeadlineRules, WorkCalendar

# The shipped settings: martial law, no local days off (the gateway's own calendar).
CAL = WorkCalendar(DeadlineRules())


def b64(text: str) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(text.encode()).decode(), 76))


def receipt_of(ack: Letter) -> date:
    m = re.search(r"Дата реєстрації:\s+(\d\d\.\d\d\.\d{4})", ack.text)
    assert m, ack.text
    day, month, year = (int(x) for x in m.group(1).split("."))
    return date(year, month, day)


def gmail_appeal(mid: str, subject: str, body: str) -> str:
    # Gmail web: multipart/alternative, UTF-8 bodies in base64, encoded-word subject.
    html = '<div dir="ltr">' + body.replace("\n", "<br>") + "</div>"
    return f"""MIME-Version: 1.0
Date: Mon, 7 Dec 2026 09:41:12 +0200
Message-ID: <{mid}@mail.gmail.com>
Subject: =?UTF-8?B?{base64.b64encode(subject.encode()).decode()}?=
From: =?UTF-8?B?{base64.b64encode("Олена Савчук".encode()).decode()}?= <olena.savchuk@gmail.com>
To: zhkg@council.example
Content-Type: multipart/alternative; boundary="0000000000009a8b7c6d5e4f3a21"

--0000000000009a8b7c6d5e4f3a21
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(body)}

--0000000000009a8b7c6d5e4f3a21
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(html)}

--0000000000009a8b7c6d5e4f3a21--
"""


def outlook_reply(fwd: Letter, dept: str, first_line: str, n: int) -> str:
    # Outlook 2016 on Windows: the answer on top, the original below an "From:/Sent:"
    # header block with no quote marks, plain and HTML alternatives in base64.
    original = "\n".join(fwd.text.splitlines())
    plain = (
        f"{first_line}\n\nЗ повагою,\nІван Майстренко\nпровідний спеціаліст\n\n"
        f"From: Звернення громадян <appeals@council.example>\n"
        f"Sent: Monday, December 7, 2026 10:12 AM\nTo: {dept}\n"
        f"Subject: {fwd.subject}\n\n{original}\n"
    )
    html = "<html><body><p>" + plain.replace("\n", "<br>\n") + "</p></body></html>"
    return f"""From: =?utf-8?B?{base64.b64encode("Іван Майстренко".encode()).decode()}?= <{dept}>
To: {fwd.msg["Reply-To"]}
Subject: =?utf-8?B?{base64.b64encode(("RE: " + fwd.subject).encode()).decode()}?=
Thread-Topic: =?utf-8?B?{base64.b64encode(fwd.subject.encode()).decode()}?=
Thread-Index: AQHbSFq0Yx2mW4kLRkKq3vR1sT0u7A==
Date: Mon, 7 Dec 2026 08:15:{10 + n:02d} +0000
Message-ID: <AM9PR07MB7{n:03d}1C2F3E4D5A6B7C8D9E0F1@AM9PR07MB7123.eurprd07.prod.outlook.com>
References: {fwd.msg["Message-ID"]}
In-Reply-To: {fwd.msg["Message-ID"]}
Accept-Language: uk-UA, en-US
Content-Language: uk-UA
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
MIME-Version: 1.0
Content-Type: multipart/alternative;
\tboundary="_000_AM9PR07MB71231C2F3E4D5A6B7C8D9E0F1AM9PR07MB7123eurprd_"

--_000_AM9PR07MB71231C2F3E4D5A6B7C8D9E0F1AM9PR07MB7123eurprd_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(plain)}

--_000_AM9PR07MB71231C2F3E4D5A6B7C8D9E0F1AM9PR07MB7123eurprd_
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(html)}

--_000_AM9PR07MB71231C2F3E4D5A6B7C8D9E0F1AM9PR07MB7123eurprd_--
"""


def new_appeal(gateway: Gateway, n: int, text: str) -> tuple[Letter, str, Letter]:
    body = f"Добрий день!\n\n{text}\n\nОлена Савчук\nм. Луцьк, вул. Конякіна, 17, кв. {n}\n"
    gateway.send(
        gmail_appeal(f"CAFx{n}q2Lw0Tn-8sPz", "Протікає покрівля", body),
        "olena.savchuk@gmail.com",
        ["zhkg@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    ack = out.pop("olena.savchuk@gmail.com")
    ((dept, fwd),) = out.items()
    return ack, dept, fwd


def test_extend_15_from_outlook_tells_the_citizen_the_exact_date(gateway: Gateway) -> None:
    ack, dept, fwd = new_appeal(
        gateway, 3, "Після кожного дощу протікає покрівля над кухнею, стеля вже в плямах."
    )
    assert dept == "zhkg-staff@council.example"
    assert "Коди підрозділів для #redirect:" in fwd.text and "  social " in fwd.text
    receipt = receipt_of(ack)
    gateway.send(
        outlook_reply(fwd, dept, "#extend 15 потрібне обстеження покрівлі підрядником", 1),
        dept,
        [str(fwd.msg["Reply-To"])],
    )
    out = by_rcpt(gateway.wait_letters(2))
    told, confirmed = out["olena.savchuk@gmail.com"], out[dept]
    # 30 + 15 = 45 days counted from receipt; a last day on a day off moves to the next
    # working day (Civil Code Art. 254 §5).
    new_due = CAL.on_or_after(receipt + timedelta(days=45)).strftime("%d.%m.%Y")
    assert "продовжено" in told.subject and ack.reg_no in told.subject
    assert f"продовжено до {new_due}" in told.text
    assert "потрібне обстеження покрівлі підрядником" in told.text
    assert "Команду #extend виконано" in confirmed.subject
    assert f"продовжено до {new_due}" in confirmed.text
    assert "Загальний строк: 45 днів від дня надходження" in confirmed.text


def test_extend_16_is_refused_in_ukrainian(gateway: Gateway) -> None:
    _ack, dept, fwd = new_appeal(gateway, 5, "У під'їзді не працює освітлення третій тиждень.")
    gateway.send(
        outlook_reply(fwd, dept, "#extend 16 складне питання", 2),
        dept,
        [str(fwd.msg["Reply-To"])],
    )
    (refused,) = gateway.wait_letters(1)
    assert refused.rcpt == dept and "Команду не виконано" in refused.subject
    reason = refused.text.splitlines()[0]
    assert "становив би 46 днів" in reason and "не більше 45 днів" in reason
    assert not re.search(r"[A-Za-z]{3,}", reason.split(":", 1)[1]), reason


def ukrnet_request(n: int) -> str:
    # ukr.net webmail: UTF-8 text/html with a plain alternative, quoted-printable.
    import quopri

    text = (
        "Доброго дня!\n\nВідповідно до Закону України «Про доступ до публічної інформації» "
        "прошу надати копії договорів на поточний ремонт доріг у Центральному районі, "
        "укладених міською радою у 2026 році, із кошторисами.\n\nВідповідь прошу надіслати "
        "на цю електронну адресу.\n\nЗ повагою,\nСтепан Гуменюк\nм. Луцьк, вул. Рівненська, 56\n"
    )
    html = "<div>" + text.replace("\n", "<br>") + "</div>"

    def qp(s: str) -> str:
        return quopri.encodestring(s.encode()).decode("ascii")

    return f"""Date: Mon, 07 Dec 2026 11:02:33 +0200
From: =?utf-8?B?{base64.b64encode("Степан Гуменюк".encode()).decode()}?= <s.humeniuk@ukr.net>
To: appeals@council.example
Subject: =?utf-8?B?{base64.b64encode("Запит".encode()).decode()}?=
Message-ID: <1765098153.{n}.83214.ukrnet@frv51.fwdcdn.com>
X-Mailer: FREEMAIL
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="----=_Part_{n}_1283642210.1765098153123"

------=_Part_{n}_1283642210.1765098153123
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

{qp(text)}
------=_Part_{n}_1283642210.1765098153123
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

{qp(html)}
------=_Part_{n}_1283642210.1765098153123--
"""


def thunderbird_reply(fwd: Letter, staff: str, body: str) -> str:
    quoted = "\n".join("> " + ln for ln in fwd.text.splitlines())
    return f"""Message-ID: <8c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f@council.example>
Date: Mon, 7 Dec 2026 11:40:02 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: {fwd.msg["Subject"]}
To: {fwd.msg["Reply-To"]}
References: {fwd.msg["Message-ID"]}
In-Reply-To: {fwd.msg["Message-ID"]}
From: Public information office <{staff}>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{body}

07.12.2026 11:05, Звернення громадян пише:
{quoted}
"""


def test_request_on_the_general_address_goes_to_the_public_information_office(
    gateway: Gateway,
) -> None:
    gateway.send(ukrnet_request(1), "s.humeniuk@ukr.net", ["appeals@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    ack, fwd = out["s.humeniuk@ukr.net"], out["publicinfo@council.example"]
    assert ack.reg_no.startswith("I-")
    assert "Ваш запит на інформацію зареєстровано" in ack.subject
    assert "Щоб доповнити запит" in ack.text and "5 робочих днів" in ack.text
    assert "«Про доступ до публічної інформації»" in ack.text
    assert "звернення" not in ack.text.lower() and "Ваше запит" not in ack.subject
    assert "Відділ доступу до публічної інформації" in ack.text
    assert "Запит на публічну інформацію" in fwd.subject
    assert "#holder <адреса> <причина>" in fwd.text and "#external" not in fwd.text
    # Not the 45 days of an appeal (a bare "45" can be the minute of the receipt time).
    assert "20 робочих днів" in fwd.text and "45 дн" not in fwd.text
    assert "Коди підрозділів для #redirect:" in fwd.text
    receipt = receipt_of(ack)

    gateway.send(
        thunderbird_reply(
            fwd, "publicinfo@council.example", "#extend 15 великий обсяг кошторисної документації"
        ),
        "publicinfo@council.example",
        [str(fwd.msg["Reply-To"])],
    )
    out = by_rcpt(gateway.wait_letters(2))
    told, confirmed = out["s.humeniuk@ukr.net"], out["publicinfo@council.example"]
    new_due = CAL.add_working_days(receipt, 20).strftime("%d.%m.%Y")
    assert "Строк розгляду Вашого запиту на інформацію продовжено" in told.subject
    assert f"продовжено до {new_due}" in told.text and "20 робочих днів" in told.text
    assert "Команду #extend виконано" in confirmed.subject
    assert "Загальний строк: 20 робочих днів від дня надходження" in confirmed.text
