"""The internet reception in a real browser: Debian's headless Chromium driven by
Playwright against `appeals run` (the browser setup of test_console_browser.py).

By default one test: a citizen fills the form in Ukrainian with a photo, sees the
registration number, receives the acknowledgement with the status link, opens it; a
second browser context without the link sees nothing. With APPEALS_BROWSER=1 also: the
form's errors announced next to their fields, reached by keyboard only; the status page
showing the department's answer after staff reply by e-mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import Gateway, by_rcpt
from test_console_browser import browser, full_only, shot

__all__ = ["browser"]  # the module-scoped fixture, shared with the console's tests

PUBLIC = "https://priymalnia.council.example"
GATEWAY_SETTINGS = {"reception": {"public_url": PUBLIC, "min_fill_seconds": 1}}
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 20 + b"\xff\xd9"


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    c = browser.new_context(viewport={"width": 1024, "height": 1000}, locale="uk-UA")
    try:
        yield c
    finally:
        c.close()


def local(gateway: Gateway, url: str) -> str:
    """The public URL (the proxy's) as the gateway's own address."""
    return gateway.console + url.removeprefix(PUBLIC)


def fill_and_send(page: Any, gateway: Gateway, photo: Path, email: str, text: str) -> str:
    page.goto(gateway.console + "/reception")
    page.get_by_label("Прізвище, ім'я, по батькові").fill("Мельник Ірина Василівна")
    page.get_by_label("Поштова адреса (місце проживання)").fill(
        "м. Луцьк, вул. Винниченка, 8, кв. 3"
    )
    page.get_by_label("Електронна пошта").fill(email)
    page.get_by_label("Суть звернення").fill(text)
    page.get_by_label("Файли (необов'язково)").set_input_files(str(photo))
    page.get_by_label(re.compile("Я даю згоду")).check()
    page.wait_for_timeout(1100)  # past min_fill_seconds
    page.get_by_role("button", name="Надіслати").click()
    page.wait_for_selector("#reg-no", timeout=30_000)  # the page refreshes until numbered
    return str(page.inner_text("#reg-no")).strip()


def test_a_citizen_submits_in_ukrainian_with_a_photo_and_follows_the_status_link(
    gateway: Gateway, browser: Any, context: Any, tmp_path: Path
) -> None:
    photo = tmp_path / "яма.jpg"
    photo.write_bytes(PHOTO)
    page = context.new_page()
    page.set_default_timeout(20_000)
    reg_no = fill_and_send(
        page,
        gateway,
        photo,
        "iryna.melnyk@ukr.net",
        "Напроти будинку на вул. Винниченка, 8 на дорозі глибока яма, вчора там пошкодили авто.",
    )
    assert re.fullmatch(r"A-\d{4}-\d{6}", reg_no)
    shot(page, "reception-receipt", tmp_path)
    letters = by_rcpt(gateway.wait_letters(2))
    ack = letters["iryna.melnyk@ukr.net"]
    assert ack.kind == "citizen/ack" and reg_no in ack.subject
    link = re.search(re.escape(PUBLIC) + r"/status/\S+", ack.text)
    assert link, ack.text
    forward = next(lt for r, lt in letters.items() if r != "iryna.melnyk@ukr.net")
    assert forward.attachments.get("яма.jpg") == PHOTO

    page.goto(local(gateway, link.group(0)))
    assert page.inner_text("#reg-no").strip() == reg_no
    assert "підтвердження реєстрації" in page.inner_text("#letters")
    assert "Мельник" not in page.content()
    shot(page, "reception-status", tmp_path)

    # Another browser, without the link: a guessed or shortened link shows nothing.
    stranger = browser.new_context(locale="uk-UA")
    try:
        other = stranger.new_page()
        token = link.group(0).rsplit("/", 1)[1]
        for guess in (token[:-1] + ("0" if token[-1] != "0" else "1"), token.split("-")[0]):
            answer = other.goto(f"{gateway.console}/status/{guess}")
            assert answer is not None and answer.status == 404
            assert reg_no not in other.content()
    finally:
        stranger.close()


@full_only
def test_errors_are_announced_next_to_the_fields_by_keyboard(
    gateway: Gateway, context: Any, tmp_path: Path
) -> None:
    page = context.new_page()
    page.goto(gateway.console + "/reception")
    # Keyboard only: Tab from the top to the name field, type, Tab on, send with Enter.
    page.keyboard.press("Tab")
    for _ in range(12):
        if page.evaluate("document.activeElement.id") == "name":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "name"
    page.keyboard.type("Ірина")
    page.wait_for_timeout(1100)
    page.keyboard.press("Enter")
    page.wait_for_selector("#errors")
    for field in ("name", "address", "email", "text", "consent"):
        el = page.locator(f"#{field}")
        assert el.get_attribute("aria-invalid") == "true"
        assert f"{field}-error" in (el.get_attribute("aria-describedby") or "")
        assert page.locator(f"#{field}-error").is_visible()
    assert page.locator("#errors").get_attribute("role") == "alert"
    assert page.locator("#name").input_value() == "Ірина"  # what was typed is kept
    shot(page, "reception-errors", tmp_path)


@full_only
def test_the_status_page_shows_the_answer_after_staff_reply(
    gateway: Gateway, context: Any, tmp_path: Path
) -> None:
    photo = tmp_path / "фото.jpg"
    photo.write_bytes(PHOTO)
    page = context.new_page()
    page.set_default_timeout(20_000)
    reg_no = fill_and_send(
        page,
        gateway,
        photo,
        "iryna.m@ukr.net",
        "Біля школи на вул. Винниченка не горять ліхтарі, дітям темно йти ввечері додому.",
    )
    letters = by_rcpt(gateway.wait_letters(2))
    ack = letters["iryna.m@ukr.net"]
    link = re.search(re.escape(PUBLIC) + r"/status/\S+", ack.text)
    assert link
    rcpt, forward = next((r, lt) for r, lt in letters.items() if r != "iryna.m@ukr.net")
    gateway.send(
        f"From: {rcpt}\nTo: {forward.msg['Reply-To']}\nSubject: Re: {forward.subject}\n"
        f"In-Reply-To: {forward.msg['Message-ID']}\nMessage-ID: <answer-browser@council.example>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\nЛіхтарі відремонтовано.\n\nЗ повагою,\nСлужба\n",
        rcpt,
        [str(forward.msg["Reply-To"])],
    )
    (answer,) = gateway.wait_letters(1)
    assert answer.rcpt == "iryna.m@ukr.net" and reg_no in answer.subject
    page.goto(local(gateway, link.group(0)))
    assert "розгляд завершено" in page.inner_text("#state")
    assert "відповідь" in page.inner_text("#letters")
    shot(page, "reception-answered", tmp_path)
