"""Parsing real-world shapes: charsets declared, undeclared and mislabelled; transfer
encodings; RFC 2047/2231; HTML-only bodies; nesting; broken MIME; garbage. Messages are
built here byte by byte, one quirk each."""

from __future__ import annotations

import base64
import json
import quopri
from datetime import UTC, datetime
from typing import Any

import pytest
from containers import compound_file, outlook_msg, tnef

from gateway.intake.attachments import (
    ContainerError,
    display_name,
    read_outlook_msg,
    rtf_to_text,
    safe_filename,
    unpack_tnef,
)
from gateway.intake.parsing import (
    decode_header_value,
    detect_charset,
    html_to_text,
    parse,
    to_dict,
)

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


# -- attachments -------------------------------------------------------------------------


def with_file(
    disposition: str, data: bytes = b"%PDF-1.4 x", ctype: str = "application/pdf"
) -> bytes:
    return (
        b"From: p@example.org\r\nTo: a@council.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "Текст".encode() + b"\r\n"
        b"--B\r\nContent-Type: "
        + ctype.encode()
        + b"\r\nContent-Transfer-Encoding: base64\r\n"
        + disposition.encode("utf-8", "surrogateescape")
        + b"\r\n\r\n"
        + base64.encodebytes(data)
        + b"--B--\r\n"
    )


@pytest.mark.parametrize(
    ("disposition", "name"),
    [
        pytest.param(
            "Content-Disposition: attachment; filename*=utf-8''%D0%97%D0%B0%D1%8F%D0%B2%D0%B0.pdf",
            "Заява.pdf",
            id="rfc2231",
        ),
        pytest.param(
            "Content-Disposition: attachment;\r\n filename*0*=utf-8''%D0%97%D0%B0;\r\n"
            " filename*1*=%D1%8F%D0%B2%D0%B0%20%E2%84%96%201.pdf",
            "Заява № 1.pdf",
            id="rfc2231-continuations",
        ),
        pytest.param(
            "Content-Disposition: attachment; filename*=windows-1251''%C7%E0%FF%E2%E0.pdf",
            "Заява.pdf",
            id="rfc2231-cp1251",
        ),
        pytest.param(
            # The charset left out (old Opera, some PHP mailers): guessed.
            "Content-Disposition: attachment; filename*=''%D0%97%D0%B0%D1%8F%D0%B2%D0%B0.pdf",
            "Заява.pdf",
            id="rfc2231-no-charset",
        ),
        pytest.param(
            'Content-Disposition: attachment; filename="=?UTF-8?B?0JfQsNGP0LLQsC5wZGY=?="',
            "Заява.pdf",
            id="rfc2047-quoted",
        ),
        pytest.param(
            'Content-Disposition: attachment; filename="=?windows-1251?Q?=C7=E0=FF=E2=E0?=.pdf"',
            "Заява.pdf",
            id="rfc2047-cp1251-q",
        ),
        pytest.param(
            'Content-Disposition: attachment; filename="'
            + "Заява.pdf".encode().decode("ascii", "surrogateescape")
            + '"',
            "Заява.pdf",
            id="raw-utf8",
        ),
    ],
)
def test_attachment_names_are_decoded(disposition: str, name: str) -> None:
    (att,) = parse(with_file(disposition)).attachments
    assert att.filename == name
    assert att.original_name == name


def test_name_of_content_type_when_there_is_no_filename() -> None:
    ctype = 'application/pdf; name="=?UTF-8?B?0JfQsNGP0LLQsC5wZGY=?="'
    (att,) = parse(with_file("Content-Disposition: attachment", ctype=ctype)).attachments
    assert att.filename == "Заява.pdf"


@pytest.mark.parametrize(
    ("written", "safe"),
    [
        pytest.param("../../etc/passwd", "passwd", id="dot-dot"),
        pytest.param("C:\\Users\\Оксана\\Desktop\\скан.pdf", "скан.pdf", id="windows-path"),
        pytest.param("C:скан.pdf", "скан.pdf", id="drive-relative"),
        pytest.param("скан\x07\x00заяви.pdf", "скан заяви.pdf", id="control-characters"),
        pytest.param("invoice\u202egpj.exe", "invoicegpj.exe", id="bidi-override"),
        pytest.param('a<b>c:d"e|f?g*h.pdf', "a_b_c_d_e_f_g_h.pdf", id="windows-forbidden"),
        pytest.param("  звіт.pdf. . ", "звіт.pdf", id="trailing-dots-and-spaces"),
        pytest.param(".htaccess", "htaccess", id="hidden"),
        pytest.param("CON.txt", "_CON.txt", id="dos-device"),
        pytest.param("..", "attachment.pdf", id="nothing-left"),
        pytest.param("", "attachment.pdf", id="empty"),
    ],
)
def test_t18_safe_filename(written: str, safe: str) -> None:
    assert safe_filename(written, "application/pdf") == safe


