"""docs/security.md rules T10 (token integrity and key rotation), T11 (our own addresses
and domains) and T12 (our control headers cannot be forged), as unit tests of
`routing.tokens` and `routing.screening`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gateway.intake.parsing import parse
from routing.screening import ScreeningContext, screen
from routing.tokens import PreviousKey, ReplyAddressCodec

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
OLD = ReplyAddressCodec(b"key-2026-06", "reply", "+", "reply.council.example")
NEW = replace(
    OLD, key=b"key-2026-12", previous=(PreviousKey(b"key-2026-06", NOW + timedelta(days=30)),)
)


def test_t10_a_tampered_token_never_verifies() -> None:
    addr = NEW.address_for(41, "department")
    local, domain = addr.split("@")
    # Change one MAC character, then the id: neither verifies.
    flipped = local[:-1] + ("a" if local[-1] != "a" else "b")
    check = NEW.decode(f"{flipped}@{domain}", NOW)
    assert check is not None and not check.valid
    other_id = addr.replace(addr.split("+")[1].split("-")[0], "1A", 1)
    check = NEW.decode(other_id, NOW)
    assert check is not None and not check.valid


def test_t10_a_token_is_bound_to_its_appeal_and_audience() -> None:
    dept, citizen = NEW.address_for(41, "department"), NEW.address_for(41, "citizen")
    assert dept != citizen
    d, c = NEW.decode(dept, NOW), NEW.decode(citizen, NOW)
    assert d is not None and d.audience == "department" and d.appeal_id == 41
    assert c is not None and c.audience == "citizen" and c.appeal_id == 41
    # Appeal 41's MAC on appeal 42's id: refused (a token cannot be replayed elsewhere).
    mac = dept.split("-", 1)[1].split("@")[0]
    moved = NEW.address_for(42, "department").split("-", 1)[0] + f"-{mac}@reply.council.example"
    check = NEW.decode(moved, NOW)
    assert check is not None and not check.valid


def test_t10_old_key_within_grace_still_verifies() -> None:
    addr = OLD.address_for(7, "department")  # sent before the rotation
    check = NEW.decode(addr, NOW + timedelta(days=29))
    assert check is not None and check.valid and check.key == "previous"
    assert check.audience == "department" and check.appeal_id == 7
    # New letters use the new key only.
    assert NEW.address_for(7, "department") != addr
    fresh = NEW.decode(NEW.address_for(7, "department"), NOW)
    assert fresh is not None and fresh.valid and fresh.key == "current"


def test_t10_old_key_after_expiry_is_refused_as_expired() -> None:
    addr = OLD.address_for(7, "department")
    check = NEW.decode(addr, NOW + timedelta(days=31))
    assert check is not None and not check.valid and check.expired
    # Without a clock only the current key counts.
    undated = NEW.decode(addr)
    assert undated is not None and not undated.valid


def test_t10_a_key_never_configured_is_not_a_previous_key() -> None:
    stranger = replace(OLD, key=b"someone-elses-key")
    check = NEW.decode(stranger.address_for(7, "department"), NOW)
    assert check is not None and not check.valid and not check.expired


CTX = ScreeningContext(
    our_addresses=frozenset({"appeals@council.example", "transport@council.example"}),
    our_domains=frozenset({"reply.council.example"}),
    message_id_domain="appeals.council.example",
    loop_mark_valid=NEW.is_loop_mark,
)


def letter(headers: str = "", sender: str = "Олег <oleh.boiko@gmail.com>") -> bytes:
    return (
        f"From: {sender}\nTo: transport@council.example\nSubject: Світлофор\n"
        f"Message-ID: <c1@mail.gmail.com>\n{headers}MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "Не працює світлофор.\n"
    ).encode()


def test_t12_a_copied_loop_header_decides_nothing() -> None:
    # A citizen pastes our header (with a MAC made for another message) into a letter.
    other_mark = NEW.loop_mark("<ack-1@appeals.council.example>")
    for value in ("1; kind=citizen/ack", f"1; kind=citizen/ack; sig={other_mark}"):
        verdict = screen(parse(letter(f"X-Appeal-Gateway: {value}\n")), None, CTX)
        assert verdict.action == "accept", value


def test_t12_our_own_marked_mail_coming_back_is_an_echo() -> None:
    mark = NEW.loop_mark("<c1@mail.gmail.com>")  # as if we had sent that Message-ID
    verdict = screen(parse(letter(f"X-Appeal-Gateway: 1; kind=x; sig={mark}\n")), None, CTX)
    assert (verdict.action, verdict.reason) == ("discard", "loop-header")
    # Marked with the previous key (before a rotation): still ours.
    old_mark = OLD.loop_mark("<c1@mail.gmail.com>")
    verdict = screen(parse(letter(f"X-Appeal-Gateway: 1; sig={old_mark}\n")), None, CTX)
    assert verdict.action == "discard"


def test_t11_mail_from_our_intake_address_or_reply_domain_is_never_an_appeal() -> None:
    for sender in ("transport@council.example", "anything@reply.council.example"):
        verdict = screen(parse(letter(sender=f"Рада <{sender}>")), None, CTX)
        assert (verdict.action, verdict.rule) == ("discard", "own-echo"), sender
    assert screen(parse(letter()), None, CTX).action == "accept"


def test_t12_a_message_id_on_our_domain_is_only_a_look() -> None:
    forged = letter().replace(b"<c1@mail.gmail.com>", b"<x1@appeals.council.example>")
    assert screen(parse(forged), None, CTX).action == "accept"
    # Our own letter coming back still is our echo: its mark (and its From) say so.
    mark = NEW.loop_mark("<x1@appeals.council.example>")
    echo = letter(f"X-Appeal-Gateway: 1; sig={mark}\n").replace(
        b"<c1@mail.gmail.com>", b"<x1@appeals.council.example>"
    )
    assert screen(parse(echo), None, CTX).action == "discard"
    ours = letter(sender="appeals@council.example").replace(
        b"<c1@mail.gmail.com>", b"<x1@appeals.council.example>"
    )
    assert screen(parse(ours), None, CTX).reason == "from-our-address"
