"""Letters as the mail clients people use put them on the wire, for the acceptance suite.

Each builder returns the raw message (LF line ends; `Gateway.send` makes them CRLF) in the
shape its client produces: the headers it writes (X-Mailer / User-Agent, Thread-Index,
X-MS-*), its boundaries, its Content-Transfer-Encoding, its multipart structure
(alternative, related, mixed, signed) and the way it quotes the letter it answers.
"""

from __future__ import annotations

import base64
import quopri
import textwrap
from collections.abc import Sequence
from email.header import Header
from typing import Any

File = tuple[str, str, bytes]  # file name, content type, bytes


def enc(value: str, charset: str = "utf-8") -> str:
    """A header value as a client writes it (RFC 2047 when not ASCII)."""
    return value if value.isascii() else Header(value, charset).encode()


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return "\n".join(textwrap.wrap(base64.b64encode(raw).decode(), 76))


def qp(text: str, charset: str = "utf-8") -> str:
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def _files(boundary: str, files: Sequence[File], rfc2231: bool = False) -> str:
    out = ""
    for name, ctype, data in files:
        if rfc2231:
            from urllib.parse import quote

            disp = f"attachment; filename*=UTF-8''{quote(name)}"
            ctype_line = f"{ctype}; name*=UTF-8''{quote(name)}"
        else:
            disp = f'attachment;\n\tfilename="{enc(name)}"'
            ctype_line = f'{ctype};\n\tname="{enc(name)}"'
        out += (
            f"\n--{boundary}\nContent-Type: {ctype_line}\n"
            f"Content-Transfer-Encoding: base64\nContent-Disposition: {disp}\n\n{b64(data)}\n"
        )
    return out


def _alternative(
    boundary: str, plain: str, html: str, *, charset: str = "utf-8", cte: str = "base64"
) -> str:
    """A multipart/alternative body: the plain part, then the HTML, in one encoding."""

    def body(text: str) -> str:
        return b64(text) + "\n" if cte == "base64" else qp(text)

    return (
        "".join(
            f'--{boundary}\nContent-Type: text/{sub}; charset="{charset}"\n'
            f"Content-Transfer-Encoding: {cte}\n\n{body(text)}\n"
            for sub, text in (("plain", plain), ("html", html))
        )
        + f"--{boundary}--\n"
    )


def outlook_desktop(
    sender: str, name: str, to: str, subject: str, text: str, n: int, files: Sequence[File] = ()
) -> str:
    """Outlook 2016 on Windows: multipart/alternative (mixed around it with files), the
    plain part quoted-printable, the HTML Word's (MsoNormal paragraphs, o:p)."""
    paragraphs = "".join(
        f"<p class=MsoNormal>{p.replace(chr(10), '<br>')}<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        for p in text.split("\n\n")
    )
    html = (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:'
        'office:office" xmlns:w="urn:schemas-microsoft-com:office:word"><head>'
        '<meta http-equiv=Content-Type content="text/html; charset=utf-8">'
        '<meta name=Generator content="Microsoft Word 15 (filtered medium)">'
        '<style><!--p.MsoNormal{margin:0cm;font-size:11.0pt;font-family:"Calibri",'
        'sans-serif;}--></style></head><body lang=UK link="#0563C1"><div class=WordSection1>'
        f"{paragraphs}</div></body></html>"
    )
    alt = f"----=_NextPart_001_{n:04X}_01DB4A1C.6B1E9E70"
    mixed = f"----=_NextPart_000_{n:04X}_01DB4A1C.6B1E9E70"
    alternative = f"""--{alt}
Content-Type: text/plain;
\tcharset="utf-8"
Content-Transfer-Encoding: quoted-printable

{qp(text.replace(chr(10), chr(13) + chr(10)))}
--{alt}
Content-Type: text/html;
\tcharset="utf-8"
Content-Transfer-Encoding: quoted-printable

{qp(html)}
--{alt}--
"""
    head = f"""From: {enc(name)} <{sender}>
To: <{to}>
Subject: {enc(subject)}
Date: Thu, 3 Dec 2026 11:02:17 +0200
Message-ID: <00{n:02d}01db4a0b$a6c3d470$f44b7d50$@{sender.split("@")[1]}>
MIME-Version: 1.0
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AdtKC6Zw8x1bT7n0QkK3m0u5Yd2Ihw==
Content-Language: uk
"""
    if not files:
        return (
            head + f'Content-Type: multipart/alternative;\n\tboundary="{alt}"\n\n'
            "This is a multipart message in MIME format.\n\n" + alternative
        )
    return (
        head + f'Content-Type: multipart/mixed;\n\tboundary="{mixed}"\n\n'
        f"This is a multipart message in MIME format.\n\n--{mixed}\n"
        f'Content-Type: multipart/alternative;\n\tboundary="{alt}"\n\n\n'
        + alternative
        + _files(mixed, files)
        + f"\n--{mixed}--\n"
    )


