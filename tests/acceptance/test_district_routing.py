"""A letter whose only address is in the signature reaches the district's body: the
running gateway (`appeals run`) finds the district by the council's street register
(settings `[routing] street_register`), then the district's own routing rule applies.
A street named like a district does not make it that district's appeal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import CaptureRelay
from gwtest import free_port
from harness import Gateway, by_rcpt

ZAL_OFFICE = {
    "code": "housing_zal",
    "name": "Житлово-комунальна служба Залізничного району",
    "email": "zhks-zal-staff@council.example",
}
STREETS = """street,kind,aliases,district,from_house,to_house,parity
Городоцька,вулиця,Городокская,Центральний,1,79,
Городоцька,вулиця,Городокская,Залізничний,80,,
Шевченка,проспект,,Центральний,,,
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = Path(tmp_path_factory.mktemp("gw"))
    (tmp / "streets.csv").write_text(STREETS, encoding="utf-8")
    relay = CaptureRelay("127.0.0.1", free_port())
    controller = Controller(relay, hostname=relay.host, port=relay.port)
    controller.start()
    gw = Gateway(
        tmp,
        relay,
        extra_departments=(ZAL_OFFICE,),
        routing={"street_register": str(tmp / "streets.csv")},
    )
    rules = tmp / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "table": [
                    {"topic": "housing", "district": "Залізничний", "department": "housing_zal"}
                ]
            }
        ),
        encoding="utf-8",
    )
    gw.start()
    try:
        gw.cli("routing", "apply", str(rules))
        yield gw
        # The suite's own check (tests/acceptance/conftest.py): every appeal registered
        # carries every characteristic of the Classifier with its source.
        problems = gw.uncharacterised()
        assert not problems, "appeals without a characteristic or its source:\n" + "\n".join(
            problems
        )
    finally:
        gw.stop()
        controller.stop()


OUTLOOK = """From: =?windows-1251?B?zuvl6vHg7eTwIM/l8vDl7eru?= <o.petrenko@ukr.net>
To: appeals@council.example
Subject: =?windows-1251?B?z/Du8OLg6+4g8fLu/+og7u/g6+Xt7f8=?=
Message-ID: <DB9PR01MB0001@EURPRD01.prod.outlook.com>
MIME-Version: 1.0
X-Mailer: Microsoft Outlook 16.0
Content-Type: multipart/alternative; boundary="----=_NextPart_000_0001"

------=_NextPart_000_0001
Content-Type: text/plain; charset="windows-1251"
Content-Transfer-Encoding: 8bit

{plain}
------=_NextPart_000_0001
Content-Type: text/html; charset="windows-1251"
Content-Transfer-Encoding: 8bit

<html><body><p>{html}</p></body></html>
------=_NextPart_000_0001--
"""
BODY = "Добрий день. Прорвало стояк опалення в підвалі нашого будинку, холодні батареї."
SIGNATURE = "З повагою,\nОлександр Петренко\n79000, м. Львів, вул. Городоцька, 120, кв. 5"


def test_address_in_the_signature_routes_to_the_districts_body(gateway: Gateway) -> None:
    plain = f"{BODY}\n\n{SIGNATURE}\n"
    html = f"{BODY}</p><p>{SIGNATURE.replace(chr(10), '<br>')}"
    raw = OUTLOOK.replace("{plain}", plain).replace("{html}", html).encode("windows-1251")
    gateway.send(raw, "o.petrenko@ukr.net", ["appeals@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    fwd = out["zhks-zal-staff@council.example"]
    assert "Прорвало стояк" in fwd.text
    assert "o.petrenko@ukr.net" in out
    shown = json.loads(gateway.cli("appeal", "show", fwd.reg_no))
    routed = [e for e in shown["events"] if e["type"] == "routed"]
    assert routed and routed[0]["data"]["path"] == "district"
    assert routed[0]["data"]["district"] == "Залізничний"


def test_russian_form_and_a_street_named_like_a_district(gateway: Gateway) -> None:
    # Gmail, plain text, the address in Russian: the same district's body.
    gateway.send(
        "From: Ivan Sydorenko <ivan.sydorenko@gmail.com>\nTo: appeals@council.example\n"
        "Subject: Батареи\nMessage-ID: <CAF=1@mail.gmail.com>\nMIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="UTF-8"\nContent-Transfer-Encoding: 8bit\n\n'
        "Здравствуйте. Протекает крыша над квартирой, после дождя мокрый потолок.\n\n"
        "Иван Сидоренко\nг. Львов, ул. Городокская, д. 150, кв. 12\n",
        "ivan.sydorenko@gmail.com",
        ["appeals@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    assert "zhks-zal-staff@council.example" in out, list(out)
    # «просп. Шевченка» is in Центральний, which has no rule of its own: the text decides.
    gateway.send(
        "From: Ганна <hanna.m@ukr.net>\nTo: appeals@council.example\n"
        "Subject: Дах\nMessage-ID: <ukrnet-district-3@ukr.net>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "Протікає дах будинку, після дощу мокрі стелі у квартирах верхнього поверху.\n\n"
        "Ганна Мельник\nм. Львів, просп. Шевченка, 7, кв. 2\n",
        "hanna.m@ukr.net",
        ["appeals@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    fwd = out["zhkg-staff@council.example"]
    shown = json.loads(gateway.cli("appeal", "show", fwd.reg_no))
    routed = next(e for e in shown["events"] if e["type"] == "routed")["data"]
    assert (routed["path"], routed["district"], routed["district_by"]) == (
        "text",
        "Центральний",
        "street",
    )
