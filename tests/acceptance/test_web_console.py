"""The web console served by `appeals run` (the web role beside SMTP, worker and sender):
an admin made with `appeals user add` signs in over HTTP, finds the citizen's appeal in the
registry and reads its timeline; a viewer can change nothing."""

from __future__ import annotations

import re

import httpx2
from harness import Gateway, by_rcpt

PASSWORD = "Луцьк-консоль-2026"


def _client(gateway: Gateway) -> httpx2.Client:
    return httpx2.Client(base_url=gateway.console, timeout=30, follow_redirects=True)


def _log_in(client: httpx2.Client, name: str, password: str = PASSWORD) -> httpx2.Response:
    client.get("/login")
    return client.post(
        "/login",
        data={"csrf": client.cookies["appeals_login"], "username": name, "password": password},
    )


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


PROBLEMS = {
    1: "Третій тиждень не працює ліфт у нашому під'їзді, літні люди не можуть вийти з дому.",
    2: "У підвалі нашого будинку стоїть вода, сирість піднімається до квартир першого поверху.",
}


def _appeal(gateway: Gateway, n: int) -> str:
    gateway.send(
        "From: Ганна Литвин <hanna.lytvyn@ukr.net>\nTo: zhkg@council.example\n"
        f"Subject: Звернення {n}\nMessage-ID: <web-{n}@ukr.net>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"Добрий день. {PROBLEMS[n]} Прошу вжити заходів.\n\nГанна Литвин\nм. Луцьк, вул. Шопена, 9, кв. 41\n",
        "hanna.lytvyn@ukr.net",
        ["zhkg@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    return out["hanna.lytvyn@ukr.net"].reg_no


def test_an_admin_finds_the_appeal_and_reads_its_timeline(gateway: Gateway) -> None:
    reg_no = _appeal(gateway, 1)
    gateway.add_user("admin", "admin", PASSWORD)
    with _client(gateway) as client:
        assert client.get("/", follow_redirects=False).status_code == 303
        assert _log_in(client, "admin", "not the password").status_code == 401
        assert _log_in(client, "admin").status_code == 200  # the dashboard after the redirect
        found = client.get("/appeals", params={"citizen": "Литвин"}).text
        assert f'href="/appeals/{reg_no}"' in found
        page = client.get(f"/appeals/{reg_no}").text
        assert "Третій тиждень не працює ліфт" in page
        assert "citizen/ack" in page and "department/assigned" in page
    # The search by a citizen's name left no trace of the name in the gateway's log.
    assert "Литвин" not in gateway.log.read_text(encoding="utf-8", errors="replace")


def test_a_clerk_extends_the_term_and_the_citizen_gets_the_letter(gateway: Gateway) -> None:
    reg_no = _appeal(gateway, 2)
    gateway.add_user("clerk", "clerk", PASSWORD, "housing")
    with _client(gateway) as client:
        _log_in(client, "clerk")
        page = client.get(f"/appeals/{reg_no}").text
        done = client.post(
            f"/appeals/{reg_no}/extend",
            data={"csrf": _csrf(page), "days": "10", "reason": "потрібне обстеження підвалу"},
        )
        assert 'id="notice"' in done.text
    (letter,) = gateway.wait_letters(1)
    assert letter.rcpt == "hanna.lytvyn@ukr.net" and reg_no in letter.subject
    assert "потрібне обстеження підвалу" in letter.text


def test_a_viewer_changes_nothing(gateway: Gateway) -> None:
    gateway.add_user("viewer", "viewer", PASSWORD)
    with _client(gateway) as client:
        _log_in(client, "viewer")
        page = client.get("/appeals").text
        reg_no = re.findall(r'href="/appeals/([A-Z]-[0-9-]+)"', page)[0]
        refused = client.post(
            f"/appeals/{reg_no}/note", data={"csrf": _csrf(page), "text": "спроба"}
        )
        assert refused.status_code == 403
        detail = client.get(f"/appeals/{reg_no}").text
        assert "спроба" not in detail
        out = client.post("/logout", data={"csrf": _csrf(page)}, follow_redirects=False)
        assert out.status_code == 303
        assert client.get("/", follow_redirects=False).status_code == 303


def test_the_gateway_pages_and_a_report_download(gateway: Gateway) -> None:
    gateway.add_user("boss", "admin", PASSWORD)
    with _client(gateway) as client:
        _log_in(client, "boss")
        assert "zhkg-staff@council.example" in client.get("/departments").text
        models = client.get("/classifier").text
        assert "<strong>активна</strong>" in models  # the starter model appeals run trained
        got = client.get(
            "/reports/download",
            params={"kind": "registry", "format": "csv", "from": "2020-01-01", "to": "2030-12-31"},
        )
        assert got.status_code == 200
        assert got.headers["content-disposition"] == 'attachment; filename="registry.csv"'
        assert "A-" in got.content.decode("utf-8-sig")
        assert client.get("/triage").status_code == 200 and client.get("/held").status_code == 200
