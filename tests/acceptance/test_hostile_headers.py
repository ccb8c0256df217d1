"""Header injection through `appeals run`: a display name or subject that spells CR LF,
",", "<" or a Bcc (raw or in an encoded word, as a hostile client writes it) never adds a
recipient or a header to anything the gateway sends: the acknowledgement goes to the real
sender only, the forward to the department only, and each subject is one line."""

from __future__ import annotations

import time

import pytest
from harness import Gateway, by_rcpt

BODY = (
    "Прошу відремонтувати дах будинку, тече під час дощу.\n\n"
    "{name}\nм. Луцьк, вул. Винниченка, 12, кв. 4\nтел. 067 123 45 67\n"
)


@pytest.mark.parametrize(
    ("from_header", "subject_header", "sender", "name"),
    [
        pytest.param(
            "=?utf-8?q?=D0=86=D0=B2=D0=B0=D0=BD_=D0=A1=D0=B0=D0=B2=D1=87=D1=83=D0=BA=0D=0ABcc:_x1@evil.example?= <ivan.savchuk@ukr.net>",
            "=?utf-8?q?=D0=94=D0=B0=D1=85=0D=0ABcc:_y1@evil.example?=",
            "ivan.savchuk@ukr.net",
            "Іван Савчук",
            id="encoded-crlf-bcc",
        ),
        pytest.param(
            "=?utf-8?q?x2@evil.example=2C?= <petro.melnyk@gmail.com>",
            "=?utf-8?b?0JTQsNGFDQpUbzogeTJAZXZpbC5leGFtcGxl?=",
            "petro.melnyk@gmail.com",
            "Петро Мельник",
            id="encoded-comma-and-to",
        ),
        pytest.param(
            "=?utf-8?q?=D0=9E=D0=BB=D0=B5=D0=BD=D0=B0_=3Cx3@evil.example=3E?= <olena.bondar@i.ua>",
            "Дах\r\n =?utf-8?q?=0ABcc:_y3@evil.example?=",
            "olena.bondar@i.ua",
            "Олена Бондар",
            id="encoded-angle",
        ),
        pytest.param(
            '"Марія Ткач\r\n Bcc: x4@evil.example" <maria.tkach@ukr.net>',
            "Дах\r\n Bcc: y4@evil.example",
            "maria.tkach@ukr.net",
            "Марія Ткач",
            id="folded-quoted",
        ),
    ],
)
def test_t17_injected_names_and_subjects_add_no_recipient_or_header(
    gateway: Gateway, from_header: str, subject_header: str, sender: str, name: str
) -> None:
    raw = (
        f"From: {from_header}\r\nTo: zhkg@council.example\r\nSubject: {subject_header}\r\n"
        f"Message-ID: <inject-{time.monotonic_ns()}@mail.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + BODY.format(name=name)
    )
    gateway.send(raw.encode("utf-8"), sender, ["zhkg@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    assert set(out) == {sender, "zhkg-staff@council.example"}
    ack, forward = out[sender], out["zhkg-staff@council.example"]
    for letter in (ack, forward):
        assert letter.msg["Bcc"] is None and letter.msg["Cc"] is None
        assert letter.msg.get_all("To") == [letter.rcpt]
        assert "\n" not in letter.subject and "\r" not in letter.subject
        head = letter.raw.split(b"\r\n\r\n", 1)[0]
        assert not any(
            line.lower().startswith((b"bcc:", b"cc:")) for line in head.split(b"\r\n")
        ), head
    time.sleep(1.0)  # nothing else goes out later, to anyone
    assert not [lt.rcpt for lt in gateway.letters() if "evil.example" in lt.rcpt]
