"""Sending and the reminder schedule through the running gateway, with the directory
transport (no relay configured): a Thunderbird letter in windows-1251 gets its
acknowledgement and forward written once each, named by their Message-ID, every attempt
recorded; the ticker stores the appeal's next reminder time (the window opening on the
`before-5` day); an Outlook final answer from the department closes the appeal and clears it.
"""

from __future__ import annotations

import email
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import gwtest
import pytest
from conftest import CaptureRelay
from harness import Gateway, Letter
from test_commands_and_requests import outlook_reply

from gateway.outbound.transport import file_name

KYIV = ZoneInfo("Europe/Kyiv")
CITIZEN = "taras.bondar@ukr.net"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    unused = CaptureRelay("127.0.0.1", gwtest.free_port())  # no relay: .eml files instead
    gw = Gateway(
        Path(tmp_path_factory.mktemp("gw")),
        unused,
        outbound={"relay_host": ""},
        # A window open all day, every day, so the running ticker plans at any hour.
        reminders={
            "window_start": "00:00:00",
            "window_end": "23:59:00",
            "working_days_only": False,
            "tick_seconds": 1,
        },
    ).start()
    try:
        yield gw
        problems = gw.uncharacterised()
        assert not problems, "\n".join(problems)
    finally:
        gw.stop()


def thunderbird_cp1251() -> bytes:
    body = (
        "Добрий день!\r\n\r\nУ дворі будинку на вул. Лесі Українки, 40 третій тиждень не "
        "вивозять сміття, контейнери переповнені.\r\nПрошу вжити заходів.\r\n\r\n"
        "Тарас Бондар\r\nм. Луцьк, вул. Лесі Українки, 40, кв. 12\r\n"
    )
    head = (
        "Message-ID: <5b1e0c7a-2f43-4d1e-9a55-0c6f1e2d3b4a@ukr.net>\r\n"
        "Date: Fri, 4 Dec 2026 09:12:40 +0200\r\n"
        "MIME-Version: 1.0\r\n"
        "User-Agent: Mozilla Thunderbird\r\n"
        "Content-Language: uk\r\n"
        f"To: zhkg@council.example\r\nFrom: =?windows-1251?B?0uDw4PEgwe7t5ODw?= <{CITIZEN}>\r\n"
        "Subject: =?windows-1251?B?zeUg4uji7uf/8vwg8eyz8vL/?=\r\n"
        "Content-Type: text/plain; charset=windows-1251; format=flowed\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return head.encode("ascii") + body.encode("cp1251")


def files(gw: Gateway) -> dict[str, EmailMessage]:
    out = gw.tmp / "var" / "outbox"
    return {
        f.name: cast(EmailMessage, email.message_from_bytes(f.read_bytes(), policy=policy.default))
        for f in sorted(out.glob("*.eml"))
    }


def db(gw: Gateway, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(gw.tmp / "var" / "appeals.db") as c:
        return c.execute(sql).fetchall()


def test_letters_written_once_by_message_id_and_the_reminder_time_kept(gateway: Gateway) -> None:
    gateway.send(thunderbird_cp1251(), CITIZEN, ["zhkg@council.example"])
    written = gwtest.wait_for(lambda: (got := files(gateway)) and len(got) >= 2 and got)
    assert len(written) == 2
    for name, msg in written.items():
        assert name == file_name(msg.as_bytes())  # named by its Message-ID
    ((mid_ack, mid_fwd),) = [
        (str(a["Message-ID"]), str(f["Message-ID"]))
        for a in written.values()
        for f in written.values()
        if str(a["X-Envelope-To"]) == f"<{CITIZEN}>" and a is not f
    ]
    rows = dict(db(gateway, "SELECT message_id, state FROM outbound_message"))
    assert rows == {mid_ack: "sent", mid_fwd: "sent"}
    assert db(gateway, "SELECT outcome FROM delivery_attempt") == [("sent",), ("sent",)]
    ack = next(m for m in written.values() if str(m["Message-ID"]) == mid_ack)
    fwd = next(m for m in written.values() if str(m["Message-ID"]) == mid_fwd)
    # windows-1251 read right: the name (in the vocative) in the acknowledgement, the text in
    # the forward.
    assert "Шановний пане Тарасе!" in ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "третій тиждень не вивозять сміття" in fwd.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # The running ticker (every second) plans the new appeal: its next step is `before-5`.
    ((due,),) = db(gateway, "SELECT due_date FROM appeal")
    before_5 = date.fromisoformat(str(due)) - timedelta(days=5)
    expected = datetime.combine(before_5, time(0, 0), tzinfo=KYIV).astimezone(UTC)

    def planned() -> bool:
        ((at,),) = db(gateway, "SELECT next_reminder_at FROM appeal")
        return at is not None and datetime.fromisoformat(str(at)).replace(tzinfo=UTC) == expected

    gwtest.wait_for(planned, timeout=30)

    # The department's final answer, from Outlook, closes the appeal: no more reminders.
    dept = str(fwd["X-Envelope-To"]).strip("<>")
    letter = Letter(dept, fwd.as_bytes(), fwd)
    gateway.send(
        outlook_reply(letter, dept, "Сміття вивезено 04.12.2026, графік вивезення відновлено.", 1),
        dept,
        [str(fwd["Reply-To"])],
    )
    gwtest.wait_for(lambda: db(gateway, "SELECT state FROM appeal") == [("closed",)], timeout=30)
    assert db(gateway, "SELECT next_reminder_at FROM appeal") == [(None,)]
    later = gwtest.wait_for(lambda: (got := files(gateway)) and len(got) >= 3 and got)
    answer = [m for n, m in later.items() if n not in written]
    assert [str(m["X-Envelope-To"]) for m in answer] == [f"<{CITIZEN}>"]
