"""The screening rule table: order, verdicts, hits, and the auto-reply guards."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gateway.intake.parsing import parse
from routing.mail import Envelope
from routing.screening import (
    RULES,
    ScreeningContext,
    Verdict,
    is_our_address,
    list_author,
    may_auto_reply_to,
    screen,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail" / "screening"

CTX = ScreeningContext(
    our_addresses=frozenset({"zvernennia@rada.example.gov.ua", "bounces@rada.example.gov.ua"}),
    message_id_domain="appeals.rada.example.gov.ua",
)


def screen_fixture(name: str, ctx: ScreeningContext = CTX) -> Verdict:
    return screen(parse((FIXTURES / name).read_bytes()), None, ctx)


# (fixture, action, rule, reason prefix)
FIXTURE_CASES = [
    ("postfix-dsn-user-unknown.eml", "bounce", "bounce", "dsn-report"),
    ("dsn-mailbox-full.eml", "bounce", "bounce", "dsn-report"),
    ("dsn-delay.eml", "bounce", "bounce", "dsn-delay"),
    ("qmail-text-bounce.eml", "bounce", "bounce", "daemon-bounce-subject"),
    ("exchange-ndr-ru.eml", "bounce", "bounce", "daemon-bounce-subject"),
    ("exchange-oof-uk.eml", "autoreply", "machine-mail", "autoreply:exchange-oof"),
    ("gmail-vacation.eml", "autoreply", "machine-mail", "autoreply:auto-submitted-header"),
    ("autootvet-ru-no-headers.eml", "autoreply", "machine-mail", "autoreply:oof-subject"),
    ("boxbe-challenge.eml", "autoreply", "machine-mail", "challenge:"),
    ("arf-feedback.eml", "autoreply", "machine-mail", "feedback:"),
    ("read-receipt.eml", "autoreply", "machine-mail", "mdn:"),
    ("own-echo.eml", "discard", "own-echo", "loop-header"),
    ("spam-flagged.eml", "hold", "spam", "spam-flag"),
    ("human-not-delivered-uk.eml", "accept", "accept", "human-mail"),
    ("human-forwarded-bounce.eml", "accept", "accept", "human-mail"),
    ("human-out-of-office-hours.eml", "accept", "accept", "human-mail"),
    ("spam-score-only.eml", "accept", "accept", "human-mail"),
]


@pytest.mark.parametrize(
    ("name", "action", "rule", "reason"), FIXTURE_CASES, ids=[c[0] for c in FIXTURE_CASES]
)
def test_fixture_verdicts(name: str, action: str, rule: str, reason: str) -> None:
    verdict = screen_fixture(name)
    assert (verdict.action, verdict.rule) == (action, rule)
    assert verdict.reason.startswith(reason)
    assert verdict.hits[0] == rule
    assert verdict.bulk is None
    if action in ("bounce", "autoreply"):
        assert verdict.machine is not None
    else:
        assert verdict.machine is None


def test_rule_order_is_the_policy() -> None:
    assert [r.name for r in RULES] == [
        "own-echo",
        "bounce",
        "machine-mail",
        "bulk-mail",
        "spam",
        "defective",
        "accept",
    ]
    assert all(r.description for r in RULES)
    assert len({r.name for r in RULES}) == len(RULES)


def test_hits_record_every_matching_rule_and_the_first_decides() -> None:
    # Our own acknowledgement carries Auto-Submitted too: both rules hit, own-echo wins.
    verdict = screen_fixture("own-echo.eml")
    assert verdict.action == "discard"
    assert verdict.hits == ("own-echo", "machine-mail")


def test_spam_flagged_auto_reply_is_still_an_auto_reply_with_both_hits() -> None:
    raw = (
        (FIXTURES / "gmail-vacation.eml")
        .read_bytes()
        .replace(b"Auto-Submitted:", b"X-Spam-Flag: YES\nAuto-Submitted:", 1)
    )
    verdict = screen(parse(raw), None, CTX)
    assert verdict.action == "autoreply"
    assert verdict.hits == ("machine-mail", "spam")


def simple(
    headers: str = "", sender: str = "Ivan <ivan@example.com>", body: str = "Текст"
) -> bytes:
    from_line = f"From: {sender}\n" if sender else ""
    return (
        f"{from_line}To: zvernennia@rada.example.gov.ua\nSubject: Звернення\n"
        f"Message-ID: <m1@example.com>\n{headers}MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: 8bit\n\n'
        f"{body}\n"
    ).encode()


SPAM_CASES = [
    ("X-Spam-Flag: YES\n", 5.0, "hold"),
    ("X-Spam-Flag: NO\n", 5.0, "accept"),
    ("X-Spam-Status: Yes, score=7.3 required=5.0 tests=X\n", 5.0, "hold"),
    ("X-Spam-Status: Yes, score=7.3 required=5.0 tests=X\n", 8.0, "accept"),
    ("X-Spam-Status: No, score=6.1 required=7.0\n", 6.0, "hold"),
    ("X-Spam-Status: No, score=-1.2 required=5.0\n", 5.0, "accept"),
    ("X-Spam-Status: Yes\n", 5.0, "hold"),
]


@pytest.mark.parametrize(("headers", "threshold", "action"), SPAM_CASES)
def test_spam_score_against_our_threshold(headers: str, threshold: float, action: str) -> None:
    verdict = screen(parse(simple(headers)), None, replace(CTX, spam_threshold=threshold))
    assert verdict.action == action
    if action == "hold":
        assert verdict.rule == "spam"


def test_spam_score_header_name_is_configurable() -> None:
    ctx = replace(CTX, spam_score_header="X-Rspamd-Score", spam_threshold=6.0)
    assert screen(parse(simple("X-Rspamd-Score: 9.5\n")), None, ctx).action == "hold"
    assert screen(parse(simple("X-Rspamd-Score: 2.0\n")), None, ctx).action == "accept"


OWN_ECHO_CASES = [
    ("loop header", simple("X-Appeal-Gateway: ack\n"), CTX, "loop-header"),
    (
        "our message-id domain",
        simple().replace(b"<m1@example.com>", b"<x@appeals.rada.example.gov.ua>"),
        CTX,
        "our-message-id-domain",
    ),
    (
        "known outbound id",
        simple(),
        replace(CTX, known_outbound_message_id=lambda mid: mid == "<m1@example.com>"),
        "our-outbound-message-id",
    ),
    ("from our address", simple(sender="Рада <ZVERNENNIA@rada.example.gov.ua>"), CTX, None),
    ("from our subaddress", simple(sender="bounces+x1@rada.example.gov.ua"), CTX, None),
]


@pytest.mark.parametrize(
    ("case", "raw", "ctx", "reason"), OWN_ECHO_CASES, ids=[c[0] for c in OWN_ECHO_CASES]
)
def test_own_echo_is_discarded(
    case: str, raw: bytes, ctx: ScreeningContext, reason: str | None
) -> None:
    verdict = screen(parse(raw), None, ctx)
    assert (verdict.action, verdict.rule) == ("discard", "own-echo")
    if reason:
        assert verdict.reason == reason


def test_unknown_outbound_id_is_not_an_echo() -> None:
    ctx = replace(CTX, known_outbound_message_id=lambda mid: False)
    assert screen(parse(simple()), None, ctx).action == "accept"


DEFECT_CASES = [
    ("oversize", simple(body="x" * 5000), replace(CTX, max_size=1000), "hold", "oversize"),
    ("no sender and no text", simple(sender="", body=""), CTX, "hold", "no-sender-no-content"),
    ("no sender but text", simple(sender="", body="Прошу допомогти"), CTX, "accept", None),
    ("sender but empty body", simple(body=""), CTX, "accept", None),
]


@pytest.mark.parametrize(
    ("case", "raw", "ctx", "action", "reason"), DEFECT_CASES, ids=[c[0] for c in DEFECT_CASES]
)
def test_defective_and_oversize_are_held_not_dropped(
    case: str, raw: bytes, ctx: ScreeningContext, action: str, reason: str | None
) -> None:
    verdict = screen(parse(raw), None, ctx)
    assert verdict.action == action
    if reason:
        assert verdict.rule == "defective"
        assert verdict.reason.startswith(reason)


def test_unreadable_structure_is_held() -> None:
    raw = (
        b"From: Ivan <ivan@example.com>\nTo: zvernennia@rada.example.gov.ua\n"
        b"Subject: x\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="never-used"\n\n'
        b"garbage without any boundary line\n"
    )
    parsed = parse(raw)
    assert parsed.defects, "the parser should report the missing boundary"
    verdict = screen(parsed, None, CTX)
    # Either the parser recovered readable text (accept) or nothing is readable (hold):
    # never discard.
    if parsed.text.strip():
        assert verdict.action == "accept"
    else:
        assert (verdict.action, verdict.reason) == ("hold", "unparseable-structure")


def test_null_envelope_sender_makes_plain_message_machine_mail() -> None:
    envelope = Envelope(source="smtp", mail_from="", rcpt_tos=("zvernennia@rada.example.gov.ua",))
    verdict = screen(parse(simple()), envelope, CTX)
    assert verdict.action == "autoreply"
    assert verdict.machine is not None and verdict.machine.reason == "null-return-path"


@pytest.mark.parametrize("source", ["imap:INBOX", "pipe"])
def test_envelope_without_known_sender_is_not_a_null_sender(source: str) -> None:
    envelope = Envelope(source=source, mail_from=None)
    assert screen(parse(simple()), envelope, CTX).action == "accept"


def test_pipe_envelope_with_null_sender_is_machine_mail() -> None:
    envelope = Envelope(source="pipe", mail_from="<>")
    assert screen(parse(simple()), envelope, CTX).action == "autoreply"


ADDRESS_CASES = [
    ("zvernennia@rada.example.gov.ua", True),
    ("ZVERNENNIA@RADA.EXAMPLE.GOV.UA", True),
    ("<zvernennia@rada.example.gov.ua>", True),
    ("zvernennia+2025-000123-k2@rada.example.gov.ua", True),
    ("other@rada.example.gov.ua", False),
    ("zvernennia@example.com", False),
    ("", False),
]


@pytest.mark.parametrize(("addr", "ours"), ADDRESS_CASES)
def test_is_our_address(addr: str, ours: bool) -> None:
    assert is_our_address(addr, CTX) is ours


AUTO_REPLY_CASES = [
    ("ivan@example.com", True),
    ("Ivan.Petrenko@ukr.example", True),
    ("bounce.hunter@example.com", True),  # a person, not a bounce robot
    ("zvernennia@rada.example.gov.ua", False),
    ("zvernennia+tok@rada.example.gov.ua", False),
    ("MAILER-DAEMON@mx.example.com", False),
    ("postmaster@example.com", False),
    ("noreply@example.com", False),
    ("no-reply@example.com", False),
    ("do-not-reply@example.com", False),
    ("donotreply@example.com", False),
    ("notifications-noreply@example.com", False),
    ("bounces@example.com", False),
    ("bounces+abc@example.com", False),
    ("news-request@lists.example.org", False),
    ("", False),
    (None, False),
    ("not-an-address", False),
    ("@example.com", False),
]


@pytest.mark.parametrize(("addr", "allowed"), AUTO_REPLY_CASES)
def test_may_auto_reply_to(addr: str | None, allowed: bool) -> None:
    assert may_auto_reply_to(addr, CTX) is allowed


# --------------------------------------------------------------------------------------
# List and bulk mail: marked, never decided by the mark alone


def test_newsletter_is_marked_bulk_and_accepted_not_discarded() -> None:
    verdict = screen_fixture("mailing-list.eml")
    assert (verdict.action, verdict.rule) == ("accept", "accept")
    assert verdict.bulk == "precedence:list+list-id+list-unsubscribe"
    assert verdict.hits == ("bulk-mail", "accept")
    assert verdict.machine is None


BULK_CASES = [
    ("Precedence: bulk\n", "accept", "precedence:bulk"),
    ("List-Id: Громада <hromada.googlegroups.com>\n", "accept", "list-id"),
    ("List-Unsubscribe: <https://petition.example/u/9f>\n", "accept", "list-unsubscribe"),
    # Spam carries List-Unsubscribe too: the spam rule still holds it.
    ("List-Unsubscribe: <mailto:u@spam.example>\nX-Spam-Flag: YES\n", "hold", "list-unsubscribe"),
    # A real auto-reply through a list is still an auto-reply, the mark is kept.
    ("List-Id: <hromada.googlegroups.com>\nAuto-Submitted: auto-replied\n", "autoreply", "list-id"),
]


@pytest.mark.parametrize(("headers", "action", "bulk"), BULK_CASES)
def test_bulk_headers_mark_the_verdict(headers: str, action: str, bulk: str) -> None:
    verdict = screen(parse(simple(headers)), None, CTX)
    assert verdict.action == action
    assert verdict.bulk == bulk
    assert "bulk-mail" in verdict.hits
    assert verdict.rule != "bulk-mail"


def list_message(headers: str, sender: str = "Оксана <oksana@example.com>") -> bytes:
    return simple(headers, sender=sender)


AUTHOR_CASES = [
    (
        "a person's letter via a list",
        "List-Id: <hromada.googlegroups.com>\n",
        "Оксана <oksana@example.com>",
        "oksana@example.com",
    ),
    (
        "reply-to the group: the From is the author",
        "List-Id: <hromada.googlegroups.com>\nReply-To: hromada@googlegroups.com\n",
        "Оксана <oksana@example.com>",
        "oksana@example.com",
    ),
    (
        "From rewritten to the group (DMARC): X-Original-From names the author",
        "List-Id: <hromada.googlegroups.com>\n"
        "List-Post: <mailto:hromada@googlegroups.com>\n"
        "X-Original-From: Оксана Гнатюк <oksana@example.com>\n"
        "X-Original-Sender: oksana@example.com\n",
        "'Оксана Гнатюк' via Громада <hromada@googlegroups.com>",
        "oksana@example.com",
    ),
    (
        "campaign tool: no-reply From, the signer in Reply-To",
        "List-Unsubscribe: <https://petition.example/u/1>\nPrecedence: bulk\n"
        "Reply-To: Ігор Мельник <igor.m@example.net>\n",
        "Ігор Мельник via Петиція <noreply@petition.example>",
        "igor.m@example.net",
    ),
    (
        "a newsletter: the list itself writes",
        "List-Id: News <news.lists.example.org>\n",
        "Municipal News <news@lists.example.org>",
        None,
    ),
    ("a no-reply robot", "Precedence: bulk\n", "Розсилка <no-reply@shop.example>", None),
]


@pytest.mark.parametrize(
    ("case", "headers", "sender", "author"), AUTHOR_CASES, ids=[c[0] for c in AUTHOR_CASES]
)
def test_list_author(case: str, headers: str, sender: str, author: str | None) -> None:
    found = list_author(parse(list_message(headers, sender)), CTX)
    assert (found.email if found else None) == author
