"""docs/security.md rules T2-T6 as unit tests of `routing.trust.verify_department_sender`:
envelope agreement, DKIM (a real signature made with dkimpy and a test-only key, then
tampered; the key served by an injected DNS function), Authentication-Results from trusted
and untrusted hosts, DMARC, and the three policies."""

from __future__ import annotations

from pathlib import Path

import dkim
import pytest

from gateway.intake.parsing import parse
from models import Department
from routing.trust import TrustConfig, aligned, claims_department, verify_department_sender

KEYS = Path(__file__).resolve().parents[2] / "fixtures" / "dkim"
PRIVATE = (KEYS / "test-only.key").read_bytes()
PUBLIC = (KEYS / "test-only.pub.b64").read_text().strip()
SELECTOR = b"s2026"


def dns(name: bytes | str, timeout: float = 5, **_: object) -> bytes | None:
    """The DNS of the test: the selector's TXT record, and nothing else exists."""
    n = name.decode() if isinstance(name, bytes) else name
    if n.rstrip(".") == "s2026._domainkey.council.example":
        return f"v=DKIM1; k=rsa; p={PUBLIC}".encode()
    return None


DEPT = Department(
    code="transport",
    name="Транспорт",
    email="transport-staff@council.example",
    staff_addresses=["olena.koval.lutsk@gmail.com"],
    staff_domains=["transport.council.example"],
)
ENVELOPE = TrustConfig(dns=dns)
STRICT = TrustConfig(
    department_mail="require-verified",
    trusted_authserv_ids=frozenset({"mx.council.example"}),
    dns=dns,
)


def message(from_: str = "transport-staff@council.example", headers: str = "") -> bytes:
    return (
        f"{headers}From: Іван Петренко <{from_}>\r\nTo: reply+abc-def@reply.council.example\r\n"
        "Subject: Re: [A-2026-000001] Світлофор\r\nMessage-ID: <s1@council.example>\r\n"
        "Date: Thu, 03 Dec 2026 10:00:00 +0200\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Світлофор відремонтовано.\r\n"
    ).encode()


def signed(raw: bytes) -> bytes:
    sig = dkim.sign(
        raw, SELECTOR, b"council.example", PRIVATE, include_headers=[b"from", b"subject"]
    )
    return sig + raw


def check(raw: bytes, mail_from: str | None, cfg: TrustConfig = ENVELOPE, source: str = "smtp"):  # type: ignore[no-untyped-def]
    parsed = parse(raw)
    assert parsed.from_addr is not None
    return verify_department_sender(DEPT, parsed.from_addr.email, mail_from, parsed, cfg, source)


def test_t2_envelope_agreeing_with_from_is_evidence() -> None:
    got = check(message(), "transport-staff@council.example")
    assert got.verified and "envelope:council.example" in got.evidence
    assert got.actor == "transport-staff@council.example"


def test_t2_envelope_from_mismatch_is_held() -> None:
    # Written in Gmail with a forged From: Gmail's envelope is the writer's own address.
    got = check(message(), "oleh.boiko@gmail.com")
    assert not got.verified and got.reason == "envelope-mismatch"


def test_t2_null_or_missing_envelope_is_not_agreement() -> None:
    assert check(message(), None).reason == "envelope-mismatch"
    assert check(message(), "").reason == "envelope-mismatch"


def test_t2_imap_mail_uses_the_return_path_of_the_delivering_mta() -> None:
    raw = message(headers="Return-Path: <transport-staff@council.example>\r\n")
    assert check(raw, None, source="imap:staff").verified
    # Over SMTP the listener's own MAIL FROM is what counts, not a header the writer wrote.
    assert not check(raw, None, source="smtp").verified


def test_t2_registered_personal_mailbox_is_named_as_evidence() -> None:
    raw = message(from_="olena.koval.lutsk@gmail.com")
    got = check(raw, "olena.koval.lutsk@gmail.com")
    assert (
        got.verified and "personal-mailbox" in got.evidence and "envelope:gmail.com" in got.evidence
    )


def test_t3_a_valid_dkim_signature_of_the_from_domain_is_evidence() -> None:
    got = check(signed(message()), "transport-staff@council.example")
    assert got.verified and "dkim:d=council.example" in got.evidence