def test_safe_filename_caps_the_length_and_keeps_the_extension() -> None:
    name = safe_filename("Дуже довга назва документа " * 20 + ".pdf")
    assert name.endswith(".pdf")
    assert len(name) <= 120 and len(name.encode()) <= 200


def test_display_name_keeps_what_was_written_but_shows_invisible_characters() -> None:
    assert display_name("C:\\Робочий стіл\\скан\x07.pdf") == "C:\\Робочий стіл\\скан\ufffd.pdf"
    assert display_name("invoice\u202egpj.exe") == "invoice\ufffdgpj.exe"


def test_same_names_are_made_unique() -> None:
    raw = with_file('Content-Disposition: attachment; filename="image.jpg"')
    raw = raw.replace(b"--B--\r\n", b"") + (
        b'--B\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename="IMAGE.jpg"\r\n\r\nx\r\n--B--\r\n'
    )
    names = [a.filename for a in parse(raw).attachments]
    assert names == ["image.jpg", "IMAGE (2).jpg"]


def test_an_attached_message_is_kept_whole_and_read() -> None:
    inner = (
        "From: =?UTF-8?B?0JbQldCa?= <zhek@example.org>\r\nTo: p@example.org\r\n"
        "Subject: =?UTF-8?B?0JLRltC00L/QvtCy0ZbQtNGM?=\r\nDate: Mon, 30 Nov 2026 10:00:00 +0200\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="I"\r\n\r\n'
        "--I\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nРемонт буде навесні.\r\n"
        '--I\r\nContent-Type: application/octet-stream; name="run.exe"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--I--\r\n"
    ).encode()
    raw = (
        b"From: p@example.org\r\nTo: a@council.example\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Дивіться нижче".encode()
        + b"\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
        + inner
        + b"\r\n--B--\r\n"
    )
    parsed = parse(raw)
    assert parsed.text == "Дивіться нижче"  # the attached text is not the letter's own
    eml, exe = parsed.attachments
    assert (eml.filename, eml.content_type, eml.content) == (
        "Відповідь.eml",
        "message/rfc822",
        inner,
    )
    assert (exe.filename, exe.inside) == ("run.exe", "Відповідь.eml")
    (fwd,) = parsed.forwarded
    assert (fwd.filename, fwd.from_, fwd.subject) == (
        "Відповідь.eml",
        "ЖЕК <zhek@example.org>",
        "Відповідь",
    )
    assert fwd.date == "Mon, 30 Nov 2026 10:00:00 +0200" and fwd.text == "Ремонт буде навесні."


def test_base64_encoded_attached_message_is_decoded() -> None:
    inner = b"From: a@example.org\r\nSubject: Inner\r\n\r\nBody of inner\r\n"
    raw = (
        b"From: p@example.org\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee\r\n"
        b'--B\r\nContent-Type: message/rfc822; name="inner.eml"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + base64.encodebytes(inner)
        + b"--B--\r\n"
    )
    parsed = parse(raw)
    assert parsed.attachments[0].content == inner
    assert parsed.forwarded[0].subject == "Inner"


def test_winmail_dat_is_unpacked_into_its_files_and_body() -> None:
    blob = tnef(
        [("Довідка про склад сім'ї.pdf", b"%PDF-1.4 d"), ("IMG_0001.JPG", b"\xff\xd8\xff")],
        body="Текст з Outlook",
    )
    parsed = parse(
        with_file(
            'Content-Disposition: attachment; filename="winmail.dat"', blob, "application/ms-tnef"
        )
    )
    assert [(a.filename, a.content, a.unpacked_from) for a in parsed.attachments] == [
        ("Довідка про склад сім'ї.pdf", b"%PDF-1.4 d", "winmail.dat"),
        ("IMG_0001.JPG", b"\xff\xd8\xff", "winmail.dat"),
    ]
    assert parsed.attachments[1].content_type == "image/jpeg"
    assert "Текст з Outlook" in parsed.text and parsed.text.startswith("Текст")