def owa_reply(to: Any, sender: str, name: str, answer: str, n: int = 0) -> str:
    """Outlook on the web (Exchange Online): plain and HTML alternatives in base64, the
    answered letter under `divRplyFwdMsg`, Thread-Topic/Index and X-MS-Exchange headers."""
    plain = (
        f"{answer}\n\n{name}\n\n________________________________\n"
        "Від: Звернення громадян <appeals@council.example>\n"
        "Надіслано: 3 грудня 2026 р. 11:05\n"
        f"Тема: {to.subject}\n\n{to.text}"
    )
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} '
        '</style></head><body dir="ltr"><div class="elementToProof" style="font-family: '
        f'Aptos, sans-serif; font-size: 12pt;">{answer.replace(chr(10), "<br>")}</div>'
        f'<div class="elementToProof">{name}</div><div id="appendonsend"></div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" '
        'dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt"><b>Від:</b> '
        "Звернення громадян &lt;appeals@council.example&gt;</font></div>"
        f"<div>{to.text}</div></body></html>"
    )
    boundary = f"_000_DB9PR03MB7324A1B2C3D4E5F6A7B8C9D0E1F2A3B{n}DB9PR03MB7324eurp_"
    return f"""From: {enc(name)} <{sender}>
To: "{to.msg["Reply-To"]}" <{to.msg["Reply-To"]}>
Subject: {enc("RE: " + to.subject)}
Thread-Topic: {enc(to.subject)}
Thread-Index: AQHbRa1Yk0v3m2ZQ8kK9c1Lr0mE7Aw==
Date: Thu, 3 Dec 2026 09:31:0{n % 10} +0000
Message-ID: <DB9PR03MB7324B8F0D1E2A3C4B5D6E7F8A9B0C{n:03d}@DB9PR03MB7324.eurprd03.prod.outlook.com>
References: {to.msg["Message-ID"]}
In-Reply-To: {to.msg["Message-ID"]}
Accept-Language: uk-UA, en-US
Content-Language: uk-UA
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
msip_labels:
x-ms-exchange-messagesentrepresentingtype: 1
x-ms-publictraffictype: Email
x-ms-traffictypediagnostic: DB9PR03MB7324:EE_|AS8PR03MB6838:EE_
x-originating-ip: [193.93.216.40]
Content-Type: multipart/alternative;
\tboundary="{boundary}"
MIME-Version: 1.0

{_alternative(boundary, plain, html)}"""


def owa_related(
    sender: str, name: str, to: str, subject: str, text: str, image: bytes, n: int
) -> str:
    """Outlook on the web with a picture pasted into the text: multipart/related, the HTML
    pointing at the image by `cid:`, the image inline with its Content-ID."""
    cid = f"image001.png@01DB4A2F.{n:08X}"
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '</head><body dir="ltr"><div class="elementToProof" style="font-family: Aptos, '
        f'sans-serif; font-size: 12pt;">{text.replace(chr(10), "<br>")}</div>'
        f'<div><img size="{len(image)}" contenttype="image/png" style="max-width:100%" '
        f'src="cid:{cid}"></div></body></html>'
    )
    rel = f"_004_AS8PR03MB683812345{n}AS8PR03MB6838eurp_"
    alt = f"_000_AS8PR03MB683812345{n}AS8PR03MB6838eurp_"
    return f"""From: {enc(name)} <{sender}>
To: "{to}" <{to}>
Subject: {enc(subject)}
Thread-Topic: {enc(subject)}
Thread-Index: AQHbRb7Mq1x2Yk3lRUm7V9k0bS1uZQ==
Date: Thu, 3 Dec 2026 10:14:2{n % 10} +0000
Message-ID: <AS8PR03MB683812345{n:04d}@AS8PR03MB6838.eurprd03.prod.outlook.com>
Accept-Language: uk-UA, en-US
Content-Language: uk-UA
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator:
x-ms-publictraffictype: Email
Content-Type: multipart/related;
\tboundary="{rel}";
\ttype="multipart/alternative"
MIME-Version: 1.0

--{rel}
Content-Type: multipart/alternative;
\tboundary="{alt}"

--{alt}
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(text + chr(10) + "[cid:" + cid + "]" + chr(10))}

--{alt}
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

{b64(html)}

--{alt}--

--{rel}
Content-Type: image/png; name="image001.png"
Content-Description: image001.png
Content-Disposition: inline; filename="image001.png"; size={len(image)};
\tcreation-date="Thu, 03 Dec 2026 10:14:20 GMT";
\tmodification-date="Thu, 03 Dec 2026 10:14:20 GMT"
Content-ID: <{cid}>
Content-Transfer-Encoding: base64

{b64(image)}

--{rel}--
"""


