"""Machine-mail recognition: fixtures written for this project, inline edge cases, corpus."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from gateway.intake.parsing import parse
from routing.machine_mail import Failure, MachineMail, classify_machine_mail
from routing.mail import Envelope

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail" / "screening"
REPO = Path(__file__).resolve().parents[3]


def classify(name: str, envelope: Envelope | None = None) -> MachineMail | None:
    return classify_machine_mail(parse((FIXTURES / name).read_bytes()), envelope)


# (fixture, kind, reason) -- None kind means human mail.
KIND_CASES = [
    ("postfix-dsn-user-unknown.eml", "bounce", "dsn-report"),
    ("dsn-mailbox-full.eml", "bounce", "dsn-report"),
    ("dsn-delay.eml", "delay", "dsn-delay"),
    ("qmail-text-bounce.eml", "bounce", "daemon-bounce-subject"),
    ("exchange-ndr-ru.eml", "bounce", "daemon-bounce-subject"),
    ("exchange-oof-uk.eml", "autoreply", "exchange-oof"),
    ("gmail-vacation.eml", "autoreply", "auto-submitted-header"),
    ("autootvet-ru-no-headers.eml", "autoreply", "oof-subject"),
    ("boxbe-challenge.eml", "challenge", "challenge-sender"),
    ("arf-feedback.eml", "feedback", "arf-report"),
    ("read-receipt.eml", "mdn", "mdn-report"),
    ("mailing-list.eml", "list", "precedence:list+list-id+list-unsubscribe"),
    ("human-not-delivered-uk.eml", None, None),
    ("human-forwarded-bounce.eml", None, None),
    ("human-out-of-office-hours.eml", None, None),
    ("spam-score-only.eml", None, None),
]


@pytest.mark.parametrize(("name", "kind", "reason"), KIND_CASES, ids=[c[0] for c in KIND_CASES])
def test_fixture_kind_and_reason(name: str, kind: str | None, reason: str | None) -> None:
    result = classify(name)
    if kind is None:
        assert result is None
    else:
        assert result is not None
        assert (result.kind, result.reason) == (kind, reason)


# (fixture, failures, original message ids, verp token)
LINK_CASES = [
    (
        "postfix-dsn-user-unknown.eml",
        [("petrenko.olena@example.net", "5.1.1", True, False)],
        ("<ack.2025-000123.x81@appeals.rada.example.gov.ua>",),
        "a7k2q9",
    ),
    (
        "dsn-mailbox-full.eml",
        [("kovalenko@example.org", "5.2.2", False, True)],
        ("<answer.2025-000045@appeals.rada.example.gov.ua>",),
        "m3x8rt",
    ),
    (
        "dsn-delay.eml",
        [("sydorenko@example.com", "4.4.1", False, False)],
        ("<notice.2025-000077@appeals.rada.example.gov.ua>",),
        "d1l4y0",
    ),
    (
        "qmail-text-bounce.eml",
        [("tkachenko@example.com", "5.1.1", True, False)],
        ("<answer.2025-000511@appeals.rada.example.gov.ua>",),
        "q7m1l0",
    ),
    (
        "exchange-ndr-ru.eml",
        [("ivanov@corp.example.ru", "5.1.1", True, False)],
        ("<answer.2025-000600@appeals.rada.example.gov.ua>",),
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "failures", "ids", "token"), LINK_CASES, ids=[c[0] for c in LINK_CASES]
)
def test_bounce_is_linked_to_outbound_message_and_recipient(
    name: str, failures: list[tuple[str, str, bool, bool]], ids: tuple[str, ...], token: str
) -> None:
    result = classify(name)
    assert result is not None
    got = [(f.recipient, f.status, f.permanent, f.mailbox_full) for f in result.failures]
    assert got == failures
    assert result.original_message_ids == ids
    assert result.verp_token == token
    assert all(f.diagnostic for f in result.failures)


def test_mdn_and_arf_carry_the_original_message_id() -> None:
    mdn = classify("read-receipt.eml")
    arf = classify("arf-feedback.eml")
    assert mdn is not None and arf is not None
    assert mdn.original_message_ids == ("<ack.2025-000900@appeals.rada.example.gov.ua>",)
    assert arf.original_message_ids == ("<ack.2025-000801@appeals.rada.example.gov.ua>",)


def test_verp_token_is_read_from_the_smtp_envelope_first() -> None:
    envelope = Envelope(
        source="smtp", mail_from="", rcpt_tos=("bounces+fromenvelope@rada.example.gov.ua",)
    )
    result = classify("postfix-dsn-user-unknown.eml", envelope)
    assert result is not None
    assert result.verp_token == "fromenvelope"


# ---------------------------------------------------------------------------------------
# Inline messages: one header or one subject changed at a time.


def message(
    *,
    subject: str = "Про ремонт дороги",
    sender: str = "Ivan <ivan@example.com>",
    headers: str = "",
    body: str = "Прошу відремонтувати дорогу.",
) -> bytes:
    text = (
        f"From: {sender}\n"
        "To: zvernennia@rada.example.gov.ua\n"
        f"Subject: {subject}\n"
        "Message-ID: <inline-1@example.com>\n"
        f"{headers}"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: 8bit\n\n"
        f"{body}\n"
    )
    return text.encode("utf-8")


HEADER_CASES = [
    ("Auto-Submitted: auto-generated\n", "autoreply", "auto-submitted-header"),
    ("Auto-Submitted: auto-replied; owner-email=x@example.com\n", "autoreply", None),
    ("Auto-Submitted: no\n", None, None),
    ("Auto-Submitted: No\n", None, None),
    ("X-Autoreply: yes\n", "autoreply", "x-autoreply-header"),
    ("X-Autorespond: 1\n", "autoreply", "x-autorespond-header"),
    # Precedence: bulk is what campaign tools put on letters people wrote: list mail.
    ("Precedence: bulk\n", "list", "precedence:bulk"),
    ("Precedence: junk\n", "autoreply", "precedence-header"),
    ("Precedence: auto_reply\n", "autoreply", "precedence-header"),
    ("Precedence: list\n", "list", "precedence:list"),
    ("List-Id: <news.example.org>\n", "list", "list-id"),
    ("List-Unsubscribe: <mailto:leave@example.org>\n", "list", "list-unsubscribe"),
    (
        "List-Unsubscribe: <https://petition.example/u/1>\nPrecedence: bulk\n",
        "list",
        "precedence:bulk+list-unsubscribe",
    ),
    # An auto-reply relayed through a list is an auto-reply: its own headers come first.
    ("Auto-Submitted: auto-replied\nList-Id: <hromada.lists.example.org>\n", "autoreply", None),
    ("X-Autoreply: yes\nPrecedence: bulk\n", "autoreply", "x-autoreply-header"),
    ("Precedence: bulk\nReturn-Path: <>\n", "autoreply", "null-return-path"),
    ("X-Auto-Response-Suppress: All\n", "autoreply", "x-auto-response-suppress-header"),
    ("Return-Path: <>\n", "autoreply", "null-return-path"),
    ("X-MS-Exchange-Inbox-Rules-Loop: a@example.com\n", "autoreply", "exchange-oof"),
    ("X-Mailer: Microsoft Outlook 16.0\n", None, None),
]


@pytest.mark.parametrize(
    ("headers", "kind", "reason"), HEADER_CASES, ids=[c[0] for c in HEADER_CASES]
)
def test_auto_reply_headers(headers: str, kind: str | None, reason: str | None) -> None:
    result = classify_machine_mail(parse(message(headers=headers)), None)
    if kind is None:
        assert result is None
    else:
        assert result is not None
        assert result.kind == kind
        if reason is not None:
            assert result.reason == reason


def test_vacation_subject_with_precedence_bulk_is_an_auto_reply() -> None:
    # Old vacation programs mark their replies with Precedence: bulk only; the subject
    # they write still tells them apart from a campaign letter.
    raw = message(subject="Out of Office: Звернення", headers="Precedence: bulk\n")
    result = classify_machine_mail(parse(raw), None)
    assert result is not None and (result.kind, result.reason) == ("autoreply", "oof-subject")


OOF_SUBJECTS = [
    "Автоматична відповідь: Звернення № 5",
    "Автоответ: Re: Обращение",
    "Автоматический ответ: Заявка",
    "Out of Office: Appeal 5",
    "Out of Office AutoReply: Appeal",
    "Automatic reply: Appeal",
    "Auto-reply: Appeal",
    "Autoreply",
    "AUTO: Ivanenko is out of the office (returning 05/02/2025)",
    "Нет на месте: Обращение",
    "Відсутній: Звернення",
    "Вне офиса: Обращение",
    "[Automatyczna odpowiedź] test",
]
HUMAN_SUBJECTS = [
    "Відсутній ліфт у будинку",
    "Нет на месте мусорного контейнера",
    "Noise out of office hours",
    "Скарга: повідомлення не доставлено",
    "Re: Your appeal No. 5",
    "Відсутнє водопостачання",
    "Undeliverable parcels at the post office",
]


@pytest.mark.parametrize("subject", OOF_SUBJECTS)
def test_out_of_office_subjects(subject: str) -> None:
    result = classify_machine_mail(parse(message(subject=subject)), None)
    assert result is not None and result.kind == "autoreply"


@pytest.mark.parametrize("subject", HUMAN_SUBJECTS)
def test_human_subjects_stay_human(subject: str) -> None:
    assert classify_machine_mail(parse(message(subject=subject)), None) is None


def test_daemon_sender_with_bounce_subject_is_a_bounce_without_dsn() -> None:
    raw = message(
        sender="Mail Delivery System <Mailer-Daemon@mx.example.com>",
        subject="Mail delivery failed: returning message to sender",
        headers="X-Failed-Recipients: gone@example.org\n",
        body=(
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            "  gone@example.org\n    host mx.example.org [192.0.2.1]\n"
            "    SMTP error from remote mail server after RCPT TO:<gone@example.org>:\n"
            "    550 5.1.1 User unknown\n"
        ),
    )
    result = classify_machine_mail(parse(raw), None)
    assert result is not None
    assert result.kind == "bounce"
    assert [(f.recipient, f.status, f.permanent) for f in result.failures] == [
        ("gone@example.org", "5.1.1", True)
    ]


def test_human_with_bounce_words_status_code_and_bounce_subject_is_not_a_bounce() -> None:
    # Subject, wording and a status code, but a human sender and no returned message.
    raw = message(
        subject="Не доставлено: моє звернення",
        body="Мій лист не доставлено, сервер написав 550 5.1.1 user unknown. Delivery failed.",
    )
    assert classify_machine_mail(parse(raw), None) is None


def test_text_bounce_with_quota_wording_is_mailbox_full_not_permanent() -> None:
    raw = message(
        sender="MAILER-DAEMON@mx.example.com",
        subject="Undelivered Mail Returned to Sender",
        body="<full@example.org>: host said: 552 Mailbox is full / over quota\n",
    )
    result = classify_machine_mail(parse(raw), None)
    assert result is not None and result.kind == "bounce"
    (failure,) = result.failures
    assert failure == Failure(
        recipient="full@example.org",
        status="5.0.0",
        permanent=False,
        mailbox_full=True,
        diagnostic=failure.diagnostic,
    )


def test_text_delay_warning_is_a_delay() -> None:
    raw = message(
        sender="MAILER-DAEMON@mx.example.com",
        subject="Warning: could not send message for past 4 hours",
        body=(
            "**********************************************\n"
            "**      THIS IS A WARNING MESSAGE ONLY      **\n"
            "**  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **\n"
            "**********************************************\n"
            "The original message was received at Mon, 3 Feb 2025 10:00 +0200\n"
            "----- Transcript of session follows -----\n"
            "<slow@example.org>... Deferred: 451 4.4.1 Connection timed out\n"
            "Warning: message still undelivered after 4 hours\n"
            "Will keep trying until message is 5 days old\n"
        ),
    )
    result = classify_machine_mail(parse(raw), None)
    assert result is not None
    assert result.kind == "delay"
    assert [(f.recipient, f.status, f.permanent) for f in result.failures] == [
        ("slow@example.org", "4.4.1", False)
    ]


# ---------------------------------------------------------------------------------------
# The labelled third-party corpus (read in place, never copied).


def _corpus_dir() -> Path:
    base = os.environ.get("APPEALS_CORPORA") or str(REPO.parent / "shared" / "corpora")
    return Path(base) / "mail" / "bounces"


def _load_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_bounces", REPO / "bench" / "bounces.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_corpus_targets() -> None:
    corpus = _corpus_dir()
    if not (corpus / "labels.csv").exists():
        pytest.skip(f"bounce corpus not found at {corpus} (set APPEALS_CORPORA)")
    bench = _load_bench()
    report = bench.evaluate(corpus)
    assert len(report.rows) > 100
    precision, recall = report.bounce_scores()
    assert precision >= 0.98, precision
    assert recall >= 0.95, recall
    ar_precision, ar_recall = report.autoreply_scores()
    assert ar_precision >= 0.85 and ar_recall >= 0.85, (ar_precision, ar_recall)
    assert report.discarded_humans() == []
    # Nothing labelled as not-a-bounce may be treated as a bounce either.
    assert not [r for r in report.rows if r.label == "not_bounce" and r.kind == "bounce"]
