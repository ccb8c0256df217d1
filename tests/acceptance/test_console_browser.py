"""The web console in a real browser: Debian's headless Chromium driven by Playwright
against `appeals run` (the web role beside SMTP, worker and sender).

One test runs by default: log in, find the appeal, extend its term and see the citizen's
letter leave. The others run with APPEALS_BROWSER=1 (a minute more): triage, the holding
pen, a viewer, a clerk, a form without its CSRF token, five wrong passwords. That full
run also writes the README's screenshots to docs/screenshots/. Without Chromium the tests
skip, and under CI=true they fail.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import missing_server
from harness import Gateway, by_rcpt

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FULL = os.environ.get("APPEALS_BROWSER") == "1"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "Луцьк-браузер-2026"
# Every appeal to the general address waits at triage; one to a department's intake
# address goes straight to that department.
GATEWAY_SETTINGS = {"routing": {"min_confidence": 0.99}}

full_only = pytest.mark.skipif(
    not FULL, reason="the full browser suite runs with APPEALS_BROWSER=1"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_server("the playwright package is not installed (pip install -e '.[dev]')")
    if not shutil.which(CHROMIUM):
        missing_server(f"{CHROMIUM} is missing (apt-get install chromium; .ci/install-servers)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="uk-UA")
    p = context.new_page()
    p.set_default_timeout(20_000)
    try:
        yield p
    finally:
        context.close()


def shot(page: Any, name: str, tmp: Path) -> None:
    """A screenshot: into docs/screenshots on the full run, beside the test otherwise."""
    target = SHOTS if FULL else tmp
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"), full_page=True)


def sign_in(page: Any, gateway: Gateway, name: str, password: str = PASSWORD) -> None:
    page.goto(gateway.console + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def send_appeal(gateway: Gateway, to: str, sender: str, name: str, text: str, n: int) -> None:
    gateway.send(
        f"From: {name} <{sender}>\nTo: {to}\nSubject: Звернення {n}\n"
        f"Message-ID: <browser-{n}@example.org>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"Добрий день. {text} Прошу вжити заходів.\n\n{name}\nм. Луцьк, вул. Шопена, 9, кв. {n}\n",
        sender,
        [to],
    )


@pytest.fixture(scope="module")
def accounts(gateway: Gateway) -> None:
    gateway.add_user("admin", "admin", PASSWORD)
    gateway.add_user("clerk", "clerk", PASSWORD, "housing")
    gateway.add_user("viewer", "viewer", PASSWORD)


def test_log_in_find_the_appeal_extend_it_and_see_the_letter(
    gateway: Gateway, accounts: None, page: Any, tmp_path: Path
) -> None:
    send_appeal(
        gateway,
        "zhkg@council.example",
        "hanna.lytvyn@ukr.net",
        "Ганна Литвин",
        "Третій тиждень не працює ліфт у нашому під'їзді, літні люди не можуть вийти з дому.",
        1,
    )
    reg_no = by_rcpt(gateway.wait_letters(2))["hanna.lytvyn@ukr.net"].reg_no
    sign_in(page, gateway, "admin")
    page.wait_for_selector("#intake-today")
    shot(page, "dashboard", tmp_path)
    page.click("text=Реєстр")
    page.fill("input[name=citizen]", "Литвин")
    page.click("#search button[type=submit]")
    page.click(f"a:text-is('{reg_no}')")
    page.wait_for_selector("#timeline")
    assert "не працює ліфт" in page.inner_text("#text")
    page.fill("#extend input[name=days]", "10")
    page.fill("#extend input[name=reason]", "потрібне обстеження ліфта")
    page.click("#extend button")
    assert "Строк продовжено" in page.inner_text("#notice")
    # The citizen's letter is in the appeal's outbox ...
    assert "citizen/extended" in page.inner_text("#timeline")
    shot(page, "appeal", tmp_path)
    # ... and leaves for the citizen.
    (letter,) = gateway.wait_letters(1)
    assert letter.rcpt == "hanna.lytvyn@ukr.net" and "обстеження ліфта" in letter.text
    assert (tmp_path / "appeal.png").exists() or (SHOTS / "appeal.png").exists()


@full_only
def test_registry_screenshot_and_csv(
    gateway: Gateway, accounts: None, page: Any, tmp_path: Path
) -> None:
    sign_in(page, gateway, "admin")
    page.click("text=Реєстр")
    page.wait_for_selector("#results")
    shot(page, "registry", tmp_path)
    with page.expect_download() as dl:
        page.click("#csv")
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("reg_no,")


@full_only
def test_assign_a_triage_item_and_see_the_forward_leave(
    gateway: Gateway, accounts: None, page: Any, tmp_path: Path
) -> None:
    send_appeal(
        gateway,
        "appeals@council.example",
        "ira.danyliuk@ukr.net",
        "Ірина Данилюк",
        "Вже місяць не світять ліхтарі у дворі, ввечері дуже темно.",
        2,
    )
    out = by_rcpt(gateway.wait_letters(2))
    reg_no = out["ira.danyliuk@ukr.net"].reg_no
    assert "zvernennia-staff@council.example" in out  # triage got it first
    sign_in(page, gateway, "clerk")
    page.click("text=Тріаж")
    row = page.locator(f"tr[data-reg-no='{reg_no}']")
    row.locator("form.manual select[name=topic]").select_option("landscaping")
    row.locator("form.manual select[name=department]").select_option("landscaping")
    shot(page, "triage", tmp_path)
    row.locator("form.manual button").click()
    assert reg_no in page.inner_text("#notice")
    letters = by_rcpt(gateway.wait_letters(3))  # the forward, the citizen told, triage told
    fwd = letters["blagoustrii@council.example"]
    assert reg_no in fwd.subject and "ліхтарі" in fwd.text


@full_only
def test_assign_a_held_message(gateway: Gateway, accounts: None, page: Any, tmp_path: Path) -> None:
    send_appeal(
        gateway,
        "zhkg@council.example",
        "oksana.bondar@ukr.net",
        "Оксана Бондар",
        "У підвалі стоїть вода, сирість піднімається до квартир першого поверху.",
        3,
    )
    reg_no = by_rcpt(gateway.wait_letters(2))["oksana.bondar@ukr.net"].reg_no
    bad = "reply+qqqqqqqqqqqqqqqq@reply.council.example"
    gateway.send(
        f"From: Оксана Бондар <oksana.bondar@ukr.net>\nTo: {bad}\nSubject: Фото підвалу\n"
        "Message-ID: <browser-held@example.org>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "Додаю: вода вже піднялася до сходів.\n",
        "oksana.bondar@ukr.net",
        [bad],
    )
    sign_in(page, gateway, "clerk")
    for _ in range(100):
        page.goto(gateway.console + "/held")
        if "Фото підвалу" in page.inner_text("#held"):
            break
        page.wait_for_timeout(200)
    # The page's script: "select all" ticks every row, and unticks them again.
    page.check("#select-all")
    boxes = page.locator("input[name=ids]")
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.uncheck("#select-all")
    assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
    row = page.locator("tr", has_text="Фото підвалу")
    row.locator("input[name=ids]").check()
    page.fill("input[name=reg_no]", reg_no)
    shot(page, "held", tmp_path)
    page.click("button[value=assign]")
    assert "assign 1" in page.inner_text("#notice")
    (followup,) = gateway.wait_letters(1)  # the addition reaches the department
    assert followup.rcpt == "zhkg-staff@council.example" and "до сходів" in followup.text


@full_only
def test_a_viewer_cannot_change_anything(gateway: Gateway, accounts: None, page: Any) -> None:
    sign_in(page, gateway, "viewer")
    page.click("text=Реєстр")
    page.locator("#results a[href^='/appeals/']").first.click()
    page.wait_for_selector("#timeline")
    assert page.locator("#extend").count() == 0 and page.locator("#note").count() == 0
    reg_no = page.inner_text("#reg-no")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    r = page.request.post(
        f"{gateway.console}/appeals/{reg_no}/note", form={"csrf": csrf, "text": "спроба"}
    )
    assert r.status == 403
    page.reload()
    assert "спроба" not in page.inner_text("#timeline")


@full_only
def test_a_clerk_sees_only_their_departments(gateway: Gateway, accounts: None, page: Any) -> None:
    send_appeal(
        gateway,
        "transport@council.example",
        "petro.melnyk@ukr.net",
        "Петро Мельник",
        "На перехресті вулиць Шопена і Волі велика яма, машини б'ють колеса.",
        4,
    )
    reg_no = by_rcpt(gateway.wait_letters(2))["petro.melnyk@ukr.net"].reg_no
    sign_in(page, gateway, "clerk")
    page.click("text=Реєстр")
    listing = page.inner_text("#results")
    assert reg_no not in listing and "housing" in listing and "transport" not in listing
    page.goto(f"{gateway.console}/appeals/{reg_no}")
    assert page.locator("#problem").get_attribute("data-code") == "not-found"


@full_only
def test_a_form_without_the_csrf_token_is_refused(
    gateway: Gateway, accounts: None, page: Any
) -> None:
    sign_in(page, gateway, "admin")
    page.click("text=Реєстр")
    page.locator("#results a[href^='/appeals/']").first.click()
    page.eval_on_selector("#note input[name=csrf]", "e => e.remove()")
    page.fill("#note input[name=text]", "без токена")
    page.click("#note button")
    assert page.locator("#problem").get_attribute("data-code") == "csrf"
    page.go_back()
    page.reload()
    assert "без токена" not in page.inner_text("#timeline")


@full_only
def test_five_wrong_passwords_throttle(gateway: Gateway, page: Any, tmp_path: Path) -> None:
    gateway.add_user("guessed", "viewer", PASSWORD)
    for i in range(5):
        sign_in(page, gateway, "guessed", f"wrong password {i}")
    assert "Забагато невдалих спроб" in page.inner_text("#problem")
    sign_in(page, gateway, "guessed")  # the right password, but throttled
    assert "Забагато невдалих спроб" in page.inner_text("#problem")
    shot(page, "login-throttled", tmp_path)
    assert re.search(r"/login$", page.url)
