"""Re-routing carries the whole history: the citizen's additions and the interim answer
reach the new department with the first text, the old department is told it is off the
hook, and the citizen is told who handles the appeal now. One implementation for the CLI
(`appeals appeal reroute`) and a staff `#redirect`."""

from __future__ import annotations

from harness import Gateway, Letter, by_rcpt


def first_appeal(gateway: Gateway, problem: str, n: int) -> tuple[Letter, Letter]:
    gateway.send(
        "From: Марія Коваленко <maria.kovalenko@ukr.net>\nTo: zhkg@council.example\n"
        f"Subject: Протікає дах\nMessage-ID: <ukrnet-7{n}@ukr.net>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"Добрий день. {problem}\n\n"
        "Марія Коваленко\nм. Луцьк, вул. Львівська, 14, кв. 60\n",
        "maria.kovalenko@ukr.net",
        ["zhkg@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    return out["maria.kovalenko@ukr.net"], out["zhkg-staff@council.example"]


def test_reroute_by_the_admin_carries_the_history_and_tells_everyone(gateway: Gateway) -> None:
    ack, fwd = first_appeal(gateway, "Після дощу протікає дах над квартирою, стеля мокра.", 1)
    # The citizen adds something, replying to the acknowledgement from Gmail on Android.
    gateway.send(
        f"From: Марія Коваленко <maria.kovalenko@ukr.net>\nTo: {ack.msg['Reply-To']}\n"
        f"Subject: Re: {ack.subject}\nIn-Reply-To: {ack.msg['Message-ID']}\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
        "Додаю: вода вже тече по стіні в під'їзді.\n\n"
        f"пн, 7 груд. 2026 р. о 09:12 Звернення громадян пише:\n> {ack.text.splitlines()[0]}\n",
        "maria.kovalenko@ukr.net",
        [str(ack.msg["Reply-To"])],
    )
    (added,) = gateway.wait_letters(1)
    assert added.rcpt == "zhkg-staff@council.example" and "тече по стіні" in added.text
    # The department gives an interim answer.
    gateway.send(
        f"From: ЖКГ <zhkg-staff@council.example>\nTo: {fwd.msg['Reply-To']}\n"
        f"Subject: Re: {fwd.subject}\nIn-Reply-To: {fwd.msg['Message-ID']}\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n#interim\nОгляд даху призначено на четвер.\n",
        "zhkg-staff@council.example",
        [str(fwd.msg["Reply-To"])],
    )
    out = by_rcpt(gateway.wait_letters(2))  # the interim answer, and its confirmation
    assert "Проміжна" in out["maria.kovalenko@ukr.net"].subject
    assert "#interim виконано" in out["zhkg-staff@council.example"].subject
    gateway.cli("appeal", "reroute", ack.reg_no, "social", "дах", "аварійного", "будинку")
    out = by_rcpt(gateway.wait_letters(3))
    new = out["social-staff@council.example"]
    assert ack.reg_no in new.subject
    assert "Після дощу протікає дах" in new.text  # the first text
    assert "тече по стіні" in new.text  # the citizen's addition
    assert "Огляд даху призначено на четвер" in new.text  # the interim answer
    assert "проміжна" in new.text
    old = out["zhkg-staff@council.example"]
    assert "передано" in old.subject.lower() and "соціального" in old.text
    told = out["maria.kovalenko@ukr.net"]
    assert "соціального захисту" in told.text
    # Each notice stays in its conversation: the citizen's under the citizen's own letter,
    # the old department's under the forward it had; the new forward starts its own.
    assert told.msg["In-Reply-To"] == "<ukrnet-71@ukr.net>"
    assert old.msg["In-Reply-To"] == fwd.msg["Message-ID"]
    assert new.msg["In-Reply-To"] is None


def test_a_staff_redirect_does_the_same(gateway: Gateway) -> None:
    _, fwd = first_appeal(gateway, "Біля будинку зупинка без даху, просимо навіс.", 2)
    gateway.send(
        f"From: ЖКГ <zhkg-staff@council.example>\nTo: {fwd.msg['Reply-To']}\n"
        f"Subject: Re: {fwd.subject}\nIn-Reply-To: {fwd.msg['Message-ID']}\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n#redirect transport\n",
        "zhkg-staff@council.example",
        [str(fwd.msg["Reply-To"])],
    )
    out = by_rcpt(gateway.wait_letters(3))
    assert "зупинка без даху" in out["transport-staff@council.example"].text
    # The old department's word that it is off the hook is the confirmation of its command.
    confirmed = out["zhkg-staff@council.example"]
    assert "#redirect виконано" in confirmed.subject and "транспорту" in confirmed.text
    assert "нагадування щодо нього вам більше не надходитимуть" in confirmed.text
    assert "транспорту" in out["maria.kovalenko@ukr.net"].text
