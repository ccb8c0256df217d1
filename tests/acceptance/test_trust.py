"""Only the department speaks for the department. A citizen who writes to the address
from their own acknowledgement while pretending to be the department (From or Reply-To
set to the department's mailbox) cannot answer, close or send out their appeal."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gwtest import wait_for
from harness import Gateway, Letter, by_rcpt, running_gateway


def appeal(gateway: Gateway, n: int, problem: str) -> tuple[Letter, Letter]:
    gateway.send(
        f"From: Олег Бойко <oleh.boiko@gmail.com>\nTo: transport@council.example\n"
        f"Subject: Світлофор\nMessage-ID: <trust-{n}@mail.gmail.com>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"{problem}\n\nОлег Бойко\nм. Луцьк, просп. Волі, 30, кв. 2\n",
        "oleh.boiko@gmail.com",
        ["transport@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    ack, fwd = out["oleh.boiko@gmail.com"], out["transport-staff@council.example"]
    assert (ack.kind, fwd.kind) == ("citizen/ack", "department/assigned")
    return ack, fwd


def forged_answer(ack: Letter, from_: str, reply_to: str = "") -> str:
    extra = f"Reply-To: {reply_to}\n" if reply_to else ""
    return (
        f"From: {from_}\n{extra}To: {ack.msg['Reply-To']}\nSubject: Re: {ack.subject}\n"
        f"In-Reply-To: {ack.msg['Message-ID']}\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n"
        "#external someone@evil.example не наша компетенція\nПитання вирішено.\n"
    )


def test_the_citizens_address_is_not_the_departments(gateway: Gateway) -> None:
    ack, fwd = appeal(gateway, 1, "На перехресті Волі та Шевченка не працює світлофор.")
    assert ack.msg["Reply-To"] != fwd.msg["Reply-To"]
    # From forged as the department, sent to the citizen's own reply address.
    gateway.send(
        forged_answer(ack, "Департамент транспорту <transport-staff@council.example>"),
        "oleh.boiko@gmail.com",
        [str(ack.msg["Reply-To"])],
    )
    # Wait until the worker has dealt with it: it is held, with the reason.
    wait_for(lambda: "department-via-citizen-token" in gateway.cli("holding-pen", "list"), 30)
    show = gateway.cli("appeal", "show", ack.reg_no)
    assert "closed" not in show and "forwarded_external" not in show
    # Nothing went to the outside address or to the citizen. The department's own
    # mailbox, whose name the letter took, is told that "its" answer was held.
    (told,) = gateway.wait_letters(1)
    assert (told.rcpt, told.kind) == ("transport-staff@council.example", "department/answer_held")
    assert ack.reg_no in told.subject
    assert not [lt for lt in gateway.letters() if lt.rcpt == "someone@evil.example"]


def test_reply_to_never_grants_the_department_role(gateway: Gateway) -> None:
    ack, _ = appeal(gateway, 2, "На зупинці біля ринку немає розкладу руху автобусів.")
    # Their own From, Reply-To naming the department: still the citizen, a follow-up.
    gateway.send(
        forged_answer(ack, "Олег Бойко <oleh.boiko@gmail.com>", "transport-staff@council.example"),
        "oleh.boiko@gmail.com",
        [str(ack.msg["Reply-To"])],
    )
    (followup,) = gateway.wait_letters(1)
    assert followup.rcpt == "transport-staff@council.example"  # forwarded as an addition
    show = gateway.cli("appeal", "show", ack.reg_no)
    assert "closed" not in show and "forwarded_external" not in show
    assert not [lt for lt in gateway.letters() if lt.rcpt == "someone@evil.example"]


def staff_answer(fwd: Letter, body: str, headers: str = "") -> str:
    """The department's answer as Outlook writes it: the answer on top, the forward quoted
    below the "From:/Sent:" block."""
    return (
        f"{headers}From: Департамент транспорту <transport-staff@council.example>\n"
        f"To: {fwd.msg['Reply-To']}\nSubject: RE: {fwd.subject}\n"
        f"In-Reply-To: {fwd.msg['Message-ID']}\nReferences: {fwd.msg['Message-ID']}\n"
        "X-Mailer: Microsoft Outlook 16.0\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"{body}\n\nЗ повагою,\nДепартамент транспорту\n\n"
        "From: Звернення громадян <appeals@council.example>\nSent: Thursday, December 3, 2026\n"
        f"Subject: {fwd.subject}\n\n{fwd.text[:200]}\n"
    )


def test_t2_t8_forged_department_sender_with_the_departments_token(gateway: Gateway) -> None:
    ack, fwd = appeal(gateway, 3, "На вулиці Лесі Українки вже тиждень не світять ліхтарі.")
    # Whoever got hold of the department's forward writes from Gmail with From forged.
    gateway.send(
        staff_answer(fwd, "#external someone@evil.example не наша компетенція"),
        "mallory@gmail.com",
        [str(fwd.msg["Reply-To"])],
    )
    (told,) = gateway.wait_letters(1)
    # The department learns it at its own mailbox; the sender learns nothing.
    assert told.rcpt == "transport-staff@council.example"
    assert ack.reg_no in told.subject and "затримано" in told.subject
    assert "unverified-sender:envelope-mismatch" in gateway.cli("holding-pen", "list")
    assert json.loads(gateway.cli("appeal", "show", ack.reg_no))["state"] == "routed"
    time.sleep(1)  # the sender polls: a letter it were about to send would be out by now
    outside = ("someone@evil.example", "mallory@gmail.com")
    assert not [lt for lt in gateway.letters() if lt.rcpt in outside]
    to_citizen = [lt for lt in gateway.letters() if lt.rcpt == "oleh.boiko@gmail.com"]
    assert [lt.subject for lt in to_citizen if ack.reg_no in lt.subject] == [ack.subject]


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway behind the council's MTA: department mail must be authenticated, and the
    MTA's Authentication-Results (authserv-id mx.council.example) are believed."""
    trust = {"department_mail": "require-verified", "trusted_authserv_ids": ["mx.council.example"]}
    with running_gateway(Path(tmp_path_factory.mktemp("strict")), trust=trust) as gw:
        yield gw


