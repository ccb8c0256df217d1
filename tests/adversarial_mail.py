"""Hostile and ordinary messages for the bounded-work tests and bench/adversarial.py.

Each builder returns the bytes a sender would put on the wire (CRLF line ends). The
hostile ones are the shapes that once cost minutes of CPU or gigabytes of memory, or
that a parser meets at its edges: long runs of white space, blank lines, dashes, deep
multipart nesting, huge headers, many parts, long base64 lines, many encoded words.
"""

from __future__ import annotations

import base64
import random

CRLF = b"\r\n"


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _head(subject: str, extra: str = "", mid: str = "x") -> str:
    return (
        "From: Петро Іваненко <petro.ivanenko@ukr.net>\n"
        "To: appeals@council.example\n"
        f"Subject: {subject}\n"
        "Date: Thu, 3 Dec 2026 10:00:00 +0200\n"
        f"Message-ID: <{mid}@ukr.net>\n"
        "MIME-Version: 1.0\n" + extra
    )


APPEAL = (
    "Доброго дня!\n\n"
    "Прошу відремонтувати дорожнє покриття біля будинку на вулиці Шевченка, 14. "
    "Ями на проїжджій частині глибиною до 20 см, після дощу їх не видно, "
    "минулого тижня там пошкодили два автомобілі.\n\n"
    "З повагою,\nПетро Іваненко\nм. Луцьк, вул. Шевченка, 14, кв. 5\nтел. 050 123 45 67\n"
)


def ordinary(n: int = 0, seed: int = 0) -> bytes:
    """An ordinary appeal, as a webmail client sends it (plain + HTML, UTF-8)."""
    rnd = random.Random(seed * 1000 + n)
    street = rnd.choice(["Шевченка", "Лесі Українки", "Винниченка", "Кафедральна"])
    text = APPEAL.replace("Шевченка", street).replace("14", str(rnd.randint(1, 99)))
    html = "<p>" + text.replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>"
    b = f"----=_Part_{n}_{seed}"
    body = (
        f'Content-Type: multipart/alternative; boundary="{b}"\n\n'
        f"--{b}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(text.encode()).decode()
        + f"\n--{b}\nContent-Type: text/html; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(html.encode()).decode()
        + f"\n--{b}--\n"
    )
    return _crlf(_head(f"Ремонт дороги {n}", body, f"ord{n}.{seed}"))


def empty_lines(count: int = 1000) -> bytes:
    """An appeal with `count` empty lines inside (the 2.4 KB letter that froze the process)."""
    text = APPEAL.replace("\n\nЗ повагою", "\n" * count + "З повагою")
    return _crlf(_head("Ремонт дороги", "Content-Type: text/plain; charset=utf-8\n\n" + text, "el"))


