"""The letters a citizen gets, read as they come out of the running gateway: the greeting
names the citizen in the vocative ("Шановна Маріє Іванівно!") when the name is sure and is
neutral otherwise; a relayed answer that greets the citizen itself has no second greeting;
every letter to the citizen answers the citizen's own message (In-Reply-To/References),
and the forward to the department starts a conversation of its own."""

from __future__ import annotations

import pytest
from harness import Gateway, Letter, by_rcpt
from letter_clients import Client, b64, gmail, outlook, ukrnet, word

NEUTRAL = "Добрий день!"
INTAKE = "zhkg@council.example"


def appeal(
    gateway: Gateway, client: Client, mid: str, sender: tuple[str, str], subject: str, body: str
) -> tuple[Letter, Letter]:
    """A citizen's letter from `client` to the housing department's intake address: the
    acknowledgement to the citizen and the forward to the department."""
    gateway.send(client(mid, sender, INTAKE, subject, body), sender[1], [INTAKE])
    out = by_rcpt(gateway.wait_letters(2))
    ack = out.pop(sender[1])
    ((_, fwd),) = out.items()
    return ack, fwd


def first_line(letter: Letter) -> str:
    return letter.text.splitlines()[0]


def assert_answers(letter: Letter, message_id: str) -> None:
    """The letter is a reply to the citizen's own message (RFC 5322 §3.6.4)."""
    assert letter.msg["In-Reply-To"] == message_id, letter.msg["In-Reply-To"]
    assert str(letter.msg["References"]).split() == [message_id]


ACKNOWLEDGED = [
    pytest.param(
        gmail,
        "CAJx7Hq2Lw0Tn-8sPzQ1mK3vR5tY9uB@mail.gmail.com",
        ("Марія К.", "m.kovalenko77@gmail.com"),
        "Добрий день!\n\nУ під'їзді нашого будинку третій тиждень не працює освітлення на "
        "всіх поверхах, увечері ходимо з ліхтариками.\n\nЗ повагою,\nКоваленко Марія Іванівна\n"
        "м. Луцьк, вул. Львівська, 14, кв. 60\n",
        "Шановна Маріє Іванівно!",
        id="female-gmail",
    ),
    pytest.param(
        outlook,
        "VI1PR0801MB2F3A4B5C6D7E8F9A0B1C2D3E@VI1PR0801MB2F3A.eurprd08.prod.outlook.com",
        ("Shevchenko O.", "o.shevchenko@outlook.com"),
        "Прошу відремонтувати дитячий майданчик біля будинку на просп. Волі, 20: зламані "
        "гойдалки і лавки.\n\nЗ повагою,\nОлександр Петрович Шевченко\n"
        "м. Луцьк, просп. Волі, 20, кв. 3\n",
        "Шановний Олександре Петровичу!",
        id="male-outlook",
    ),
    pytest.param(
        ukrnet,
        "1765184553.44102.83214.ukrnet@frv52.fwdcdn.com",
        ("Мария Ивановна", "m.ivanovna@ukr.net"),
        "Здравствуйте! Во дворе дома по ул. Шевченко, 40 третий месяц не вывозят мусор, "
        "контейнеры переполнены.\n\nС уважением,\nМария Ивановна\n"
        "г. Луцк, ул. Шевченко, 40, кв. 7\n",
        NEUTRAL,  # a Russian form of the name: no Ukrainian vocative of it
        id="russian-name-ukrnet",
    ),
]


@pytest.mark.parametrize(("client", "mid", "sender", "body", "greeting"), ACKNOWLEDGED)
def test_the_acknowledgement_greets_the_citizen_and_answers_their_message(
    gateway: Gateway,
    client: Client,
    mid: str,
    sender: tuple[str, str],
    body: str,
    greeting: str,
) -> None:
    ack, fwd = appeal(gateway, client, mid, sender, "Звернення", body)
    lines = ack.text.splitlines()
    assert lines[0] == greeting and lines[1] == ""
    assert "Шановний(а)" not in ack.text and sender[0] not in lines[0]
    assert_answers(ack, f"<{mid}>")
    # The department's conversation starts with the forward: it answers nothing.
    assert fwd.rcpt == "zhkg-staff@council.example"
    assert fwd.msg["In-Reply-To"] is None and fwd.msg["References"] is None


def staff_reply(fwd: Letter, text: str, n: int) -> str:
    # Outlook 2016: the answer on top, the forward below an "From:/Sent:" block.
    plain = (
        f"{text}\n\nЗ повагою,\nІван Майстренко\nпровідний спеціаліст\n\n"
        f"From: Звернення громадян <appeals@council.example>\n"
        f"Sent: Tuesday, December 8, 2026 10:12 AM\nTo: {fwd.rcpt}\n"
        f"Subject: {fwd.subject}\n\n{fwd.text}\n"
    )
    return f"""From: {word("Іван Майстренко")} <{fwd.rcpt}>
To: {fwd.msg["Reply-To"]}
Subject: {word("RE: " + fwd.subject)}
Thread-Index: AQHbSFq0Yx2mW4kLRkKq3vR1sT0u{n:02d}==
Date: Tue, 8 Dec 2026 08:15:{10 + n:02d} +0000
Message-ID: <AM9PR07MB8{n:03d}4D5E6F7A8B9C@AM9PR07MB8123.eurprd07.prod.outlook.com>
References: {fwd.msg["Message-ID"]}
In-Reply-To: {fwd.msg["Message-ID"]}
Content-Language: uk-UA
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(plain)}
"""