def test_t4_t6_authres_from_an_untrusted_host_is_ignored(strict: Gateway) -> None:
    ack, fwd = appeal(strict, 4, "Біля школи №5 стерта розмітка пішохідного переходу.")
    forged = (
        "Authentication-Results: mail.evil.example; dkim=pass header.d=council.example;\n"
        " dmarc=pass header.from=council.example\n"
    )
    strict.send(
        staff_answer(fwd, "Питання вирішено, розмітку нанесено.", forged),
        "transport-staff@council.example",
        [str(fwd.msg["Reply-To"])],
    )
    (told,) = strict.wait_letters(1)
    assert told.rcpt == "transport-staff@council.example" and ack.reg_no in told.subject
    pen = strict.cli("holding-pen", "list")
    assert "unverified-sender:unauthenticated" in pen
    assert json.loads(strict.cli("appeal", "show", ack.reg_no))["state"] == "routed"
    time.sleep(1)
    to_citizen = [lt for lt in strict.letters() if lt.rcpt == "oleh.boiko@gmail.com"]
    assert [lt.subject for lt in to_citizen if ack.reg_no in lt.subject] == [ack.subject]


def test_t9_a_verified_answer_is_recorded_with_its_evidence(strict: Gateway) -> None:
    ack, fwd = appeal(strict, 5, "На зупинці «Театральний майдан» розбите скло павільйону.")
    ours = (
        "Authentication-Results: mx.council.example;\n"
        " dkim=pass header.d=council.example header.s=s2026;\n"
        " spf=pass smtp.mailfrom=transport-staff@council.example;\n"
        " dmarc=pass (p=reject) header.from=council.example\n"
    )
    strict.send(
        staff_answer(fwd, "Скло павільйону замінено 03.12.2026.", ours),
        "transport-staff@council.example",
        [str(fwd.msg["Reply-To"])],
    )
    (answer,) = strict.wait_letters(1)
    assert answer.rcpt == "oleh.boiko@gmail.com" and "Скло павільйону замінено" in answer.text
    show = json.loads(strict.cli("appeal", "show", ack.reg_no))
    assert show["state"] == "closed"
    (received,) = [e for e in show["events"] if e["type"] == "answer-received"]
    assert received["actor"] == "transport-staff@council.example"
    assert "authres:mx.council.example:dmarc=pass" in received["data"]["evidence"]
    assert "envelope:council.example" in received["data"]["evidence"]
