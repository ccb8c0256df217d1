"""Reminders after a catch-up, through the running gateway: an appeal whose term ran out
while the gateway was away (its dates moved into the past in the gateway's own database,
as a restored backup or a long outage leaves them) gets, at the next tick, the latest
overdue reminder and the escalation, never the before-due reminders whose time has passed
("до строку відповіді -13 дн."), and no later tick sends them."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from harness import Gateway, by_rcpt
from letter_clients import ukrnet

KYIV = ZoneInfo("Europe/Kyiv")


# The scheduler ticks every second and may send at any hour, so the test does not depend
# on when it runs.
GATEWAY_SETTINGS = {
    "reminders": {
        "window_start": dtime(0, 0),
        "window_end": dtime(23, 59, 59),
        "working_days_only": False,
        "tick_seconds": 1,
    }
}


def ukrnet_appeal() -> str:
    body = (
        "Добрий день!\n\nБіля нашого будинку другий місяць не горять вуличні "
        "ліхтарі, увечері на тротуарі темно.\n\nЗ повагою,\nГанна Кузьмівна Бондар\n"
        "м. Луцьк, вул. Рівненська, 56, кв. 12\n"
    )
    return ukrnet(
        "1765184553.55103.83214.ukrnet@frv53.fwdcdn.com",
        ("Ганна Бондар", "h.bondar@ukr.net"),
        "zhkg@council.example",
        "Не горять ліхтарі",
        body,
    )


def _db(gateway: Gateway) -> sqlite3.Connection:
    return sqlite3.connect(gateway.tmp / "var" / "appeals.db", timeout=30)


def test_after_a_catch_up_only_the_current_steps_are_sent(gateway: Gateway) -> None:
    gateway.send(ukrnet_appeal(), "h.bondar@ukr.net", ["zhkg@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    ack, fwd = out["h.bondar@ukr.net"], out["zhkg-staff@council.example"]
    reg_no = ack.reg_no
    # The term ran out eight days ago while nobody was there to send the reminders. A
    # restored backup also holds the scan's plan from back then, already in the past: the
    # receipt time stands for it (as migration 0013 sets it for appeals that predate it).
    today = datetime.now(UTC).astimezone(KYIV).date()
    due = today - timedelta(days=8)
    with _db(gateway) as db:
        changed = db.execute(
            "UPDATE appeal SET receipt_date = ?, due_date = ?, next_reminder_at = received_at"
            " WHERE reg_no = ?",
            ((due - timedelta(days=30)).isoformat(), due.isoformat(), reg_no),
        ).rowcount
    assert changed == 1
    got = by_rcpt(gateway.wait_letters(3, timeout=60))
    overdue = got["zhkg-staff@council.example"]
    assert overdue.subject == f"[{reg_no}] ПРОСТРОЧЕНО на 8 дн."
    assert f"минув {due.strftime('%d.%m.%Y')}" in overdue.text
    assert "(прострочено на 8 дн.)" in overdue.text
    escalation = got["zhkg-head@council.example"]
    assert got["admin@council.example"].raw == escalation.raw
    assert escalation.subject.startswith(f"[{reg_no}] Ескалація: звернення прострочене на 8 дн.")
    # The department's reminder answers the forward: its own conversation.
    assert overdue.msg["In-Reply-To"] == fwd.msg["Message-ID"]
    for letter in got.values():
        assert "до строку відповіді" not in letter.subject + letter.text
    # The passed steps were recorded as skipped, so no later tick sends them.
    time.sleep(4)
    later = gateway.letters()[5:]  # after the acknowledgement, forward and these three
    assert later == [], [lt.subject for lt in later]
    with _db(gateway) as db:
        rows = db.execute(
            "SELECT step_key, skipped FROM reminder_sent r JOIN appeal a ON a.id = r.appeal_id "
            "WHERE a.reg_no = ?",
            (reg_no,),
        ).fetchall()
    # Steps are recorded per due date ("overdue-6@2026-11-26").
    assert {key.split("@")[1] for key, _ in rows} == {due.isoformat()}
    done = {key.split("@")[0]: bool(skipped) for key, skipped in rows}
    assert done == {
        "before-5": True,
        "before-1": True,
        "due-0": True,
        "overdue-3": True,
        "overdue-6": False,
        "escalate-7": False,
    }, rows