def apple_mail_reply(to: Any, sender: str, name: str, text: str, n: int = 0) -> str:
    """Apple Mail on macOS: multipart/alternative with an `Apple-Mail=_` boundary, the
    plain part quoted-printable, the letter quoted with "> " under "... написав(-ла):",
    the HTML in a <blockquote type="cite">."""
    quoted = "\n".join(("> " + ln).rstrip() for ln in to.text.splitlines())
    plain = (
        f"{text}\n\n{name}\n\n> 3 груд. 2026 р. о 11:02 Звернення громадян "
        f"<appeals@council.example> написав(-ла):\n> \n{quoted}\n"
    )
    html = (
        '<html aria-label="message body"><head><meta http-equiv="content-type" '
        'content="text/html; charset=utf-8"></head><body style="overflow-wrap: break-word; '
        '-webkit-nbsp-mode: space; line-break: after-white-space;">'
        f"{text.replace(chr(10), '<br>')}<div><br></div><div>{name}</div><div><br>"
        '<blockquote type="cite"><div>3 груд. 2026 р. о 11:02 Звернення громадян '
        "&lt;appeals@council.example&gt; написав(-ла):</div><br><div>"
        f"{to.text.replace(chr(10), '<br>')}</div></blockquote></div></body></html>"
    )
    boundary = f"Apple-Mail=_6F1C2B3A-4D5E-4F60-8A7B-9C0D1E2F3A{n:02d}"
    return f"""From: {enc(name)} <{sender}>
Content-Type: multipart/alternative;
\tboundary="{boundary}"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.300.87\\))
Subject: {enc("Re: " + to.subject)}
Date: Thu, 3 Dec 2026 13:44:5{n % 10} +0200
In-Reply-To: {to.msg["Message-ID"]}
References: {to.msg["Message-ID"]}
To: {enc("Звернення громадян")} <{to.msg["Reply-To"]}>
Message-Id: <8E2B7C1D-3F4A-4B5C-9D6E-7F8A9B0C1D{n:02d}@icloud.com>
X-Mailer: Apple Mail (2.3826.300.87)


--{boundary}
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
\tcharset=utf-8

{qp(plain)}

--{boundary}
Content-Transfer-Encoding: quoted-printable
Content-Type: text/html;
\tcharset=utf-8

{qp(html)}
--{boundary}--
"""


def ios_mail_reply(to: Any, sender: str, name: str, text: str, n: int = 0) -> str:
    """iOS Mail on an iPhone: one text/plain part, quoted-printable, "Надіслано з iPhone",
    the letter quoted under a "... пише:" line."""
    quoted = "\n".join(("> " + ln).rstrip() for ln in to.text.splitlines())
    plain = (
        f"{text}\n\nНадіслано з iPhone\n\n> 3 груд. 2026 р. о 12:10 Звернення громадян "
        f"<appeals@council.example> пише:\n> \n{quoted}\n"
    )
    return f"""Content-Type: text/plain;
\tcharset=utf-8
Content-Transfer-Encoding: quoted-printable
From: {enc(name)} <{sender}>
Mime-Version: 1.0 (1.0)
Date: Thu, 3 Dec 2026 14:02:1{n % 10} +0200
Subject: {enc("Re: " + to.subject)}
Message-Id: <4C3B2A19-0F8E-4D7C-B6A5-94837261504{n % 10}@icloud.com>
References: {to.msg["Message-ID"]}
In-Reply-To: {to.msg["Message-ID"]}
To: {to.msg["Reply-To"]}
X-Mailer: iPhone Mail (22B91)

{qp(plain)}
"""


