"""Only the department speaks for the department. A citizen who writes to the address
from their own acknowledgement while pretending to be the department (From or Reply-To
set to the department's mailbox) cannot answer, close or send out their appeal."""

from __future__ import annotations

from gwtest import wait_for
from harness import Gateway, Letter, by_rcpt


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
    return out["oleh.boiko@gmail.com"], out["transport-staff@council.example"]


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
    # Nothing went to the outside address or to the citizen.
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
