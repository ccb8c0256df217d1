"""The IMAP path through the running gateway: a council whose citizens write to a mailbox
on its own mail server (Dovecot here, as in production) instead of the gateway's SMTP
listener. `appeals run` polls the mailbox, stores the letter, flags it (never `\\Seen`:
people read these mailboxes too) and the letters come out as for SMTP intake."""

from __future__ import annotations

import base64
import textwrap
import uuid
from collections.abc import Iterator
from email.header import Header
from pathlib import Path
from typing import Any

import pytest
from gwtest import wait_for
from harness import Gateway, by_rcpt, running_gateway

PW_ENV = "APPEALS_ACCEPTANCE_IMAP_PW"
# A scanned page: what a flatbed scanner's "scan to PDF" writes (an image in a PDF).
SCANNED_PDF = (
    b"%PDF-1.3\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
    b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
    b"/Resources << /XObject << /Im0 5 0 R >> >> >>\nendobj\n"
    b"4 0 obj\n<< /Length 31 >>\nstream\nq 595 0 0 842 0 0 cm /Im0 Do Q\nendstream\nendobj\n"
    b"5 0 obj\n<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
    b"/BitsPerComponent 8 /Filter /DCTDecode /Length 64 >>\nstream\n"
    + bytes(range(64))
    + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R /Size 6 >>\n%%EOF\n"
)


@pytest.fixture(scope="module")
def imap_user(dovecot: Any) -> str:
    return f"zvernennia{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, dovecot: Any, imap_user: str
) -> Iterator[Gateway]:
    mailbox = {
        "name": "zvernennia",
        "host": dovecot.host,
        "port": dovecot.port,
        "tls": False,
        "username": imap_user,
        "password_env": PW_ENV,
        "folder": "INBOX",
        "after": "flag",
        "poll_seconds": 1,
        "idle": True,
    }
    with pytest.MonkeyPatch.context() as mp:
        # The gateway process takes the password from its environment, as in production.
        mp.setenv(PW_ENV, dovecot.password)
        with running_gateway(
            Path(tmp_path_factory.mktemp("imap")), imap={"mailboxes": [mailbox]}
        ) as gw:
            yield gw


def b64(data: bytes) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))


def test_a_thunderbird_letter_with_a_scan_fetched_from_dovecot(
    gateway: Gateway, dovecot: Any, imap_user: str
) -> None:
    citizen = "bohdan.kravets@i.ua"
    text = (
        "Добрий день.\n\nПрошу перевірити нарахування за опалення: у грудні рахунок утричі "
        "більший, ніж торік, хоча батареї ледь теплі. Скан квитанції додаю.\n\n"
        "Богдан Кравець\nм. Луцьк, вул. Ковельська, 61, кв. 3\nтел. 067 555 12 34\n"
    )
    name = "скан_квитанції.pdf"
    boundary = "------------Kx3mQ7vB0dT2rY9pL5wN8sFh"
    raw = f"""Content-Type: multipart/mixed; boundary="{boundary}"
Message-ID: <b1f0c9e2-7a4d-4e18-9b6a-3d5e8f2a1c07@i.ua>
Date: Fri, 4 Dec 2026 08:15:09 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: uk
To: zvernennia@council.example
From: {Header("Богдан Кравець", "utf-8").encode()} <{citizen}>
Subject: {Header("Нарахування за опалення", "utf-8").encode()}

This is a multi-part message in MIME format.
--{boundary}
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{text}
--{boundary}
Content-Type: application/pdf; name*=UTF-8''%D1%81%D0%BA%D0%B0%D0%BD_%D0%BA%D0%B2%D0%B8%D1%82%D0%B0%D0%BD%D1%86%D1%96%D1%97.pdf
Content-Disposition: attachment; filename*=UTF-8''%D1%81%D0%BA%D0%B0%D0%BD_%D0%BA%D0%B2%D0%B8%D1%82%D0%B0%D0%BD%D1%86%D1%96%D1%97.pdf
Content-Transfer-Encoding: base64

{b64(SCANNED_PDF)}

--{boundary}--
"""
    # The council's MTA delivered it into the mailbox (CRLF, as IMAP servers keep it).
    uid = dovecot.deliver(imap_user, raw.replace("\n", "\r\n").encode("utf-8"))
    out = by_rcpt(gateway.wait_letters(2, timeout=60))
    ack, fwd = out[citizen], out["zvernennia-staff@council.example"]
    assert ack.kind == "citizen/ack" and ack.reg_no.startswith("A-")
    assert fwd.kind == "department/assigned" and ack.reg_no in fwd.subject
    assert "нарахування за опалення" in fwd.text.lower()
    assert fwd.attachments == {name: SCANNED_PDF}  # byte-identical, the name as written
    # Flagged in the mailbox once stored, and never marked read for the people who use it.
    flags = wait_for(
        lambda: (f := dovecot.uids(imap_user).get(uid)) and b"$AppealGateway" in f and f
    )
    assert b"\\Seen" not in flags
    status = gateway.cli("status")
    assert "zvernennia" in status