def gmail_android_reply(to: Any, sender: str, name: str, text: str, n: int = 0) -> str:
    """Gmail for Android: multipart/alternative, `<div dir="auto">`, the letter in a
    `gmail_quote` block under "... користувач ... пише:"."""
    quoted = "\n".join(("> " + ln).rstrip() for ln in to.text.splitlines())
    plain = (
        f"{text}\n\nчт, 3 груд. 2026 р., 12:00 користувач Звернення громадян <"
        f"appeals@council.example> пише:\n\n{quoted}\n"
    )
    html = (
        f'<div dir="auto">{text.replace(chr(10), "<br>")}</div><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">чт, 3 груд. 2026 р., 12:00 користувач Звернення '
        "громадян &lt;appeals@council.example&gt; пише:<br></div><blockquote "
        'class="gmail_quote" style="margin:0 0 0 .8ex;border-left:1px #ccc solid;'
        f'padding-left:1ex">{to.text.replace(chr(10), "<br>")}</blockquote></div>'
    )
    boundary = f"000000000000b7c1e50628a4d3f{n % 10}"
    return f"""MIME-Version: 1.0
From: {enc(name)} <{sender}>
Date: Thu, 3 Dec 2026 12:40:1{n % 10} +0200
Message-ID: <CAH7kQz0aJm2X1r9Lw8Tn5bP4cV6dF3sG7hK2jN8mQ1pR5tU9v{n}@mail.gmail.com>
Subject: {enc("Re: " + to.subject)}
To: {to.msg["Reply-To"]}
In-Reply-To: {to.msg["Message-ID"]}
References: {to.msg["Message-ID"]}
Content-Type: multipart/alternative; boundary="{boundary}"

{_alternative(boundary, plain, html, charset="UTF-8")}"""


def gmail_web(
    sender: str, name: str, to: str, subject: str, text: str, mid: str, files: Sequence[File] = ()
) -> str:
    """Gmail in a browser: `<div dir="ltr">`, base64 bodies, files with RFC 2231 names."""
    html = '<div dir="ltr">' + text.replace("\n", "<br>") + "</div>"
    alt = "0000000000009a8b7c6d5e4f3a2" + mid[-1]
    mixed = "0000000000009a8b7c6d5e4f3a3" + mid[-1]
    alternative = f"""{_alternative(alt, text, html, charset="UTF-8")}"""
    head = f"""MIME-Version: 1.0
Date: Thu, 3 Dec 2026 09:41:12 +0200
Message-ID: <{mid}@mail.gmail.com>
Subject: {enc(subject)}
From: {enc(name)} <{sender}>
To: {to}
"""
    if not files:
        return head + f'Content-Type: multipart/alternative; boundary="{alt}"\n\n' + alternative
    return (
        head + f'Content-Type: multipart/mixed; boundary="{mixed}"\n\n--{mixed}\n'
        f'Content-Type: multipart/alternative; boundary="{alt}"\n\n'
        + alternative
        + _files(mixed, files, rfc2231=True)
        + f"\n--{mixed}--\n"
    )


def thunderbird_reply(to: Any, sender: str, name: str, text: str, n: int = 0) -> str:
    """Thunderbird: format=flowed plain text, an attribution line, "> " quotes."""
    quoted = "\n".join(("> " + ln).rstrip() for ln in to.text.splitlines())
    return f"""Message-ID: <5c2e1a47-91b3-4c0e-8f6d-2a7b9e3d1f4{n % 10}@{sender.split("@")[1]}>
Date: Thu, 3 Dec 2026 12:20:4{n % 10} +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: {enc("Re: " + to.subject)}
To: {to.msg["Reply-To"]}
References: {to.msg["Message-ID"]}
In-Reply-To: {to.msg["Message-ID"]}
Content-Language: uk
From: {enc(name)} <{sender}>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{text}

03.12.2026 11:02, Звернення громадян пише:
{quoted}
"""


