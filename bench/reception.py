"""Internet-reception form submissions per second end to end, beside e-mail intake in
the same run.

A real `appeals run` (SQLite, one worker process, the shipped settings with the rate
limits and the minimum fill time off) with an aiosmtpd sink as its smarthost. Two phases,
one after the other so that each has the machine to itself:

- e-mail: N appeals over SMTP from `--clients` concurrent sessions;
- form: N submissions over HTTP from `--clients` concurrent clients, each as a browser
  does it (GET /reception for the token and cookie, POST the form, follow the redirect to
  the receipt page).

For each phase: how fast the gateway accepted them (250 replies / 303 redirects per
second) and how fast they were registered end to end (from the first submission until
the N-th appeal of that form of receipt is in the registry: screening, numbering,
routing, the acknowledgement and the forward queued), and the ratio form / e-mail.

Run: .venv/bin/python bench/reception.py [--n 200] [--clients 8]
"""

from __future__ import annotations

import argparse
import re
import smtplib
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import gwtest  # noqa: E402
import httpx2  # noqa: E402

PROBLEMS = [
    "Не працює вуличне освітлення біля будинку, ввечері дуже темно і небезпечно.",
    "У під'їзді третій тиждень не працює ліфт, літні люди не можуть вийти з дому.",
    "На дорозі глибока яма, вчора там пошкодили автомобіль, прошу відремонтувати.",
    "Біля школи не вивозять сміття вже два тижні, контейнери переповнені.",
]


class Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def registered(db: Path, form: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute("SELECT count(*) FROM appeal WHERE receipt_form = ?", (form,)).fetchone()
    return int(row[0])


def wait_registered(db: Path, form: str, n: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if registered(db, form) >= n:
            return time.monotonic()
        time.sleep(0.05)
    raise SystemExit(f"only {registered(db, form)} of {n} {form} appeals registered")


def email_phase(port: int, n: int, clients: int) -> float:
    def send(i: int) -> None:
        body = (
            f"From: Citizen {i} <mail{i}@example.org>\r\nTo: appeals@council.example\r\n"
            f"Subject: Звернення {i}\r\n"
            f"Message-ID: <bench-mail-{i}-{time.time_ns()}@example.org>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
            f"{PROBLEMS[i % 4]} Звернення {i}.\r\n\r\nЗ повагою,\r\nКоваленко Марія\r\n"
            f"Адреса: м. Луцьк, вул. Волі, {i % 90 + 1}\r\n"
        ).encode()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail(f"mail{i}@example.org", ["appeals@council.example"], body)

    start = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, range(n)))
    return time.monotonic() - start


def form_phase(base: str, n: int, clients: int) -> float:
    token = re.compile(r'name="form_token" value="([^"]+)"')

    def submit(i: int) -> None:
        with httpx2.Client(base_url=base, timeout=60) as c:
            page = c.get("/reception")
            m = token.search(page.text)
            assert m, page.text[:300]
            sent = c.post(
                "/reception",
                data={
                    "form_token": m.group(1),
                    "lang": "uk",
                    "kind": "appeal",
                    "name": "Коваленко Марія Іванівна",
                    "address": f"м. Луцьк, вул. Волі, {i % 90 + 1}",
                    "email": f"form{i}@example.org",
                    "text": f"{PROBLEMS[i % 4]} Звернення {i}.",
                    "consent": "yes",
                },
            )
            assert sent.status_code == 303, (sent.status_code, sent.text[:300])
            c.get(sent.headers["location"])

    start = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(submit, range(n)))
    return time.monotonic() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    from aiosmtpd.controller import Controller

    relay_port = gwtest.free_port()
    sink = Controller(Sink(), hostname="127.0.0.1", port=relay_port)
    sink.start()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        port = gwtest.free_port()
        settings = gwtest.write_settings(
            tmp,
            port,
            relay_port,
            reception={"per_client_per_hour": 0, "per_client_per_minute": 0, "min_fill_seconds": 0},
            trust={"max_new_appeals_per_hour": 0},
            outbound={"max_per_recipient_per_day": 100000},
        )
        log = tmp / "gateway.log"
        proc = gwtest.start(settings, log)
        try:
            base = gwtest.console_url(log)
            db = tmp / "var" / "appeals.db"
            t0 = time.monotonic()
            accept_mail = email_phase(port, args.n, args.clients)
            done_mail = wait_registered(db, "email", args.n) - t0
            t1 = time.monotonic()
            accept_form = form_phase(base, args.n, args.clients)
            done_form = wait_registered(db, "web_form", args.n) - t1
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            sink.stop()
    n = args.n
    print(f"{n} appeals each way, {args.clients} concurrent clients, SQLite, one worker")
    print(f"{'':10} {'accepted/s':>11} {'registered/s':>13}")
    print(f"{'e-mail':10} {n / accept_mail:11.1f} {n / done_mail:13.1f}")
    print(f"{'form':10} {n / accept_form:11.1f} {n / done_form:13.1f}")
    print(
        f"form / e-mail: accepted {accept_mail / accept_form:.2f}x, "
        f"registered end to end {done_mail / done_form:.2f}x"
    )


if __name__ == "__main__":
    main()