def test_winmail_dat_short_names_in_the_oem_code_page() -> None:
    # No MAPI long name: the title attribute in windows-1251 is all there is.
    blob = tnef([("Скан.pdf", b"%PDF")], long_names=False)
    assert unpack_tnef(blob).files == (("Скан.pdf", b"%PDF"),)


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(b"not tnef at all", id="no-signature"),
        pytest.param(tnef([("a.pdf", b"%PDF" * 100)])[:60], id="truncated"),
        pytest.param(b"\x78\x9f\x3e\x22\x01\x00", id="empty"),
    ],
)
def test_a_winmail_dat_that_cannot_be_read_is_kept_with_a_defect(blob: bytes) -> None:
    parsed = parse(
        with_file(
            'Content-Disposition: attachment; filename="winmail.dat"', blob, "application/ms-tnef"
        )
    )
    (att,) = parsed.attachments
    assert (att.filename, att.content) == ("winmail.dat", blob)
    assert any(d.startswith("winmail.dat kept as it is") for d in parsed.defects)
    assert not any(d.startswith("corrupt:") for d in parsed.defects)  # not held for it


def test_outlook_msg_is_kept_and_its_text_read() -> None:
    item = outlook_msg(
        subject="Відповідь ОСББ",
        sender_name="ОСББ",
        sender_email="osbb@example.org",
        body="Кошти на ремонт будуть у березні.",
        sent=datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        files=[("кошторис.pdf", b"%PDF-1.4 " + b"k" * 5000)],  # over 4096: a regular stream
    )
    parsed = parse(
        with_file(
            'Content-Disposition: attachment; filename="lyst.msg"',
            item,
            "application/vnd.ms-outlook",
        )
    )
    msg, inner = parsed.attachments
    assert (msg.filename, msg.content) == ("lyst.msg", item)
    assert (inner.filename, inner.inside, inner.size) == ("кошторис.pdf", "lyst.msg", 5009)
    (fwd,) = parsed.forwarded
    assert fwd.subject == "Відповідь ОСББ" and "osbb@example.org" in fwd.from_
    assert fwd.text == "Кошти на ремонт будуть у березні."
    assert fwd.date == "Wed, 25 Nov 2026 08:00:00 +0000"


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, id="ole-garbage"),
        pytest.param(b"PK\x03\x04 a zip named .msg", id="not-ole"),
        pytest.param(compound_file({"WordDocument": b"x" * 100}), id="ole-but-not-a-message"),
    ],
)
def test_outlook_msg_reader_failure_keeps_the_file(blob: bytes) -> None:
    with pytest.raises(ContainerError):
        read_outlook_msg(blob)
    parsed = parse(
        with_file(
            'Content-Disposition: attachment; filename="lyst.msg"',
            blob,
            "application/vnd.ms-outlook",
        )
    )
    (att,) = parsed.attachments
    assert att.content == blob and parsed.forwarded == ()
    assert any("lyst.msg kept as it is" in d for d in parsed.defects)


def test_rtf_to_text() -> None:
    rtf = (
        rb"{\rtf1\ansi\ansicpg1251{\fonttbl{\f0 Arial;}}{\*\generator Msftedit;}"
        rb"\pard \'c4\'ee\'e1\'f0\'e8\'e9 \u1076?\u1077?\u1085?\u1100?!\par \'c4\'e0\'e9\'f2\'e5\par}"
    )
    assert rtf_to_text(rtf) == "Добрий день!\nДайте"


def test_to_dict_shows_names_and_attached_messages() -> None:
    raw = with_file(
        "Content-Disposition: attachment; filename*=utf-8''..%2F%D0%97%D0%B0%D1%8F%D0%B2%D0%B0.pdf"
    )
    (att,) = to_dict(parse(raw))["attachments"]
    assert att["name"] == "Заява.pdf" and att["written"] == "../Заява.pdf"


# --------------------------------------------------------------------------------------
# Lone surrogates: UTF-7 (and surrogate escapes) must never reach a ParsedMail


def _strings(p: Any) -> list[str]:
    """Every string a ParsedMail carries."""
    out = [p.subject, p.text, p.html or "", p.content_type, p.message_id or "", *p.defects]
    out += [s for k, vs in p.headers.items() for s in (k, *vs)]
    for a in (p.from_addr, p.reply_to, *p.to, *p.cc):
        if a is not None:
            out += [a.name, a.email]
    out += [a.filename for a in p.attachments] + [a.content_type for a in p.attachments]
    return out


def assert_no_surrogates(p: Any) -> None:
    for s in _strings(p):
        s.encode("utf-8")  # raises on a lone surrogate
    json.dumps(to_dict(p), ensure_ascii=False).encode("utf-8")


