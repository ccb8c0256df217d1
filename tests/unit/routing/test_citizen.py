"""Citizen details from headers and the signature block."""

from __future__ import annotations

import pytest

from gateway.intake.parsing import parse
from routing.citizen import extract_citizen


def mail(from_: str, body: str, reply_to: str | None = None) -> tuple:
    rt = f"Reply-To: {reply_to}\r\n" if reply_to else ""
    raw = (
        f"From: {from_}\r\n{rt}Subject: s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()
    p = parse(raw)
    return p, p.text


@pytest.mark.parametrize(
    ("from_", "body", "name", "source"),
    [
        pytest.param(
            "kitty77 <k@example.org>",
            "Прошу допомогти.\n\nЗ повагою,\nІваненко Петро Степанович",
            "Іваненко Петро Степанович",
            "signature",
            id="closing-then-full-name",
        ),
        pytest.param(
            "k@example.org",
            "Текст.\nЗ повагою, Іваненко П.С.",
            "Іваненко П.С.",
            "signature",
            id="closing-with-initials",
        ),
        pytest.param(
            "k@example.org",
            "Текст.\nС уважением,\nИванов Иван",
            "Иванов Иван",
            "signature",
            id="russian-closing",
        ),
        pytest.param(
            "k@example.org",
            "ПІБ: Коваль Олена Іванівна\nТекст звернення.",
            "Коваль Олена Іванівна",
            "labelled",
            id="labelled",
        ),
        pytest.param(
            "Олена Коваль <o@example.org>",
            "Текст без підпису.",
            "Олена Коваль",
            "header",
            id="from-header",
        ),
        pytest.param("o@example.org", "текст без підпису", None, "none", id="nothing"),
    ],
)
def test_name(from_: str, body: str, name: str | None, source: str) -> None:
    p, text = mail(from_, body)
    info = extract_citizen(p, text)
    assert (info.name, info.name_source) == (name, source)


def test_email_prefers_reply_to_and_address_and_phone() -> None:
    p, text = mail(
        "a@example.org",
        "Прошу допомогти.\nАдреса: м. Луцьк, вул. Шевченка, 12, кв. 5\nтел. 050 123 45 67",
        reply_to="Answer Here <Answer@Example.ORG>",
    )
    info = extract_citizen(p, text)
    assert info.email == "answer@example.org"
    assert info.address == "м. Луцьк, вул. Шевченка, 12, кв. 5"
    assert info.phone == "+380 50 123 45 67"


def test_address_by_phrase_and_the_problem_place_apart() -> None:
    p, text = mail("a@example.org", "Я проживаю за адресою: м. Київ, вул. Хрещатик, 1.")
    assert extract_citizen(p, text).address == "м. Київ, вул. Хрещатик, 1"
    # A street in the complaint is where the problem is, not where the citizen lives.
    p, text = mail("a@example.org", "Біля будинку на вул. Рівненській, 12 яма.")
    info = extract_citizen(p, text)
    assert (info.address, info.location) == (None, "вул. Рівненській, 12")