def test_t3_a_tampered_dkim_signed_message_is_held_whatever_the_envelope() -> None:
    raw = signed(message())
    tampered = raw.replace("Світлофор відремонтовано.".encode(), b"#external a@evil.example x")
    assert tampered != raw
    got = check(tampered, "transport-staff@council.example")
    assert not got.verified and got.reason == "dkim-fail"
    # Also with the From changed after signing (a signed header).
    forged = raw.replace("Іван Петренко".encode(), b"Mallory")
    assert check(forged, "transport-staff@council.example").reason == "dkim-fail"


def test_t3_a_signature_that_cannot_be_checked_proves_nothing_under_require_verified() -> None:
    # The key is not in DNS (another selector): no pass, so not authenticated.
    raw = dkim.sign(message(), b"gone", b"council.example", PRIVATE) + message()
    got = check(raw, "transport-staff@council.example", STRICT)
    assert not got.verified


def test_t4_authres_from_an_untrusted_host_is_ignored() -> None:
    forged = "Authentication-Results: evil.example; dkim=pass header.d=council.example; dmarc=pass header.from=council.example\r\n"
    got = check(message(headers=forged), "transport-staff@council.example", STRICT)
    assert not got.verified and got.reason == "unauthenticated"
    assert "evil.example" in got.ignored


def test_t4_only_the_topmost_trusted_authres_counts() -> None:
    # Our MTA's header is on top; below it a copy the writer added claiming our MTA's id.
    ours = "Authentication-Results: mx.council.example; dkim=none; spf=softfail smtp.mailfrom=transport-staff@council.example\r\n"
    theirs = (
        "Authentication-Results: mx.council.example; dmarc=pass header.from=council.example\r\n"
    )
    got = check(message(headers=ours + theirs), "transport-staff@council.example", STRICT)
    assert not got.verified and got.reason == "unauthenticated"


def test_t4_trusted_authres_pass_verifies_under_require_verified() -> None:
    ar = "Authentication-Results: mx.council.example; spf=pass smtp.mailfrom=transport-staff@council.example; dmarc=pass header.from=council.example\r\n"
    got = check(message(headers=ar), "transport-staff@council.example", STRICT)
    assert got.verified
    assert "authres:mx.council.example:dmarc=pass" in got.evidence
    assert "authres:mx.council.example:spf=pass" in got.evidence


def test_t5_dmarc_failure_in_a_trusted_authres_is_held() -> None:
    ar = "Authentication-Results: mx.council.example; dkim=none; spf=fail smtp.mailfrom=council.example; dmarc=fail (p=reject) header.from=council.example\r\n"
    for cfg in (STRICT, TrustConfig(trusted_authserv_ids=frozenset({"mx.council.example"}))):
        got = check(message(headers=ar), "transport-staff@council.example", cfg)
        assert not got.verified and got.reason in ("dmarc-fail", "spf-fail")
    only_dmarc = (
        "Authentication-Results: mx.council.example; dmarc=fail header.from=council.example\r\n"
    )
    assert (
        check(message(headers=only_dmarc), "transport-staff@council.example", STRICT).reason
        == "dmarc-fail"
    )


def test_t6_require_verified_needs_more_than_the_envelope() -> None:
    got = check(message(), "transport-staff@council.example", STRICT)
    assert not got.verified and got.reason == "unauthenticated"
    assert check(signed(message()), "transport-staff@council.example", STRICT).verified


def test_t6_allow_unverified_acts_on_from_but_still_holds_failures() -> None:
    loose = TrustConfig(department_mail="allow-unverified", dns=dns)
    got = check(message(), "oleh.boiko@gmail.com", loose)
    assert got.verified and "unverified" in got.evidence
    tampered = signed(message()).replace("відремонтовано".encode(), "зламано".encode())
    assert check(tampered, "transport-staff@council.example", loose).reason == "dkim-fail"


@pytest.mark.parametrize(
    ("a", "b", "ok"),
    [
        ("council.example", "council.example", True),
        ("mail.council.example", "council.example", True),
        ("council.example", "transport.council.example", True),
        ("evilcouncil.example", "council.example", False),
        ("example", "council.example", False),
        ("gmail.com", "council.example", False),
        ("", "council.example", False),
    ],
)
def test_relaxed_alignment(a: str, b: str, ok: bool) -> None:
    assert aligned(a, b) is ok


def test_t11_which_department_an_address_claims() -> None:
    assert claims_department([DEPT], "transport-staff@council.example") == "transport"
    assert claims_department([DEPT], "anyone@transport.council.example") == "transport"
    assert claims_department([DEPT], "olena.koval.lutsk@gmail.com") == "transport"
    assert claims_department([DEPT], "oleh.boiko@gmail.com") is None
