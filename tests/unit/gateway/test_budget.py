"""The worker's pre-parse checks (`gateway.intake.budget.precheck`) and CPU budget."""

from __future__ import annotations

import adversarial_mail as mail
import pytest

from gateway.intake.budget import CpuBudget, MessageLimits, OverBudget, precheck
from gateway.intake.parsing import parse

LIMITS = MessageLimits()


def test_ordinary_and_hostile_but_bounded_mail_passes() -> None:
    for raw in (mail.ordinary(1), mail.empty_lines(), mail.deep_nesting(19), mail.many_parts(450)):
        assert precheck(raw, LIMITS) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (mail.deep_nesting(21), "too-deep"),
        (mail.many_parts(600), "too-many-parts"),
        (mail.huge_header(300_000), "headers-too-large"),
    ],
)
def test_over_a_limit_names_it(raw: bytes, reason: str) -> None:
    over = precheck(raw, LIMITS)
    assert over is not None and over[0] == reason


def test_size_and_memory_limits() -> None:
    raw = mail.big_attachment(300_000)
    assert precheck(raw, MessageLimits(max_message_bytes=100_000)) == (
        "too-large",
        f"{len(raw)} bytes > 100000",
    )
    assert precheck(raw, MessageLimits(memory_mb=16)) is None  # 400 KB x 10 fits in 16 MB
    big = mail.big_attachment(2_000_000)
    over = precheck(big, MessageLimits(memory_mb=16))
    assert over is not None and over[0] == "over-budget-memory"


def test_unclosed_containers_count_as_open_so_depth_is_never_underestimated() -> None:
    raw = mail.deep_nesting(15).replace(b"--\r\n", b"\r\n")  # no close delimiters
    deep = precheck(raw, MessageLimits(max_mime_depth=14))
    assert deep is not None and deep[0] == "too-deep"


def test_many_declared_boundaries_stop_the_scan_early() -> None:
    headers = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n" % i for i in range(2_000))
    raw = b"From: a@example.org\r\nSubject: x\r\n\r\n" + headers
    assert precheck(raw, LIMITS) == ("too-many-parts", "more than 500 multipart containers")


def test_the_cpu_budget_stops_parsing_between_pieces() -> None:
    ticks = iter(range(1_000_000))
    budget = CpuBudget(5.0, lambda: float(next(ticks)))  # one "second" per look at the clock
    with pytest.raises(OverBudget) as caught:
        parse(mail.big_attachment(1_000_000), budget)
    assert caught.value.reason == "over-budget-cpu"
    assert parse(mail.big_attachment(1_000_000), CpuBudget(60.0, lambda: 0.0)).attachments
