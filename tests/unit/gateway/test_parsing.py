"""Parsing real-world shapes: charsets declared, undeclared and mislabelled; transfer
encodings; RFC 2047/2231; HTML-only bodies; nesting; broken MIME; garbage. Messages are
built here byte by byte, one quirk each."""

from __future__ import annotations

import base64
import json
import quopri

import pytest

from gateway.intake.parsing import detect_charset, html_to_text, parse, to_dict

UK = "Доброго дня! У нашому будинку по вулиці Шевченка вже третій тиждень немає гарячої води. Прошу вжити заходів."
RU = "Здравствуйте! В нашем доме уже третью неделю нет горячей воды, просим принять меры."


def message(
    body: bytes,
    ctype: str = "text/plain",
    charset: str | None = None,
    cte: str = "8bit",
    headers: str = "",
) -> bytes:
    cs = f"; charset={charset}" if charset else ""
    head = (
        f"From: Petro <petro@example.org>\r\nTo: a@council.example\r\nSubject: test\r\n{headers}"
        f"MIME-Version: 1.0\r\nContent-Type: {ctype}{cs}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize(
    ("text", "encoding", "declared"),
    [
        pytest.param(UK, "cp1251", "windows-1251", id="cp1251-declared"),
        pytest.param(UK, "koi8-u", "koi8-u", id="koi8u-declared"),
        pytest.param(RU, "koi8-r", "koi8-r", id="koi8r-declared"),
        pytest.param(UK, "cp1251", None, id="cp1251-undeclared-8bit"),
        pytest.param(UK, "koi8-u", "koi8-r", id="koi8u-labelled-koi8r"),
        pytest.param(UK, "cp1251", "koi8-r", id="cp1251-labelled-koi8r"),
        pytest.param(RU, "koi8-r", "windows-1251", id="koi8r-labelled-cp1251"),
        pytest.param(UK, "cp1251", "us-ascii", id="cp1251-labelled-ascii"),
        pytest.param(UK, "cp1251", "iso-8859-1", id="cp1251-labelled-latin1"),
        pytest.param(UK, "utf-8", "windows-1251", id="utf8-labelled-cp1251"),
        pytest.param(UK, "cp1251", "x-unknown-charset", id="unknown-charset-name"),
    ],
)
def test_cyrillic_comes_out_readable(text: str, encoding: str, declared: str | None) -> None:
    parsed = parse(message(text.encode(encoding), charset=declared))
    assert parsed.text.strip() == text


@pytest.mark.parametrize("cte", ["base64", "quoted-printable"])
def test_transfer_encodings(cte: str) -> None:
    raw = UK.encode("koi8-u")
    body = base64.encodebytes(raw) if cte == "base64" else quopri.encodestring(raw)
    assert parse(message(body, charset="koi8-u", cte=cte)).text.strip() == UK


def test_rfc2047_and_raw_8bit_headers() -> None:
    enc = "=?windows-1251?B?" + base64.b64encode("Немає води".encode("cp1251")).decode() + "?="
    raw = (
        f"From: =?koi8-u?B?{base64.b64encode('Петро Іваненко'.encode('koi8-u')).decode()}?= <p@example.org>\r\n"
        f"Subject: {enc}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nx"
    ).encode()
    p = parse(raw)
    assert p.subject == "Немає води"
    assert p.from_addr is not None and p.from_addr.name == "Петро Іваненко"
    # A subject in raw windows-1251 bytes, no encoding at all (old clients do this).
    raw8 = b"From: p@example.org\r\nSubject: " + "Скарга на ЖЕК".encode("cp1251") + b"\r\n\r\nx"
    assert parse(raw8).subject == "Скарга на ЖЕК"


def test_html_only_body_becomes_readable_text() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<p>Прошу&nbsp;допомогти.</p><ul><li>Перше</li><li>Друге</li></ul>"
        "<div>Вул. Лесі&#39;Українки, 5</div></body></html>"
    )
    p = parse(message(html.encode("utf-8"), ctype="text/html", charset="utf-8"))
    assert "Прошу допомогти." in p.text and "- Перше" in p.text and "alert" not in p.text
    assert "color" not in p.text and p.html is not None


def test_nested_multipart_with_attachments_and_rfc2231_name() -> None:
    pdf = b"%PDF-1.4 fake"
    raw = (
        "From: p@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
        '--M\r\nContent-Type: multipart/alternative; boundary="A"\r\n\r\n'
        "--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nТекст звернення\r\n"
        "--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Текст звернення</p>\r\n--A--\r\n"
        "--M\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename*=utf-8''%D0%B4%D0%BE%D0%B2%D1%96%D0%B4%D0%BA%D0%B0.pdf\r\n\r\n"
        + base64.b64encode(pdf).decode()
        + "\r\n--M--\r\n"
    ).encode()
    p = parse(raw)
    assert p.text.strip() == "Текст звернення"
    (att,) = p.attachments
    assert (att.filename, att.content_type, att.size, att.content) == (
        "довідка.pdf",
        "application/pdf",
        len(pdf),
        pdf,
    )


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(bytes(range(256)) * 4, id="garbage"),
        pytest.param(
            b'From: p@example.org\r\nContent-Type: multipart/mixed; boundary="Z"\r\n\r\n'
            b"--Z\r\nContent-Type: text/plain\r\n\r\nbody without the final boundary",
            id="no-final-boundary",
        ),
        pytest.param(
            b"From: p@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n@@@ not base64 @@@",
            id="broken-base64",
        ),
    ],
)
def test_broken_input_never_raises_and_is_summarised(raw: bytes) -> None:
    p = parse(raw)
    json.dumps(to_dict(p), ensure_ascii=False)
    assert p.raw == raw


def test_no_final_boundary_keeps_the_text() -> None:
    raw = (
        b'From: p@example.org\r\nContent-Type: multipart/mixed; boundary="Z"\r\n\r\n'
        b"--Z\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "Звернення без кінця".encode()
    )
    assert "Звернення без кінця" in parse(raw).text


def test_detect_charset_reports_how() -> None:
    assert detect_charset("текст".encode("koi8-u") * 5, "koi8-u") == ("koi8-u", "declared")
    assert detect_charset(b"plain", None) == ("us-ascii", "ascii")
    assert (
        detect_charset("текст листа".encode("cp1251") * 5, "koi8-r")[1]
        == "declared koi8-r looked wrong"
    )


def test_html_to_text_handles_broken_html() -> None:
    assert "текст" in html_to_text("<p>текст<div><b>жирний")


def test_corrupt_base64_is_reported_as_corrupt() -> None:
    raw = (
        b"From: p@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n@@@ not base64 @@@"
    )
    assert any(d.startswith("corrupt:") for d in parse(raw).defects)
    good = message(base64.encodebytes(UK.encode()), charset="utf-8", cte="base64")
    assert not any(d.startswith("corrupt:") for d in parse(good).defects)