# "+2D0-" is the high half of U+1F401 alone, "+3AE-" the low half alone; "+2D3cAQ-" is
# the whole pair, and "+2D0-+3AE-" the pair split over two base64 runs.
UTF7_CASES = [
    pytest.param(b"+BB8EQAQ+BEgEQw- +2D0- ok", "Прошу \ufffd ok", id="lone-high"),
    pytest.param(b"+3AE- ok", "\ufffd ok", id="lone-low"),
    pytest.param(b"+2D0AQQ-", "\ufffdA", id="high-then-letter"),
    pytest.param(b"+2D3cAQ- ok", "\U0001f401 ok", id="whole-pair"),
    pytest.param(b"+2D0-+3AE- ok", "\U0001f401 ok", id="pair-split-in-two-runs"),
]


@pytest.mark.parametrize(("body", "expected"), UTF7_CASES)
def test_utf7_body_with_broken_surrogates_is_repaired(body: bytes, expected: str) -> None:
    p = parse(message(body, charset="utf-7", cte="7bit"))
    assert p.text.strip() == expected
    assert_no_surrogates(p)


def test_utf7_in_every_header_and_part_is_repaired() -> None:
    raw = (
        b"From: =?utf-7?Q?+BB4EOgRBBDAEPQQw-+2D0-?= <oksana@example.org>\r\n"
        b"To: =?utf-7?B?" + base64.b64encode(b"+3AE-") + b"?= <appeals@council.example>\r\n"
        b"Subject: =?UTF-7?Q?+BBcEMARP-+2D0-?=\r\n"
        b"X-Mailer: =?utf-7?Q?+2D0-?=\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n+BB8EQAQ+BEgEQw- +2D0-\r\n"
        b"--b1\r\nContent-Type: text/html; charset=utf-7\r\n\r\n<p>+2D0-</p>\r\n"
        b"--b1\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-7''%2B2D0-scan.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="=?utf-7?Q?+3AE-.txt?="\r\n\r\nx\r\n'
        b"--b1--\r\n"
    )
    p = parse(raw)
    assert_no_surrogates(p)
    assert p.subject == "Зая\ufffd"
    assert p.from_addr is not None and p.from_addr.name == "Оксана\ufffd"
    assert p.header("x-mailer") == "\ufffd"
    assert p.text.strip() == "Прошу \ufffd"
    assert p.html is not None and "\ufffd" in p.html
    assert [a.filename for a in p.attachments] == ["\ufffdscan.pdf", "\ufffd.txt"]


def test_utf8_mailbox_after_an_encoded_display_name() -> None:
    # Thunderbird and Gmail with an internationalised address (RFC 6532): the display name
    # is an RFC 2047 word, the mailbox is raw UTF-8 in the same header.
    name = base64.b64encode("Оксана Гнатюк".encode()).decode()
    subject = base64.b64encode("Не працює".encode()).decode()
    raw = (
        f"From: =?UTF-8?B?{name}?= <оксана@Пошта.укр>\r\n"
        f"Subject: =?UTF-8?B?{subject}?= =?UTF-8?Q?_=D0=BB=D1=96=D1=84=D1=82?= з 1 грудня\r\n"
        "To: zhkg@council.example\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Текст\r\n"
    ).encode()
    p = parse(raw)
    assert p.from_addr is not None
    assert (p.from_addr.name, p.from_addr.email) == ("Оксана Гнатюк", "оксана@пошта.укр")
    assert p.subject == "Не працює ліфт з 1 грудня"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Python's folder puts a plain word after an encoded word on the next line.
        (
            "RE: [A-2026-000001] =?utf-8?b?0JfQstC10YDQvdC10L3QvdGPOiDQtNC+?=\r\n"
            " 23.12.2026 =?utf-8?b?4oCUINCf0YDQvtGC0ZbQutCw0ZQg0LTQsNGF?=",
            "RE: [A-2026-000001] Звернення: до 23.12.2026 — Протікає дах",
        ),
        ("Re: =?utf-8?b?0JfQstC10YDQvdC10L3QvdGP?= x", "Re: Звернення x"),
        # Between two encoded words the space goes (RFC 2047 §6.2) ...
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),
        # ... and none is invented where there was none (Outlook's file names).
        ("=?windows-1251?Q?=C7=E0=FF=E2=E0?=.pdf", "Заява.pdf"),
    ],
)
def test_white_space_beside_encoded_words_is_kept_where_it_was(raw: str, expected: str) -> None:
    assert decode_header_value(raw) == expected