def test_relayed_answer_has_one_greeting_and_answers_the_citizens_message(
    gateway: Gateway,
) -> None:
    mid = "CAJx9Rt4Nn2Vp-0uQzS3oM5xT7vA1wD@mail.gmail.com"
    body = (
        "Добрий день!\n\nБіля будинку на вул. Конякіна, 17 глибока яма на тротуарі, "
        "вже двоє людей впали.\n\nЗ повагою,\nСавчук Олена Степанівна\n"
        "м. Луцьк, вул. Конякіна, 17, кв. 9\n"
    )
    ack, fwd = appeal(
        gateway, gmail, mid, ("Олена Савчук", "olena.savchuk.lutsk@gmail.com"), "Яма", body
    )
    assert first_line(ack) == "Шановна Олено Степанівно!"
    own = (
        "Доброго дня, Олено Степанівно!\n\nЯму на тротуарі засиплять і заасфальтують до 20.12.2026."
    )
    gateway.send(staff_reply(fwd, own, 1), fwd.rcpt, [str(fwd.msg["Reply-To"])])
    (answer,) = gateway.wait_letters(1)
    assert answer.rcpt == "olena.savchuk.lutsk@gmail.com" and "Відповідь" in answer.subject
    text = answer.text
    # One greeting: the department's own, not ours beside it.
    assert "Шановна Олено Степанівно!" not in text
    assert text.count("Олено Степанівно") == 1
    assert first_line(answer).startswith("Надсилаємо відповідь на Ваше звернення")
    assert "Доброго дня, Олено Степанівно!" in text and "заасфальтують до 20.12.2026" in text
    # Threaded under the citizen's own letter, as the acknowledgement is.
    assert_answers(answer, f"<{mid}>")
    assert answer.msg["In-Reply-To"] == ack.msg["In-Reply-To"]


def test_relayed_answer_without_a_greeting_gets_ours(gateway: Gateway) -> None:
    mid = "VI1PR0801MB9A8B7C6D5E4F3A2B1C0D@VI1PR0801MB9A8B.eurprd08.prod.outlook.com"
    body = (
        "Прошу встановити лавку на зупинці «Центральний ринок».\n\nЗ повагою,\n"
        "Ігор Олегович Мельник\nм. Луцьк, вул. Ковельська, 20, кв. 4\n"
    )
    ack, fwd = appeal(
        gateway, outlook, mid, ("Ігор Мельник", "i.melnyk@outlook.com"), "Лавка", body
    )
    assert first_line(ack) == "Шановний Ігорю Олеговичу!"
    gateway.send(
        staff_reply(fwd, "Лавку встановлять до кінця місяця.", 2),
        fwd.rcpt,
        [str(fwd.msg["Reply-To"])],
    )
    (answer,) = gateway.wait_letters(1)
    lines = answer.text.splitlines()
    assert lines[:2] == ["Шановний Ігорю Олеговичу!", ""]
    assert lines[2].startswith("Надсилаємо відповідь на Ваше звернення")
    assert answer.text.count("Шановний") == 1
    assert_answers(answer, f"<{mid}>")


def test_interim_and_extension_letters_answer_the_citizens_message(gateway: Gateway) -> None:
    mid = "CAJx2Kp8Mm4Wq-6vRzT5nL7yU9wC3eF@mail.gmail.com"
    body = (
        "Добрий день!\n\nУ нашому будинку другий тиждень немає гарячої води, управитель "
        "не відповідає.\n\nЗ повагою,\nНаталія Сергіївна Лисенко\n"
        "м. Луцьк, вул. Електроапаратна, 3, кв. 81\n"
    )
    _, fwd = appeal(
        gateway, gmail, mid, ("Наталія Лисенко", "n.lysenko.lutsk@gmail.com"), "Гаряча вода", body
    )
    for n, command in (
        (3, "#interim\nЗвернулися до управителя, чекаємо на пояснення."),
        (4, "#extend 10 потрібна перевірка мереж підрядником"),
    ):
        reply = staff_reply(fwd, command, n)
        gateway.send(reply, fwd.rcpt, [str(fwd.msg["Reply-To"])])
        out = by_rcpt(gateway.wait_letters(2))
        told, confirmed = out["n.lysenko.lutsk@gmail.com"], out[fwd.rcpt]
        assert told.text.splitlines()[0] == "Шановна Наталіє Сергіївно!"
        assert_answers(told, f"<{mid}>")
        # The confirmation answers the staff member's message, in the forward's thread.
        staff_id = next(ln for ln in reply.splitlines() if ln.startswith("Message-ID:")).split()[1]
        assert confirmed.msg["In-Reply-To"] == staff_id
        assert str(confirmed.msg["References"]).split() == [str(fwd.msg["Message-ID"]), staff_id]
