"""The citizen's contact as the department's forward shows it, through the running gateway:
the README's sample letter (scripts/send-test-appeal) from Thunderbird gives exactly the
signature's address and phone, not the sentence of the complaint that names the same
street; the same letter from Outlook in windows-1251 with the phone written
"+380 67 765 43 21" gives that phone; a letter that names only the street of the problem
has no postal address, and goes back to the citizen under Art. 5."""

from __future__ import annotations

import quopri
import re
from email.header import Header
from pathlib import Path

from harness import Gateway, Letter, by_rcpt

REPO = Path(__file__).resolve().parents[2]
CITIZEN = "maria.kovalenko@example.org"


def enc(value: str, charset: str) -> str:
    """A header value as the client encodes it (RFC 2047, base64)."""
    return Header(value, charset).encode()


def readme_sample_text() -> str:
    """The Ukrainian text `scripts/send-test-appeal` sends (the README's tour)."""
    source = (REPO / "scripts" / "send-test-appeal").read_text(encoding="utf-8")
    m = re.search(r'TEXT_UK = """(.*?)"""', source, re.S)
    assert m, "TEXT_UK not found in scripts/send-test-appeal"
    return m.group(1)


def thunderbird(mid: str, body: str, sender: str = CITIZEN) -> str:
    # Thunderbird 115: text/plain, UTF-8, format=flowed, 8bit, a User-Agent line.
    return f"""Message-ID: <{mid}@example.org>
Date: Mon, 7 Dec 2026 10:02:11 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: uk
To: appeals@council.example
From: {enc("Марія Коваленко", "utf-8")} <{sender}>
Subject: {enc("Немає гарячої води", "utf-8")}
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{body}"""


def outlook_cp1251(mid: str, body: str, sender: str) -> bytes:
    # Outlook 2016 with a Cyrillic locale: windows-1251, quoted-printable, CRLF.
    qp = quopri.encodestring(body.replace("\n", "\r\n").encode("cp1251")).decode("ascii")
    head = f"""From: {enc("Марія Коваленко", "windows-1251")} <{sender}>
To: <appeals@council.example>
Subject: {enc("Немає гарячої води", "windows-1251")}
Date: Mon, 7 Dec 2026 10:07:43 +0200
Message-ID: <000001db4a2b$5c1e2f40$145a8dc0${mid}@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset="windows-1251"
Content-Transfer-Encoding: quoted-printable
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AdtKK1wVx8n0Yk3mRvSx2bq1f0uT1A==
Content-Language: uk

"""
    return head.encode("ascii") + qp.encode("ascii")


def contact_block(fwd: Letter) -> dict[str, str]:
    """The forward's contact lines, label -> the whole rest of the line."""
    out = {}
    for line in fwd.text.splitlines():
        m = re.match(r"^(Заявник|E-mail|Адреса|Телефон):\s+(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def send_and_split(
    gateway: Gateway, raw: str | bytes, sender: str = CITIZEN
) -> tuple[Letter, Letter]:
    gateway.send(raw, sender, ["appeals@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    ack = out.pop(sender)
    ((_, fwd),) = out.items()
    return ack, fwd


def test_readme_sample_from_thunderbird(gateway: Gateway) -> None:
    text = readme_sample_text()
    # The sample as the README's tour sends it: the problem's street in the complaint, the
    # citizen's own address and phone in the signature.
    assert "по вул. Шевченка, 12 вже третій тиждень" in text
    ack, fwd = send_and_split(gateway, thunderbird("5f1d2a3b-readme", text))
    assert "повертається" not in ack.subject  # complete under Art. 5
    block = contact_block(fwd)
    assert block == {
        "Заявник": "Марія Іванівна Коваленко  [підпис листа; надійно]",
        "E-mail": CITIZEN,
        "Адреса": "м. Луцьк, вул. Шевченка, 12, кв. 45  [підпис листа; надійно]",
        "Телефон": "+380 50 123 45 67  [підпис листа; надійно]",
    }
    # The complaint's "вул. Шевченка, 12" is the citizen's own house: no separate place.
    assert "Місце, якого стосується звернення" not in fwd.text
    assert "Контакти розпізнано автоматично" in fwd.text


def test_readme_sample_with_the_international_phone_from_outlook(gateway: Gateway) -> None:
    text = readme_sample_text().replace("тел. 050 123 45 67", "+380 67 765 43 21")
    assert "+380 67 765 43 21" in text
    # Another citizen's mailbox: the same text from the same one would be a duplicate.
    sender = "m.kovalenko@ukr.net"
    _, fwd = send_and_split(gateway, outlook_cp1251("0a1b", text, sender), sender)
    block = contact_block(fwd)
    assert block["Адреса"] == "м. Луцьк, вул. Шевченка, 12, кв. 45  [підпис листа; надійно]"
    assert block["Телефон"] == "+380 67 765 43 21  [підпис листа; надійно]"


def test_a_problem_street_is_not_the_postal_address(gateway: Gateway) -> None:
    body = (
        "Доброго дня!\n\nНа вул. Франка біля школи велика яма, діти ходять по дорозі.\n"
        "Прошу засипати.\n\nЗ повагою,\nОксана Бондар\nтел. 050 123 45 67\n"
    )
    sender = "oksana.bondar@example.org"
    gateway.send(thunderbird("7c9e-franka", body, sender), sender, ["appeals@council.example"])
    (returned,) = gateway.wait_letters(1)
    assert returned.rcpt == sender
    assert "повертається" in returned.subject
    assert "місце проживання (адресу)" in returned.text
    assert "прізвище та ім'я" not in returned.text  # the name was found
