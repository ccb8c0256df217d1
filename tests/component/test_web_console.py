"""The web console through Starlette's TestClient on a real SQLite gateway: sign-in,
sessions that expire, CSRF, throttling, roles, the dashboard, the registry and the
appeal page."""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import webtest
from sqlalchemy import select
from starlette.testclient import TestClient

from gateway.app import App
from gateway.clock import ManualClock
from gateway.web.console import build
from models import Appeal, AppealEvent, WebAccount, WebSession

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(make_app: Any, clock: ManualClock) -> App:
    a: App = make_app({"web": {"max_failed_logins": 5, "idle_minutes": 30}}, clock=clock)
    return a


@pytest.fixture
def client(app: App) -> TestClient:
    return TestClient(build(app), base_url="http://127.0.0.1")


def test_pages_need_a_login_and_the_login_opens_them(app: App, client: TestClient) -> None:
    webtest.user(app, "boss", "admin")
    page = client.get("/appeals", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    assert webtest.log_in(client, "boss", "wrong password!").status_code == 401
    done = webtest.log_in(client, "boss")
    assert done.status_code == 303
    assert client.get("/appeals").status_code == 200
    with app.sessions() as s:
        account = s.scalars(select(WebAccount)).one()
        # argon2id, never the password itself.
        assert account.password_hash.startswith("$argon2id$")
        assert webtest.PASSWORD not in account.password_hash
        types = [e.type for e in s.scalars(select(AppealEvent).order_by(AppealEvent.id))]
    assert types[-2:] == ["web-login-failed", "web-login"]


def test_t22_the_session_expires_when_idle_and_logout_ends_it(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    webtest.user(app, "boss", "admin")
    webtest.log_in(client, "boss")
    assert client.get("/").status_code == 200
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200  # a request keeps it alive
    clock.advance(timedelta(minutes=31))
    assert client.get("/", follow_redirects=False).status_code == 303
    webtest.log_in(client, "boss")
    page = client.get("/")
    out = client.post("/logout", data={"csrf": webtest.csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    with app.sessions() as s:
        assert s.scalars(select(WebSession)).all() == []
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_session_ends_at_its_absolute_expiry(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    webtest.user(app, "boss", "admin")
    webtest.log_in(client, "boss")
    for _ in range(12 * 3):  # busy all day: every 20 minutes a request
        clock.advance(timedelta(minutes=20))
        if client.get("/", follow_redirects=False).status_code != 200:
            break
    assert clock.now() - START <= timedelta(hours=12, minutes=20)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_t22_five_wrong_passwords_throttle_the_account(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    webtest.user(app, "boss", "admin")
    codes = [webtest.log_in(client, "boss", f"guess number {i}").status_code for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    # Throttled: even the right password is not tried now.
    refused = webtest.log_in(client, "boss")
    assert refused.status_code == 429
    assert "Забагато невдалих спроб" in refused.text
    clock.advance(timedelta(minutes=16))
    assert webtest.log_in(client, "boss").status_code == 303


def test_t22_a_form_without_the_csrf_token_is_refused(app: App, client: TestClient) -> None:
    webtest.user(app, "boss", "admin")
    # The login form's own token: a login posted from another site has none.
    bare = client.post("/login", data={"username": "boss", "password": webtest.PASSWORD})
    assert bare.status_code == 403
    webtest.log_in(client, "boss")
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in: nothing happened


def test_t22_a_clerk_sees_only_their_departments(app: App, client: TestClient) -> None:
    housing = webtest.register_at(
        app,
        "housing",
        "olena@example.org",
        "Олена Коваль",
        "Протікає дах",
        "Протікає дах у будинку.",
    )
    transport = webtest.register_at(
        app,
        "transport",
        "petro@example.org",
        "Петро Мельник",
        "Яма на дорозі",
        "Велика яма на дорозі.",
    )
    webtest.user(app, "clerk", "clerk", ("housing",))
    webtest.log_in(client, "clerk")
    listing = client.get("/appeals").text
    assert housing in listing
    assert transport not in listing
    assert client.get(f"/appeals/{housing}").status_code == 200
    assert client.get(f"/appeals/{transport}").status_code == 404
    exported = client.get("/appeals.csv").content.decode("utf-8-sig")
    numbers = [r["reg_no"] for r in csv.DictReader(io.StringIO(exported))]
    assert numbers == [housing]


def test_registry_search_filters_paginates_and_exports(app: App, client: TestClient) -> None:
    numbers = [
        webtest.register(
            app,
            f"c{i}@example.org",
            f"Марія Шевчук{i}",
            f"Питання {i}",
            f"Прошу полагодити ліхтар номер {i}.",
        )
        for i in range(7)
    ]
    other = webtest.register(
        app, "taras@example.org", "Тарас Бойко", "Сміття", "Не вивозять сміття з двору."
    )
    webtest.user(app, "viewer", "viewer")
    webtest.log_in(client, "viewer")
    found = client.get("/appeals", params={"citizen": "Тарас"}).text
    assert other in found and numbers[0] not in found
    by_text = client.get("/appeals", params={"text": "ліхтар"}).text
    assert "Знайдено: 7" in by_text and other not in by_text
    by_number = client.get("/appeals", params={"number": numbers[3]}).text
    assert "Знайдено: 1" in by_number
    assert client.get("/appeals", params={"from": "2027-01-01"}).text.count("/appeals/A-") == 0
    # Pagination: the page size is at least 5; with 50 all eight fit on one page.
    assert client.get("/appeals").text.count('href="/appeals/A-') == 8
    exported = client.get("/appeals.csv", params={"text": "ліхтар"}).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert sorted(r["reg_no"] for r in rows) == sorted(numbers)
    # A viewer's file carries no names (only an admin's does).
    assert "citizen" not in rows[0] and "Шевчук" not in exported


def test_registry_pages(make_app: Any, clock: ManualClock) -> None:
    app = make_app({"web": {"page_size": 5}}, clock=clock)
    numbers = [
        webtest.register(
            app, f"p{i}@example.org", f"Іван Петренко{i}", f"Лист {i}", f"Текст звернення {i}."
        )
        for i in range(7)
    ]
    webtest.user(app, "viewer", "viewer")
    client = TestClient(build(app), base_url="http://127.0.0.1")
    webtest.log_in(client, "viewer")
    first = client.get("/appeals").text
    second = client.get("/appeals", params={"page": 2}).text
    assert "сторінка 1 з 2" in first and 'rel="next"' in first
    on_first = {n for n in numbers if n in first}
    on_second = {n for n in numbers if n in second}
    assert len(on_first) == 5 and len(on_second) == 2 and not on_first & on_second


def test_the_appeal_page_shows_the_timeline_and_due_date(app: App, client: TestClient) -> None:
    reg_no = webtest.register(
        app, "olena@example.org", "Олена Коваль", "Протікає дах", "Протікає дах у будинку."
    )
    webtest.user(app, "viewer", "viewer")
    webtest.log_in(client, "viewer")
    page = client.get(f"/appeals/{reg_no}").text
    assert "Протікає дах у будинку." in page
    assert "вхідний лист" in page  # the citizen's letter
    assert "citizen/ack" in page  # the acknowledgement in the outbox
    assert "подія <code>registered</code>" in page
    with app.sessions() as s:
        due = s.scalars(select(Appeal.due_date).where(Appeal.reg_no == reg_no)).one()
    history = page.split('id="due-history"')[1].split("</table>")[0]
    assert f"<td>{due.isoformat()}</td>" in history
    eml = page.split("/out/")[1].split('"')[0]
    letter = client.get(f"/appeals/{reg_no}/out/{eml}")
    assert letter.status_code == 200 and letter.headers["content-type"].startswith("message/rfc822")


def test_the_dashboard_counts(app: App, client: TestClient) -> None:
    for i in range(3):
        webtest.register(
            app, f"d{i}@example.org", f"Оксана Бондар{i}", f"Лист {i}", f"Звернення {i}."
        )
    webtest.user(app, "viewer", "viewer")
    webtest.log_in(client, "viewer")
    page = client.get("/").text
    assert '<div class="card" id="intake-today"><b>3</b>' in page
    # No model in this test gateway: every appeal waits at triage.
    assert 'id="triage-count"><b><a href="/triage">3</a>' in page


def test_no_query_string_or_citizen_name_reaches_the_log(
    app: App, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    webtest.user(app, "viewer", "viewer")
    webtest.log_in(client, "viewer")
    with caplog.at_level(logging.DEBUG):
        client.get("/appeals", params={"citizen": "Тарас Бойко"})
    assert "Бойко" not in caplog.text


def test_registry_number_and_address_searches_and_the_count_cap(
    app: App, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.web import queries

    numbers = [
        webtest.register(
            app, f"n{i}@example.org", f"Ольга Гнатюк{i}", f"Лист {i}", f"Звернення {i}."
        )
        for i in range(6)
    ]
    webtest.user(app, "viewer", "viewer")
    webtest.log_in(client, "viewer")
    # A number's beginning, and the sequence alone.
    year_prefix = numbers[0].rsplit("-", 1)[0]
    assert "Знайдено: 6" in client.get("/appeals", params={"number": year_prefix}).text
    seq = str(int(numbers[2].rsplit("-", 1)[1]))
    page = client.get("/appeals", params={"number": seq}).text
    assert "Знайдено: 1" in page and numbers[2] in page
    # An e-mail address by its beginning.
    page = client.get("/appeals", params={"citizen": "n4@"}).text
    assert "Знайдено: 1" in page and numbers[4] in page
    # Past the cap the count stops ("понад"), and the pages still go on.
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    capped = client.get("/appeals").text
    assert "Знайдено: понад 3" in capped


def test_pages_are_served_while_the_gateway_holds_the_write_lock(app: App) -> None:
    """The console reads in DEFERRED transactions: a page (or a long export) never waits
    for, nor takes, the write lock that intake and the worker commit under."""
    import threading

    webtest.register(app, "olena@example.org", "Олена Коваль", "Протікає дах", "Протікає дах.")
    webtest.user(app, "viewer", "viewer")
    client = TestClient(build(app), base_url="http://127.0.0.1")
    webtest.log_in(client, "viewer")
    got: list[int] = []
    with app.engine.connect() as writer:
        tx = writer.begin()  # BEGIN IMMEDIATE (models.db): what a commit of intake holds
        reader = threading.Thread(
            target=lambda: got.extend(
                client.get(p).status_code for p in ("/", "/appeals", "/appeals.csv")
            )
        )
        reader.start()
        reader.join(timeout=20)  # the busy timeout is 30 s: a waiting page would still wait
        served = list(got)
        tx.rollback()
    reader.join()
    assert served == [200, 200, 200]


@pytest.mark.parametrize(
    "db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
def test_the_on_time_share_of_the_month(
    db: str, make_app: Any, clock: ManualClock, request: pytest.FixtureRequest
) -> None:
    """One appeal answered at 23:30 Kyiv time on its due date, one an hour later (00:30 in
    Kyiv, still the due date in UTC): half on time, on both databases (PostgreSQL counts
    it in SQL, in the legal time zone)."""
    from routing.lifecycle import record_answer

    patch: dict[str, Any] = {}
    if db == "postgresql":
        patch = {"database": {"url": request.getfixturevalue("pg_schema_url")}}
    app = make_app(patch, clock=clock)
    numbers = [
        webtest.register(
            app, f"t{i}@example.org", f"Ніна Ковальчук{i}", f"Лист {i}", f"Звернення {i}."
        )
        for i in range(2)
    ]
    with app.sessions.begin() as s:
        for reg_no, late in zip(numbers, (0, 60), strict=True):
            a = s.scalars(select(Appeal).where(Appeal.reg_no == reg_no)).one()
            a.due_date = START.date()
            # 23:30 in Kyiv (21:30 UTC) on the due date, and 00:30 of the next day.
            answered = START.replace(hour=21, minute=30) + timedelta(minutes=late)
            record_answer(a, answered, final=True)
    clock.advance(timedelta(days=2))
    webtest.user(app, "viewer", "viewer")
    client = TestClient(build(app), base_url="http://127.0.0.1")
    webtest.log_in(client, "viewer")
    page = client.get("/").text
    assert '<div class="card" id="on-time"><b>50%</b>вчасно цього місяця (2 закрито)' in page
