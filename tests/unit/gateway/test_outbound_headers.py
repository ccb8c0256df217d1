"""Outbound headers never carry what a hostile sender hid in a name or subject (CR/LF,
encoded words, lists), and HTML letters escape citizens' text."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from gateway.intake.parsing import parse
from gateway.outbound.notify import (
    HeaderInjection,
    Renderer,
    build_message,
    check_header,
    plain_address,
)
from routing.mail import one_line

REPO = Path(__file__).resolve().parents[3]


def _letters_module() -> Any:
    """The template context of the staff-letter tests (one definition of its keys)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "staff_letters_context", Path(__file__).with_name("test_staff_letters.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


context = _letters_module().context


def headers(**extra: str) -> dict[str, str]:
    return {
        "From": "appeals@council.example",
        "To": "ivan@real.example",
        "Subject": "[A-2026-000001] Ваше звернення зареєстровано",
        **extra,
    }


def wire(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.mark.parametrize(
    "subject",
    [
        "Ivan\r\nBcc: x@evil.example",
        "Ivan\nBcc: x@evil.example",
        "Ivan\rBcc: x@evil.example",
        "Іван\r\nBcc: x@evil.example",
        "a\x00b",
        "a\u2028Bcc: x@evil.example",
    ],
)
def test_t17_build_message_refuses_a_line_break_in_any_header(subject: str) -> None:
    with pytest.raises(HeaderInjection):
        build_message(headers(Subject=subject), "body", [])


@pytest.mark.parametrize(
    "to",
    [
        "ivan@real.example,x@evil.example",  # a second address hidden in one
        "ivan@real.example\r\nBcc: x@evil.example",
        "Ivan <ivan@real.example>",
        "ivan@real.example>, <x@evil.example",
        "ivan@real.example x@evil.example",
        "",
    ],
)
def test_build_message_refuses_anything_but_plain_addresses_in_to(to: str) -> None:
    with pytest.raises(HeaderInjection):
        build_message(headers(To=to), "body", [])


@pytest.mark.parametrize(
    ("address", "plain"),
    [
        ("ivan@real.example", True),
        ("оксана@пошта.укр", True),
        ("ivan.petrenko+zvernennia@ukr.net", True),
        ("ivan@real.example,x@evil.example", False),
        ("ivan@real.example\nx@evil.example", False),
        ("Ivan <ivan@real.example>", False),
        ("ivan", False),
    ],
)
def test_plain_address(address: str, plain: bool) -> None:
    assert plain_address(address) is plain


def test_check_header_allows_our_ordinary_headers() -> None:
    check_header("To", "ivan@real.example, оксана@пошта.укр")
    check_header("Subject", "[A-2026-000001] Re: Немає води — вул. Лесі Українки, 7")


def test_a_safe_message_has_exactly_its_headers_and_recipient() -> None:
    msg = wire(build_message(headers(), "Текст", []))
    assert msg.get_all("To") == ["ivan@real.example"]
    assert msg["Bcc"] is None and msg["Cc"] is None


@pytest.mark.parametrize(
    ("header", "name_or_subject"),
    [
        (
            "From: =?utf-8?q?Ivan=0D=0ABcc:_x@evil.example?= <ivan@real.example>",
            "Ivan Bcc: x@evil.example",
        ),
        ("From: =?utf-8?q?x@evil.example=2C?= <ivan@real.example>", "x@evil.example,"),
        (
            "From: =?utf-8?q?Ivan_=3Cx@evil.example=3E?= <ivan@real.example>",
            "Ivan <x@evil.example>",
        ),
        (
            'From: "Ivan\\"\r\n Bcc: x@evil.example" <ivan@real.example>',
            'Ivan\\" Bcc: x@evil.example',
        ),
    ],
)
def test_t17_encoded_words_in_a_display_name_stay_in_the_name(
    header: str, name_or_subject: str
) -> None:
    parsed = parse(f"{header}\r\nTo: zhkg@council.example\r\nSubject: x\r\n\r\nhi\r\n".encode())
    assert parsed.from_addr is not None
    assert parsed.from_addr.email == "ivan@real.example"
    assert "\r" not in parsed.from_addr.name and "\n" not in parsed.from_addr.name


def test_an_encoded_cr_lf_in_the_subject_becomes_one_line() -> None:
    parsed = parse(
        b"From: ivan@real.example\r\nTo: zhkg@council.example\r\n"
        b"Subject: =?utf-8?q?a=0D=0ABcc:_x@evil.example?=\r\n\r\nhi\r\n"
    )
    assert parsed.subject == "a Bcc: x@evil.example"


def test_one_line() -> None:
    assert one_line("Ivan\r\nBcc:\tx\x00y\u2028z  ") == "Ivan Bcc: x y z"


def test_a_subject_quoting_the_citizen_is_one_header_line() -> None:
    renderer = Renderer([REPO / "templates"])
    ctx = context()
    ctx["appeal"]["subject"] = "Вода\r\nBcc: x@evil.example"
    subject, _ = renderer.render("department/assigned", "uk", ctx)
    msg = wire(build_message(headers(Subject=subject), "b", []))
    assert msg["Bcc"] is None
    assert "Bcc: x@evil.example" in str(msg["Subject"])  # as text, on the one line


def html_renderer(tmp_path: Path) -> Renderer:
    site = tmp_path / "site" / "uk" / "citizen"
    site.mkdir(parents=True)
    (site / "ack.html.j2").write_text(
        "<p>Шановний(а) {{ appeal.citizen_name }}!</p><blockquote>{{ appeal.text }}</blockquote>",
        encoding="utf-8",
    )
    return Renderer([tmp_path / "site", REPO / "templates"])


def test_t17_html_letter_parts_escape_the_citizens_text(tmp_path: Path) -> None:
    renderer = html_renderer(tmp_path)
    ctx: dict[str, Any] = context(refused=[])
    ctx["appeal"]["citizen_name"] = 'Іван <img src=x onerror="alert(1)">'
    # The shipped text template opens with the view's greeting: one with markup in it.
    ctx["appeal"]["greeting"] = {"uk": 'Шановний Іване <img src=x onerror="alert(1)">!', "en": ""}
    ctx["appeal"]["text"] = "<script>alert('x')</script> вода"
    html = renderer.render_html("citizen/ack", "uk", ctx)
    assert html is not None
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html
    msg = wire(build_message(headers(), renderer.render("citizen/ack", "uk", ctx)[1], [], html))
    assert msg.get_content_type() == "multipart/alternative"
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in part.get_content()
    # The text version is text: nothing to escape there, and it stays as written.
    plain = msg.get_body(preferencelist=("plain",))
    assert plain is not None and "Шановний Іване <img" in plain.get_content()


def test_no_html_template_means_a_text_letter(tmp_path: Path) -> None:
    renderer = Renderer([REPO / "templates"])
    assert renderer.render_html("citizen/ack", "uk", context(refused=[])) is None