def smime_outlook_reply(to: Any, sender: str, name: str, text: str, pdf: File, n: int = 0) -> str:
    """Outlook 2016 sending an S/MIME-signed answer (a council's qualified certificate):
    multipart/signed around the multipart/mixed letter, the detached signature last."""
    outer = f"----=_NextPart_000_00{n:02d}_01DB4A2E.5B9E6A10"
    inner = f"----=_NextPart_001_00{n:02d}_01DB4A2E.5B9E6A10"
    body = (
        f"{text}\n\nЗ повагою,\n{name}\n\n-----Original Message-----\n"
        "From: Звернення громадян <appeals@council.example>\n"
        f"Sent: Thursday, December 3, 2026 11:05 AM\nSubject: {to.subject}\n\n{to.text}\n"
    )
    # A DER PKCS#7 SignedData blob in its usual base64 wrapping (the content is opaque to
    # the gateway: it is neither checked nor needed).
    signature = bytes.fromhex(
        "3080 0609 2a864886f70d010702 a080 3080 020101 310f 300d 0609 608648016503040201 0500"
    ) + bytes(range(200))
    return f"""From: {enc(name)} <{sender}>
To: <{to.msg["Reply-To"]}>
References: {to.msg["Message-ID"]}
In-Reply-To: {to.msg["Message-ID"]}
Subject: {enc("RE: " + to.subject)}
Date: Thu, 3 Dec 2026 13:30:1{n % 10} +0200
Message-ID: <00{n:02d}01db4a3c$9e8d7c60$db7a6d20$@council.example>
MIME-Version: 1.0
Content-Type: multipart/signed;
\tprotocol="application/x-pkcs7-signature";
\tmicalg=SHA256;
\tboundary="{outer}"
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AQHbRa1Yk0v3m2ZQ8kK9c1Lr0mE7AwABtLcQ
Content-Language: uk

This is a multipart message in MIME format.

--{outer}
Content-Type: multipart/mixed;
\tboundary="{inner}"


--{inner}
Content-Type: text/plain;
\tcharset="utf-8"
Content-Transfer-Encoding: quoted-printable

{qp(body)}
{_files(inner, [pdf])}
--{inner}--

--{outer}
Content-Type: application/pkcs7-signature;
\tname="smime.p7s"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
\tfilename="smime.p7s"

{b64(signature)}

--{outer}--
"""


def koi8u_the_bat(sender: str, name: str, to: str, subject: str, text: str, n: int) -> bytes:
    """The Bat! on a Ukrainian Windows set to KOI8-U: 8bit body, Q-encoded KOI8-U headers."""
    head = (
        f"Date: Thu, 3 Dec 2026 10:0{n % 10}:55 +0200\n"
        f"From: {Header(name, 'koi8-u').encode()} <{sender}>\n"
        f"X-Mailer: The Bat! (v10.4.2) Professional\n"
        "Reply-To: " + f"{Header(name, 'koi8-u').encode()} <{sender}>\n"
        "X-Priority: 3 (Normal)\n"
        f"Message-ID: <{n}8392017.20261203100455@{sender.split('@')[1]}>\n"
        f"To: {to}\n"
        f"Subject: {Header(subject, 'koi8-u').encode()}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=koi8-u\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    )
    return head.encode("ascii") + text.encode("koi8-u")


def ukrnet_webmail(sender: str, to: str, subject: str, text: str, n: int, name: str = "") -> str:
    """FREEMAIL (ukr.net): HTML with a plain alternative, both quoted-printable UTF-8."""
    html = "<div>" + text.replace("\n", "<br>") + "</div>"
    boundary = f"----=_Part_{n}1785_1920337312.1733221{n:03d}"
    frm = f"{enc(name)} <{sender}>" if name else sender
    return f"""Date: Thu, 03 Dec 2026 11:0{n % 10}:33 +0200
From: {frm}
To: {to}
Subject: {enc(subject)}
Message-ID: <1733221{n:03d}.{n}8213.{n}63@frv{40 + n}.fwdcdn.com>
X-Mailer: FREEMAIL
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="{boundary}"

{_alternative(boundary, text, html, cte="quoted-printable")}"""


def ukrnet_reply(to: Any, sender: str, text: str, n: int, name: str = "") -> str:
    """A reply from ukr.net webmail: the answer on top, "--- Оригінальне повідомлення ---"
    and the letter below, threaded by In-Reply-To."""
    full = (
        f"{text}\n\n\n--- Оригінальне повідомлення ---\n"
        f"Від кого: Звернення громадян <appeals@council.example>\n"
        f"Дата: 3 грудня 2026, 11:20:05\n\n{to.text}\n"
    )
    raw = ukrnet_webmail(sender, str(to.msg["Reply-To"]), "Re: " + to.subject, full, n, name)
    return raw.replace(
        "MIME-Version: 1.0\n",
        f"In-Reply-To: {to.msg['Message-ID']}\nReferences: {to.msg['Message-ID']}\n"
        "MIME-Version: 1.0\n",
        1,
    )
