"""The web console's pages over many appeals (default 100,000 on SQLite; `--pg URL` for
PostgreSQL, e.g. with `--rows 1000000`): p50 and p95 per page, over real HTTP to the
console served by uvicorn as `appeals web` serves it, against the 200 ms target.

Data: N appeals over the last year (75% closed, the rest waiting at 12 departments, some
overdue, some at triage), each with a citizen's name and e-mail, a subject and a text of
about 600 characters, one inbound message, three events and one outbound letter; 200 held
messages. Pages: the dashboard, the registry (first page, a page deep in it, by number,
by citizen, by text, by department and state, by dates), one appeal's page, triage, the
holding pen and a CSV export of one department's month. Each is fetched 3 times to warm
up, then `--repeat` times (default 30), signed in as an admin (everything in view).

Run: .venv/bin/python bench/console.py [--rows N] [--repeat K] [--pg URL [--reuse]]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, insert, select, text  # noqa: E402

from gateway.app import build_app, prepare  # noqa: E402
from gateway.clock import ManualClock  # noqa: E402
from gateway.settings import settings_from_dict  # noqa: E402
from gateway.web.accounts import add_user  # noqa: E402
from models import (  # noqa: E402
    Appeal,
    AppealEvent,
    Department,
    InboundMessage,
    OutboundMessage,
)

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
TARGET_MS = 200.0
GIVEN = ["Олена", "Петро", "Марія", "Тарас", "Ганна", "Іван", "Оксана", "Андрій", "Ірина", "Юрій"]
SURNAMES = ["Коваль", "Мельник", "Шевчук", "Бойко", "Ткаченко", "Литвин", "Бондар", "Кравець"]
PROBLEMS = [
    "не працює ліфт у під'їзді",
    "протікає дах над квартирою",
    "не світять ліхтарі у дворі",
    "велика яма на дорозі біля школи",
    "не вивозять сміття з контейнерного майданчика",
    "у підвалі стоїть вода",
    "не працює світлофор на перехресті",
    "зламані гойдалки на дитячому майданчику",
]
TOPICS = ["housing", "roads_transport", "landscaping", "social", "ecology", "public_order"]


def _settings(url: str, tmp: Path) -> Any:
    import tomllib

    data = tomllib.loads((REPO / "settings.toml").read_text(encoding="utf-8"))
    data["paths"]["var_dir"] = str(tmp)
    data["database"]["url"] = url
    data["classifier"]["train_on_first_run"] = False
    data["web"]["listen"] = "127.0.0.1:0"
    return settings_from_dict(data, base_dir=REPO, env={"APPEALS_TOKEN_KEY": "bench"})


def seed(app: Any, rows: int) -> None:
    rng = random.Random(7)
    with app.sessions() as s:
        depts = list(s.scalars(select(Department.id).order_by(Department.id)))
        triage = s.scalars(select(Department.id).where(Department.is_triage.is_(True))).one()
    appeals, inbound, events, outbound = [], [], [], []
    start = time.perf_counter()

    def flush() -> None:
        with app.sessions.begin() as s:
            for table, chunk in (
                (Appeal, appeals),
                (InboundMessage, inbound),
                (AppealEvent, events),
                (OutboundMessage, outbound),
            ):
                if chunk:
                    s.execute(insert(table), chunk)
        for chunk in (appeals, inbound, events, outbound):
            chunk.clear()

    for i in range(1, rows + 1):
        # Later numbers are newer, as in a register.
        received = NOW - timedelta(days=365 * (rows - i) / rows, minutes=rng.randint(0, 600))
        receipt = received.date()
        due = receipt + timedelta(days=30)
        is_open = rng.random() < 0.25 or due >= NOW.date()
        name = f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}{i % 997}"
        email = f"citizen{i}@example.org"
        problem = rng.choice(PROBLEMS)
        body = (
            f"Добрий день. Звертаюся до вас, бо {problem}. " * 6
            + f"Прошу вжити заходів. З повагою, {name}, м. Луцьк, вул. Волі, {i % 120}."
        )
        dept = triage if is_open and i % 40 == 0 else depts[i % len(depts)]
        appeals.append(
            {
                "id": i,
                "reg_no": f"A-{receipt.year}-{i:06d}",
                "reg_year": receipt.year,
                "reg_seq": i,
                "kind": "appeal" if i % 10 else "info_request",
                "urgent": False,
                "received_at": received,
                "receipt_date": receipt,
                "due_date": due,
                "state": "routed" if is_open else "closed",
                "topic": TOPICS[i % len(TOPICS)],
                "confidence": 0.3 if dept == triage else 0.8,
                "department_id": dept,
                "citizen_name": name,
                "citizen_email": email,
                "language": "uk",
                "subject": f"Звернення: {problem}",
                "text": body,
                "repeat_status": "primary",
                "collective": False,
                "signatories": 1,
                "anonymous": False,
                "priority": 0,
                "extended_days": 0,
                "delivery_failed": False,
                "inbound_id": i,
                "flags": {},
                "closed_at": None if is_open else received + timedelta(days=rng.randint(3, 35)),
                "result": None if is_open else "explained",
            }
        )
        inbound.append(
            {
                "id": i,
                "raw_sha256": f"{i:064x}",
                "size": 2000,
                "source": "smtp",
                "mail_from": email,
                "rcpt_tos": ["appeals@council.example"],
                "received_at": received,
                "state": "processed",
                "reason": "registered",
                "attempts": 1,
                "appeal_id": i,
                "role": "appeal",
                "info": {},
            }
        )
        for kind, data in (
            ("registered", {"due_date": due.isoformat(), "due_rule": "appeal-30d"}),
            ("classified", {"top_k": [["housing", 0.5], ["social", 0.3], ["other", 0.1]]}),
            ("routed", {"department": "housing", "reason": "topic"}),
        ):
            events.append(
                {"appeal_id": i, "at": received, "type": kind, "actor": "system", "data": data}
            )
        outbound.append(
            {
                "kind": "citizen/ack",
                "appeal_id": i,
                "message_id": f"<ack-{i}@bench>",
                "envelope_from": "appeals@council.example",
                "recipients": [email],
                "first_recipient": email,
                "audience": "citizen",
                "subject": f"[{i}] Ваше звернення зареєстровано",
                "raw": b"Subject: ack\r\n\r\nack\r\n",
                "automatic": True,
                "state": "sent",
                "attempts": 1,
                "created_at": received,
                "next_attempt_at": received,
                "sent_at": received,
                "failed_recipients": [],
            }
        )
        if len(appeals) >= 5000:
            flush()
    flush()
    with app.sessions.begin() as s:
        s.execute(
            insert(InboundMessage),
            [
                {
                    "id": rows + 1 + k,
                    "raw_sha256": f"h{k:063x}",
                    "size": 100,
                    "source": "smtp",
                    "mail_from": f"held{k}@example.org",
                    "rcpt_tos": ["appeals@council.example"],
                    "received_at": NOW - timedelta(hours=k),
                    "state": "held",
                    "reason": "unmatched-reply",
                    "attempts": 1,
                    "info": {},
                }
                for k in range(200)
            ],
        )
    analyse(app)
    print(f"seeded {rows:,} appeals in {time.perf_counter() - start:.0f} s", flush=True)


def analyse(app: Any) -> None:
    """Statistics for the planner; on PostgreSQL also the visibility map that index-only
    scans need (autovacuum's work on a live database, done at once after a bulk load)."""
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    else:
        with app.engine.begin() as c:
            c.execute(text("ANALYZE"))


def measure(base: str, paths: list[tuple[str, str]], repeat: int) -> list[tuple[str, float, float]]:
    import httpx2

    out = []
    with httpx2.Client(base_url=base, timeout=120, follow_redirects=True) as client:
        client.get("/login")
        r = client.post(
            "/login",
            data={
                "csrf": client.cookies["appeals_login"],
                "username": "bench",
                "password": "bench password 1",
            },
        )
        assert r.status_code == 200, r.status_code
        for label, path in paths:
            times = []
            for k in range(3 + repeat):
                t = time.perf_counter()
                resp = client.get(path)
                resp.read()
                elapsed = (time.perf_counter() - t) * 1000
                assert resp.status_code == 200, (path, resp.status_code)
                if k >= 3:
                    times.append(elapsed)
            times.sort()
            p50 = statistics.median(times)
            p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
            out.append((label, p50, p95))
            print(
                f"  {label:<34} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms"
                f"  p95/target {p95 / TARGET_MS:5.2f}",
                flush=True,
            )
    return out


def run(url: str, rows: int, repeat: int, tmp: Path, reuse: bool = False) -> None:
    from gateway.web.server import ConsoleServer
    from models import WebAccount

    app = build_app(_settings(url, tmp), clock=ManualClock(NOW))
    prepare(app)
    with app.sessions() as s:
        have = s.scalar(select(func.count(Appeal.id))) or 0
        user = s.scalars(select(WebAccount).where(WebAccount.username == "bench")).first()
    if reuse and have:
        rows = have  # a database this script seeded before (--reuse)
        print(f"reusing {rows:,} appeals", flush=True)
        analyse(app)
    else:
        seed(app, rows)
    if user is None:
        add_user(app.sessions, "bench", "bench password 1", "admin", (), now=NOW)
    server = ConsoleServer(app)
    stop = threading.Event()
    server.start(stop)
    base = f"http://127.0.0.1:{server.port()}"
    mid = rows // 2
    with app.sessions() as s:
        reg_mid = s.scalars(select(Appeal.reg_no).where(Appeal.id == mid)).one()
    month = (NOW - timedelta(days=40)).date()
    paths = [
        ("dashboard", "/"),
        ("registry, first page", "/appeals"),
        ("registry, page 1000", "/appeals?page=1000"),
        ("registry, by number", f"/appeals?number={reg_mid}"),
        ("registry, by citizen name", "/appeals?citizen=Литвин5"),
        ("registry, by citizen e-mail", f"/appeals?citizen=citizen{mid}@"),
        ("registry, by text", "/appeals?text=гойдалки"),
        ("registry, department + open", "/appeals?department=housing&state=open"),
        ("registry, overdue", "/appeals?overdue=1"),
        ("registry, one month", f"/appeals?from={month}&to={month + timedelta(days=30)}"),
        ("appeal page", f"/appeals/{reg_mid}"),
        ("triage", "/triage"),
        ("holding pen", "/held"),
        (
            "CSV, one department's month",
            f"/appeals.csv?department=housing&from={month}&to={month + timedelta(days=30)}",
        ),
    ]
    print(f"{app.engine.dialect.name}, {rows:,} appeals, {repeat} requests per page:")
    results = measure(base, paths, repeat)
    stop.set()
    worst = max(results, key=lambda r: r[2])
    over = [r[0] for r in results if r[2] > TARGET_MS]
    print(
        f"worst p95: {worst[0]} {worst[2]:.1f} ms ({worst[2] / TARGET_MS:.2f} of the target); "
        f"over {TARGET_MS:.0f} ms: {', '.join(over) if over else 'none'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--pg", help="PostgreSQL URL (an empty database; its tables are created)")
    ap.add_argument(
        "--reuse", action="store_true", help="with --pg: measure a database seeded before"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg or f"sqlite:///{Path(tmp) / 'bench.db'}"
        run(url, args.rows, args.repeat, Path(tmp), reuse=args.reuse and bool(args.pg))


if __name__ == "__main__":
    main()
