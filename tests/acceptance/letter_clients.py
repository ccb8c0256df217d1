"""Letters as mail clients write them (raw RFC 5322 text with LF line ends; the harness
sends CRLF): Gmail web, Outlook on Windows and ukr.net webmail, each with its own MIME
shape and header quirks. A builder takes the Message-ID (without angle brackets), the
sender (display name, address), the recipient, the subject and the plain text."""

from __future__ import annotations

import base64
import quopri
import textwrap
from collections.abc import Callable

Client = Callable[[str, tuple[str, str], str, str, str], str]


def b64(text: str) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(text.encode()).decode(), 76))


def word(text: str) -> str:
    return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="


def gmail(mid: str, sender: tuple[str, str], to: str, subject: str, body: str) -> str:
    # Gmail web: multipart/alternative, UTF-8 bodies in base64, encoded-word headers.
    html = '<div dir="ltr">' + body.replace("\n", "<br>") + "</div>"
    return f"""MIME-Version: 1.0
Date: Tue, 8 Dec 2026 09:41:12 +0200
Message-ID: <{mid}>
Subject: {word(subject)}
From: {word(sender[0])} <{sender[1]}>
To: {to}
Content-Type: multipart/alternative; boundary="000000000000c1d2e3f4a5b6c7d8"

--000000000000c1d2e3f4a5b6c7d8
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(body)}

--000000000000c1d2e3f4a5b6c7d8
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64(html)}

--000000000000c1d2e3f4a5b6c7d8--
"""


def outlook(mid: str, sender: tuple[str, str], to: str, subject: str, body: str) -> str:
    # Outlook on Windows, a new message: Thread-Index, Content-Language, alternatives in
    # quoted-printable, a display name in an encoded word.
    plain = quopri.encodestring(body.encode()).decode("ascii")
    html = quopri.encodestring(
        ("<html><body><p>" + body.replace("\n", "<br>\n") + "</p></body></html>").encode()
    ).decode("ascii")
    return f"""From: {word(sender[0])} <{sender[1]}>
To: {to}
Subject: {word(subject)}
Thread-Topic: {word(subject)}
Thread-Index: AdtJ0x2mW4kLRkKq3vR1sT0u7A==
Date: Tue, 8 Dec 2026 07:52:40 +0000
Message-ID: <{mid}>
Accept-Language: uk-UA, en-US
Content-Language: uk-UA
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
MIME-Version: 1.0
Content-Type: multipart/alternative;
\tboundary="_000_VI1PR0801MB2F3A4B5C6D7E8F9A0B1C2D3EVI1PR0801MB2F3Aeurp_"

--_000_VI1PR0801MB2F3A4B5C6D7E8F9A0B1C2D3EVI1PR0801MB2F3Aeurp_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

{plain}
--_000_VI1PR0801MB2F3A4B5C6D7E8F9A0B1C2D3EVI1PR0801MB2F3Aeurp_
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

{html}
--_000_VI1PR0801MB2F3A4B5C6D7E8F9A0B1C2D3EVI1PR0801MB2F3Aeurp_--
"""


def ukrnet(mid: str, sender: tuple[str, str], to: str, subject: str, body: str) -> str:
    # ukr.net webmail: windows-1251 is long gone, UTF-8 in quoted-printable, X-Mailer FREEMAIL.
    text = quopri.encodestring(body.encode()).decode("ascii")
    return f"""Date: Tue, 08 Dec 2026 11:02:33 +0200
From: {word(sender[0])} <{sender[1]}>
To: {to}
Subject: {word(subject)}
Message-ID: <{mid}>
X-Mailer: FREEMAIL
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

{text}
"""
