"""Logs keep whole tracebacks but never the personal data an exception's message may
carry; the redacting filter masks addresses and phone numbers that slip into a record."""

from __future__ import annotations

import io
import logging

import pytest

from gateway.logsetup import RedactingFilter, SafeFormatter, safe_traceback

LETTER = "Оксана Бондар <oksana@example.org>, тел. 050 123 45 67: протікає дах"


def _parse(text: str) -> None:
    raise ValueError(f"cannot read {text!r}")


def _register(text: str) -> None:
    try:
        _parse(text)
    except ValueError as exc:
        raise RuntimeError(f"registration failed for {text}") from exc


def _crash() -> BaseException:
    try:
        _register(LETTER)
    except RuntimeError as exc:
        return exc
    raise AssertionError("no exception")


def test_every_frame_of_the_chain_and_no_message() -> None:
    tb = safe_traceback(_crash())
    assert tb.count('  File "') >= 4  # _crash, _register, and _register, _parse below it
    for name in ("in _crash", "in _register", "in _parse"):
        assert name in tb
    assert "builtins.ValueError" in tb and "builtins.RuntimeError" in tb
    assert tb.index("ValueError") < tb.index("RuntimeError")  # the cause comes first
    for personal in ("Оксана", "oksana@", "050 123", "протікає"):
        assert personal not in tb


def test_the_formatter_uses_it_for_log_exception() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(SafeFormatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test.logsetup")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            _register(LETTER)
        except RuntimeError:
            log.exception("step failed for %s", "oksana@example.org")
    finally:
        log.removeHandler(handler)
    text = out.getvalue()
    assert "step failed for <email>" in text
    assert "in _parse" in text and "builtins.RuntimeError" in text
    assert "Оксана" not in text and "050 123" not in text and "протікає" not in text


@pytest.mark.parametrize(
    ("message", "masked"),
    [("to oksana@example.org", "to <email>"), ("call 050 123 45 67", "call <phone>")],
)
def test_the_filter_masks_what_slips_through(message: str, masked: str) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, message, None, None)
    RedactingFilter().filter(record)
    assert record.getMessage() == masked
