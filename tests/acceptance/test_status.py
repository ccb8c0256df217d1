"""A citizen asks about their appeal by e-mail, through the running gateway: a Gmail reply
"статус" to the acknowledgement gets a letter with the state, the department, the due date
and what happened so far, and nothing staff keep for themselves; it is not forwarded to the
department as an addition."""

from __future__ import annotations

import base64
import json
import textwrap
import time
from email.header import Header

from harness import Gateway, Letter, by_rcpt

CITIZEN = "mykola.shevchuk@gmail.com"
INTERNAL_NOTE = "службова примітка: заявник пише вже втретє, перевірити разом з юристом"


def b64(text: str) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(text.encode()).decode(), 76))


def enc(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def gmail_reply(to_letter: Letter, new_text: str, mid: str) -> str:
    """Gmail web, Ukrainian interface: the new text on top, the attribution and the letter
    "> "-quoted below in the plain part, a gmail_quote blockquote in the HTML part."""
    quoted = "\n".join(("> " + ln).rstrip() for ln in to_letter.text.splitlines())
    attribution = "пт, 4 груд. 2026 р. о 09:12 Звернення громадян <appeals@council.example>"
    plain = f"{new_text}\n\n{attribution}\nпише:\n\n{quoted}\n"
    html = (
        f'<div dir="ltr">{new_text}</div><br><div class="gmail_quote"><div dir="ltr" '
        f'class="gmail_attr">{attribution} пише:<br></div><blockquote class="gmail_quote" '
        'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);'
        f'padding-left:1ex">{to_letter.text.replace(chr(10), "<br>")}</blockquote></div>'
    )
    reply_to = str(to_letter.msg["Reply-To"])
    return f"""MIME-Version: 1.0
Date: Fri, 4 Dec 2026 09:15:02 +0200
References: {to_letter.msg["Message-ID"]}
In-Reply-To: {to_letter.msg["Message-ID"]}
Message-ID: <{mid}@mail.gmail.com>
Subject: {enc("Re: " + to_letter.subject)}
From: {enc("Микола Шевчук")} <{CITIZEN}>
To: {enc("Звернення громадян")} <{reply_to}>
Content-Type: multipart/alternative; boundary="0000000000009b3c7a05f2e1d4c8"

--0000000000009b3c7a05f2e1d4c8
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(plain)}

--0000000000009b3c7a05f2e1d4c8
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(html)}

--0000000000009b3c7a05f2e1d4c8--
"""


def test_a_status_reply_gets_the_state_and_history_without_staff_notes(
    gateway: Gateway,
) -> None:
    body = (
        "Добрий день!\n\nНа перехресті вул. Ковельської та Шопена не працює світлофор "
        "уже третій день, діти ходять до школи через дорогу.\n\nМикола Шевчук\n"
        "м. Луцьк, вул. Шопена, 12, кв. 4\n"
    )
    gateway.send(
        f"""MIME-Version: 1.0
Date: Thu, 3 Dec 2026 18:02:44 +0200
Message-ID: <CAJt5Rk1qP8vX2mN4=bW7cY0dL3sF@mail.gmail.com>
Subject: {enc("Не працює світлофор")}
From: {enc("Микола Шевчук")} <{CITIZEN}>
To: appeals@council.example
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(body)}
""",
        CITIZEN,
        ["appeals@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    ack = out.pop(CITIZEN)
    reg_no = ack.reg_no
    # An admin gives it to the transport department with a note staff keep to themselves.
    gateway.cli("appeal", "reroute", reg_no, "transport", INTERNAL_NOTE, "--actor", "clerk7")
    moved = by_rcpt(gateway.wait_letters(2))  # the citizen's "redirected" and the new forward
    assert "transport-staff@council.example" in moved
    moved.pop(CITIZEN)

    reply_to = str(ack.msg["Reply-To"])
    gateway.send(gmail_reply(ack, "статус", "CAJt5Rk9zQ2wE6u=Lp0aV1nH8cK"), CITIZEN, [reply_to])
    (status,) = gateway.wait_letters(1)
    sent_so_far = len(gateway.letters())
    assert status.rcpt == CITIZEN
    assert reg_no in status.subject and "Стан розгляду" in status.subject
    shown = json.loads(gateway.cli("appeal", "show", reg_no))
    due = "{2}.{1}.{0}".format(*shown["due_date"].split("-"))
    text = status.text
    assert "Стан:                на розгляді" in text
    assert "Департамент транспорту та доріг" in text
    assert f"до {due}" in text
    assert "зареєстровано" in text and "передано на розгляд іншому підрозділу" in text
    # Staff-only details stay behind: the admin's note, who did it, staff addresses.
    assert "службова примітка" not in text and "юристом" not in text
    assert "clerk7" not in text and "staff@council.example" not in text
    # It was a question, not an addition: nothing went to the department.
    time.sleep(1.5)
    assert len(gateway.letters()) == sent_so_far
    types = [e["type"] for e in json.loads(gateway.cli("appeal", "show", reg_no))["events"]]
    assert "status-requested" in types and "followup" not in types