def whitespace_bounce(run: int = 5000) -> bytes:
    """A plain-text bounce whose notification holds a long run of white space before the
    marker line (the 5.4 KB message that cost 72 s of CPU)."""
    notice = (
        "This is the mail system at host mx.example.net.\n\n"
        "I'm sorry to have to inform you that your message could not be delivered.\n"
        # One run of white space across lines (SMTP allows 1,000 octets a line).
        + ((" \t" * 30 + "\n") * (run // 61 + 1))[:run]
        + "\n"
        + "\n" * 50
        # Text between the run and the marker: every line start in the run fails, which
        # is what made `^\s*-*\s*(...)` backtrack.
        + "<petro@example.net>: host mx.example.net said: 550 5.1.1 unknown user\n"
        + "-" * 40
        + "\n   This is a copy of the message, including all the headers.\n"
    )
    head = (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
        "To: appeals@council.example\nSubject: Undelivered Mail Returned to Sender\n"
        "Message-ID: <bounce1@mx.example.net>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
    )
    return _crlf(head + notice)


def dashes(run: int = 20000) -> bytes:
    text = APPEAL + ("-" * run + "\n") * 3 + " - " * (run // 3) + "\n"
    return _crlf(_head("Ремонт", "Content-Type: text/plain; charset=utf-8\n\n" + text, "dash"))


def deep_nesting(depth: int) -> bytes:
    inner = f"Content-Type: text/plain; charset=utf-8\n\n{APPEAL}"
    for i in range(depth):
        inner = (
            f'Content-Type: multipart/mixed; boundary="nest{i}"\n\n'
            f"--nest{i}\n{inner}\n--nest{i}--\n"
        )
    return _crlf(_head("Вкладене", inner, f"deep{depth}"))


def many_parts(count: int) -> bytes:
    parts = "".join(
        f"--many\nContent-Type: text/plain; charset=utf-8\n\nчастина {i}\n" for i in range(count)
    )
    body = 'Content-Type: multipart/mixed; boundary="many"\n\n--many\n'
    body += f"Content-Type: text/plain; charset=utf-8\n\n{APPEAL}\n{parts}--many--\n"
    return _crlf(_head("Частини", body, f"many{count}"))


def huge_header(size: int) -> bytes:
    folded = "X-Junk: " + "\n ".join("a" * 70 for _ in range(size // 72)) + "\n"
    return _crlf(
        _head("Заголовок", folded + "Content-Type: text/plain; charset=utf-8\n\n" + APPEAL, "hh")
    )


def long_base64_line(size: int) -> bytes:
    """An attachment whose base64 is one line of `size` characters (no 76-column wrap)."""
    data = base64.b64encode(random.Random(1).randbytes(size * 3 // 4)).decode()
    body = (
        'Content-Type: multipart/mixed; boundary="b64"\n\n--b64\n'
        f"Content-Type: text/plain; charset=utf-8\n\n{APPEAL}\n--b64\n"
        'Content-Type: application/pdf; name="scan.pdf"\nContent-Transfer-Encoding: base64\n'
        f'Content-Disposition: attachment; filename="scan.pdf"\n\n{data}\n--b64--\n'
    )
    return _crlf(_head("Скан", body, "b64"))


def encoded_words(count: int) -> bytes:
    word = "=?UTF-8?B?" + base64.b64encode("Скарга ".encode()).decode() + "?="
    subject = " ".join([word] * count)
    name = " ".join(["=?koi8-u?Q?=F0=C5=D4=D2=CF?="] * (count // 10 + 1))
    head = _head(subject, "", "ew").replace("Петро Іваненко", name)
    return _crlf(head + "Content-Type: text/plain; charset=utf-8\n\n" + APPEAL)


def big_attachment(size: int) -> bytes:
    """An appeal with one attachment of `size` random bytes, base64 in 76-column lines."""
    data = base64.encodebytes(random.Random(2).randbytes(size)).decode()
    body = (
        'Content-Type: multipart/mixed; boundary="big"\n\n--big\n'
        f"Content-Type: text/plain; charset=utf-8\n\n{APPEAL}\n--big\n"
        'Content-Type: application/pdf; name="plan.pdf"\nContent-Transfer-Encoding: base64\n'
        f'Content-Disposition: attachment; filename="plan.pdf"\n\n{data}--big--\n'
    )
    return _crlf(_head("План", body, f"big{size}"))


# Hostile inputs by name, each within the default [limits] (so each is worked on
# fully, not held unread): what bench/adversarial.py times.
HOSTILE = {
    "1,000 empty lines": lambda: empty_lines(1000),
    "10,000 empty lines": lambda: empty_lines(10_000),
    "whitespace run in a bounce (5,000)": lambda: whitespace_bounce(5_000),
    "whitespace run in a bounce (50,000)": lambda: whitespace_bounce(50_000),
    "dash runs (20,000)": lambda: dashes(20_000),
    "MIME nesting 19 deep": lambda: deep_nesting(19),
    "200 KB folded header": lambda: huge_header(200_000),
    "450 parts": lambda: many_parts(450),
    "1 MB base64 line": lambda: long_base64_line(1_000_000),
    "2,000 encoded words": lambda: encoded_words(2_000),
}
