"""Hostile mail through the running gateway (`appeals run`, real SMTP): nothing one
message does holds up the others.

The letters that once froze the process (1,000 empty lines in a Thunderbird-style
appeal, a bounce with a long run of white space before its marker line) are handled at
the pace of any letter; messages over the `[limits]` (deep nesting, too many parts, a
huge header block) are held with the limit's reason; an ordinary Gmail letter sent right
after all of them is acknowledged and forwarded as usual.
"""

from __future__ import annotations

import json
import time

import adversarial_mail as mail
from harness import Gateway, by_rcpt

CITIZEN = "petro.ivanenko@ukr.net"


def _settled(gateway: Gateway, timeout: float = 90.0) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = json.loads(gateway.cli("status", "--json"))
        if status["queue"]["unprocessed"] == 0:
            return status  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise AssertionError("the gateway did not settle: a message held up the queue")


GMAIL = """From: Olena Koval <olena.koval.lutsk@gmail.com>
To: appeals@council.example
Subject: =?UTF-8?B?0JLRltC00YHRg9GC0L3RltGB0YLRjCDQvtGB0LLRltGC0LvQtdC90L3Rjw==?=
Date: Thu, 3 Dec 2026 11:02:13 +0200
Message-ID: <CAF8xq=Zb4m1kq@mail.gmail.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

=D0=94=D0=BE=D0=B1=D1=80=D0=BE=D0=B3=D0=BE =D0=B4=D0=BD=D1=8F! =D0=9D=D0=B0 =
=D0=B2=D1=83=D0=BB=D0=B8=D1=86=D1=96 =D0=92=D0=B8=D0=BD=D0=BD=D0=B8=D1=87=D0=
=B5=D0=BD=D0=BA=D0=B0 =D0=BD=D0=B5 =D0=BF=D1=80=D0=B0=D1=86=D1=8E=D1=94 =D0=
=B2=D1=83=D0=BB=D0=B8=D1=87=D0=BD=D0=B5 =D0=BE=D1=81=D0=B2=D1=96=D1=82=D0=BB=
=D0=B5=D0=BD=D0=BD=D1=8F =D0=B2=D0=B6=D0=B5 =D1=82=D0=B8=D0=B6=D0=B4=D0=B5=
=D0=BD=D1=8C. =D0=9F=D1=80=D0=BE=D1=88=D1=83 =D0=BF=D0=BE=D0=BB=D0=B0=D0=B3=
=D0=BE=D0=B4=D0=B8=D1=82=D0=B8.

=D0=9E=D0=BB=D0=B5=D0=BD=D0=B0 =D0=9A=D0=BE=D0=B2=D0=B0=D0=BB=D1=8C
=D0=BC. =D0=9B=D1=83=D1=86=D1=8C=D0=BA, =D0=B2=D1=83=D0=BB. =D0=92=D0=B8=D0=
=BD=D0=BD=D0=B8=D1=87=D0=B5=D0=BD=D0=BA=D0=B0, 7, =D0=BA=D0=B2. 12

--000000000000a1b2c3d4e5f60718
Content-Type: text/html; charset="UTF-8"

<div dir=3D"ltr">Olena</div>

--000000000000a1b2c3d4e5f60718--
"""


def test_t19_hostile_letters_do_not_hold_up_an_ordinary_one(gateway: Gateway) -> None:
    started = time.monotonic()
    gateway.send(mail.empty_lines(1000), CITIZEN, ["appeals@council.example"])
    gateway.send(
        mail.whitespace_bounce(5000), "", ["appeals@council.example"]
    )  # null reverse-path, as bounces come
    held = {
        "too-deep": mail.deep_nesting(30),
        "too-many-parts": mail.many_parts(800),
        "headers-too-large": mail.huge_header(400_000),
    }
    for raw in held.values():
        gateway.send(raw, CITIZEN, ["appeals@council.example"])
    gateway.send(GMAIL, "olena.koval.lutsk@gmail.com", ["appeals@council.example"])
    # Acknowledgement and forward for the empty-lines appeal and for the Gmail letter.
    letters = by_rcpt(gateway.wait_letters(4, timeout=90))
    status = _settled(gateway)
    assert time.monotonic() - started < 90
    assert "olena.koval.lutsk@gmail.com" in letters and CITIZEN in letters
    assert letters["olena.koval.lutsk@gmail.com"].reg_no
    for reason in held:
        assert status["held_by_reason"].get(reason) == 1, status["held_by_reason"]
    assert not status["held_by_reason"].get("crash")
    assert not status["held_by_reason"].get("unparseable")
