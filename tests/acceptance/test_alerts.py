"""Nothing silent, through the running gateway: a staff answer from a personal address in
the council's domain is held and its writer told why; an outside forger gets nothing; a
letter that crashes the worker is held with its whole traceback in the log and no
personal data; and the admin's digest, sent by the scheduler tick through the outbox,
names each held letter's sender, subject, reason and the command to act on it.

The gateway of this module has a site template override with a mistake in it (the
public-information acknowledgement names a value that does not exist), which is how a
real crash happens: every request then fails while rendering its acknowledgement. Its
ticker runs once at start; the test ticks with `appeals tick`, as cron would."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clients import enc, gmail_android_reply, outlook_desktop, owa_reply, thunderbird_reply
from gwtest import wait_for
from harness import Gateway, Letter, by_rcpt, running_gateway

STAFF = "zhkg-staff@council.example"
CITIZEN = "taras.boichuk@outlook.com"
PERSONAL = "i.petrenko@council.example"  # a council address, not one the department answers from
FORGER = "zhkg.lutsk.rada@gmail.com"
REQUESTER = "nadiia.lysenko@meta.ua"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = Path(tmp_path_factory.mktemp("alerts"))
    site = tmp / "site-templates" / "uk" / "citizen"
    site.mkdir(parents=True)
    (site / "info_ack.txt.j2").write_text(
        "Ваш запит № {{ appeal.reg_no }} зареєстровано {{ appeal.registered_by }}.\n",
        encoding="utf-8",
    )
    with running_gateway(
        tmp,
        paths={"template_overrides": str(tmp / "site-templates")},
        reminders={"tick_seconds": 3600},
    ) as gw:
        yield gw


def held(gateway: Gateway) -> list[dict]:
    return json.loads(gateway.cli("holding-pen", "list", "--json"))


PROBLEMS = {
    1: "У під'їзді будинку на вул. Винниченка, 12 другий місяць не працює освітлення, "
    "мешканці ходять з ліхтариками.",
    2: "Біля будинку на вул. Винниченка, 12 з осені відкритий каналізаційний люк, "
    "туди вже падала дитина.",
}


def outlook_desktop_appeal(gateway: Gateway, n: int) -> tuple[Letter, Letter]:
    text = (
        f"Доброго дня!\n\n{PROBLEMS[n]}\n\nЗ повагою,\n"
        "Тарас Бойчук\nм. Луцьк, вул. Винниченка, 12, кв. 44"
    )
    raw = outlook_desktop(
        CITIZEN, "Тарас Бойчук", "zhkg@council.example", "Немає світла в під'їзді", text, n
    )
    gateway.send(raw, CITIZEN, ["zhkg@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    return out[CITIZEN], out[STAFF]


def test_a_held_staff_answer_is_explained_to_its_council_writer(gateway: Gateway) -> None:
    ack, fwd = outlook_desktop_appeal(gateway, 1)
    assert "освітлення" in fwd.text
    gateway.send(
        owa_reply(fwd, PERSONAL, "Іван Петренко", "Електрика замінить лампи до п'ятниці."),
        PERSONAL,
        [str(fwd.msg["Reply-To"])],
    )
    (told,) = gateway.wait_letters(1)
    assert told.rcpt == PERSONAL and told.kind == "department/answer_held"
    assert ack.reg_no in told.subject and "не передано" in told.subject
    assert STAFF in told.text and "staff_addresses" in told.text
    assert "Тарас Бойчук" not in told.text and CITIZEN not in told.text
    assert any(h["reason"] == "unknown-sender" for h in held(gateway))
    # Nothing went to the citizen: the answer waits for a person.
    assert [lt.kind for lt in gateway.letters() if lt.rcpt == CITIZEN] == ["citizen/ack"]


def meta_ua_request() -> bytes:
    """meta.ua webmail: a single text/plain part in windows-1251, 8bit, its own X-Mailer."""
    body = (
        "Прошу надати копію договору на вивезення побутових відходів, укладеного міською "
        "радою у 2026 році, відповідно до Закону України «Про доступ до публічної "
        "інформації».\r\n\r\nНадія Лисенко\r\nм. Луцьк, вул. Рівненська, 5, кв. 8\r\n"
    )
    return (
        f"From: {enc('Надія Лисенко', 'windows-1251')} <{REQUESTER}>\r\n"
        "To: info-request@council.example\r\n"
        f"Subject: {enc('Запит на інформацію: договір на вивезення відходів', 'windows-1251')}\r\n"
        "Date: Thu, 3 Dec 2026 12:01:33 +0200\r\n"
        "Message-ID: <1733220093.918273@webmail.meta.ua>\r\n"
        "X-Mailer: META.ua WebMail\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=windows-1251\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + body.encode("cp1251")


def test_the_forger_gets_nothing_the_crash_is_logged_whole_and_the_admin_gets_a_digest(
    gateway: Gateway,
) -> None:
    ack, fwd = outlook_desktop_appeal(gateway, 2)
    sent_before = len(gateway.letters())
    # 1. An outsider answering as the department: held, and no letter back to them.
    forgery = gmail_android_reply(fwd, FORGER, "ЖКГ Луцьк", "Питання вирішено, звернення закрите.")
    gateway.send(forgery, FORGER, [str(fwd.msg["Reply-To"])])
    # 2. A request that crashes every attempt (the broken site template): held as crash.
    gateway.send(meta_ua_request(), REQUESTER, ["info-request@council.example"])
    # 3. The department answering the citizen's address instead of the forward: held, and
    # the department is told to answer the forward.
    wrong = thunderbird_reply(ack, STAFF, "Департамент ЖКГ", "Лампи замінено.")
    gateway.send(wrong, STAFF, [str(ack.msg["Reply-To"])])
    (told,) = gateway.wait_letters(1)
    assert (told.rcpt, told.kind) == (STAFF, "department/answer_held")
    assert "адресу з листа заявника" in told.text

    def all_held() -> list[dict] | None:
        rows = held(gateway)
        return rows if len(rows) >= 4 and "crash" in {h["reason"] for h in rows} else None

    rows = wait_for(all_held, 60)
    by_reason = {h["reason"]: h for h in rows}  # the latest of each reason
    assert {"unknown-sender", "crash", "department-via-citizen-token"} <= set(by_reason)
    crash = by_reason["crash"]

    # The crash log: every frame, no message text, no names, no addresses.
    log = gateway.log.read_text(errors="replace")
    failure = log[log.index(f"inbound {crash['id']} failed") :]
    failure = failure[: failure.index("\n20")]  # up to the next log record
    assert failure.count('  File "') >= 5, failure
    assert "routing/registration.py" in failure and "jinja2" in failure
    assert "UndefinedError" in failure
    assert "has no attribute" not in failure  # the exception's message is left out
    for personal in ("Лисенко", "Надія", "nadiia", "договору", "відходів"):
        assert personal not in failure
    assert "Лисенко" not in log and "Бойчук" not in log and "boichuk" not in log

    # The digest, by the scheduler tick (`appeals tick`, as cron runs it), to the admin.
    gateway.cli("tick")
    digest = gateway.wait_digest(f"№ {crash['id']}", 30)
    assert digest.rcpt == "admin@council.example"
    body = digest.text
    forged = by_reason["unknown-sender"]
    # Sender, subject, reason and the exact command for each held letter.
    assert f"ЖКГ Луцьк <{FORGER}>" in body
    assert f"Re: {fwd.subject}" in body
    assert f"appeals holding-pen assign {forged['id']} {ack.reg_no}" in body
    assert f"Надія Лисенко <{REQUESTER}>" in body
    assert "Запит на інформацію: договір на вивезення відходів" in body
    assert f"appeals requeue {crash['id']}" in body and "UndefinedError" in body
    via_citizen = by_reason["department-via-citizen-token"]
    assert f"appeals holding-pen assign {via_citizen['id']} {ack.reg_no}" in body
    assert "department-via-citizen-token" in body
    # The forger got nothing: only the department's "answer held" letter went out.
    after = gateway.letters()[sent_before:]
    assert FORGER not in {lt.rcpt for lt in after}
    assert {lt.rcpt for lt in after} <= {STAFF, "admin@council.example"}
    # Ticking again at once sends nothing more: at most one digest per hour.
    count = len(gateway.digests())
    gateway.cli("tick")
    time.sleep(2)
    assert len(gateway.digests()) == count
