"""Internationalised addresses on the way out: envelope and header forms, SMTPUTF8 need,
and the refusal of a relay that lacks it, checked in the message the notifier builds."""

from __future__ import annotations

import pytest

from gateway.intake.parsing import parse
from gateway.outbound.addresses import AddressError, envelope_form, header_form, needs_smtputf8
from gateway.outbound.notify import build_message

CASES = [
    # address, envelope form, header form, needs SMTPUTF8
    ("oksana@ukr.net", "oksana@ukr.net", "oksana@ukr.net", False),
    ("oksana@пошта.укр", "oksana@xn--80a1acn3a.xn--j1amh", "oksana@xn--80a1acn3a.xn--j1amh", False),
    ("оксана@пошта.укр", "оксана@xn--80a1acn3a.xn--j1amh", "оксана@пошта.укр", True),
    ("оксана@ukr.net", "оксана@ukr.net", "оксана@ukr.net", True),
    (
        "<oksana@Пошта.укр>",
        "oksana@xn--80a1acn3a.xn--j1amh",
        "oksana@xn--80a1acn3a.xn--j1amh",
        False,
    ),
]


@pytest.mark.parametrize(("addr", "env", "head", "utf8"), CASES)
def test_forms(addr: str, env: str, head: str, utf8: bool) -> None:
    assert envelope_form(addr) == env
    assert header_form(addr) == head
    assert needs_smtputf8(addr) is utf8


@pytest.mark.parametrize("addr", ["no-at-sign", "@пошта.укр", "x@" + "д" * 70 + ".укр"])
def test_unwritable_addresses_raise(addr: str) -> None:
    with pytest.raises(AddressError):
        envelope_form(addr)


def test_utf8_mailbox_stays_utf8_in_to_and_other_headers_are_encoded_words() -> None:
    raw = build_message(
        {"From": "appeals@council.example", "To": "оксана@пошта.укр", "Subject": "Звернення"},
        "Текст",
        [],
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert "To: оксана@пошта.укр".encode() in head  # RFC 6532, not =?utf-8?...?=
    assert b"Subject: =?utf-8?" in head  # an ordinary header is still RFC 2047
    # What a receiving client reads (our own parser stands in for it).
    assert [a.email for a in parse(raw).to] == ["оксана@пошта.укр"]
