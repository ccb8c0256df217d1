"""The hardened listener of `appeals run` (settings from the file, as deployed): STARTTLS
with the configured certificate is required before MAIL, a message takes at most
`max_recipients` recipients (452 past them), a relay attempt gets 550, an idle client is
disconnected with 421 after `command_timeout_seconds`, and a message streamed past the
size limit hears 552 before its end and is not stored."""

from __future__ import annotations

import select
import smtplib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import CaptureRelay
from gwtest import free_port
from harness import Gateway, by_rcpt
from probes import client_context, read_reply, self_signed


@pytest.fixture(scope="module")
def tls_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Path]]:
    tmp = Path(tmp_path_factory.mktemp("gwtls"))
    cert, key = self_signed(tmp)
    relay = CaptureRelay("127.0.0.1", free_port())
    controller = Controller(relay, hostname=relay.host, port=relay.port)
    controller.start()
    gw = Gateway(
        tmp,
        relay,
        smtp_server={
            "tls_cert_file": str(cert),
            "tls_key_file": str(key),
            "require_starttls": True,
            "max_recipients": 2,
            "command_timeout_seconds": 2,
            "max_message_size": 200_000,
        },
    ).start()
    try:
        yield gw, cert
    finally:
        gw.stop()
        controller.stop()


APPEAL = (
    "From: =?UTF-8?B?0J7Qu9C10LMg0JHQvtC50LrQvg==?= <oleh.boiko@gmail.com>\r\n"
    "To: transport@council.example\r\nSubject: =?UTF-8?B?0KHQstGW0YLQu9C+0YTQvtGA?=\r\n"
    "Message-ID: <tls-1@mail.gmail.com>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Не працює світлофор на перехресті просп. Волі та вул. Шопена.\r\n\r\n"
    "Олег Бойко\r\nм. Луцьк, просп. Волі, 30, кв. 2\r\n"
).encode()


def test_mail_before_starttls_is_refused(tls_gateway: tuple[Gateway, Path]) -> None:
    gw, _ = tls_gateway
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert smtp.mail("oleh.boiko@gmail.com")[0] == 530


def test_t14_t16_over_tls_a_letter_goes_in_and_extra_recipients_and_relaying_are_refused(
    tls_gateway: tuple[Gateway, Path],
) -> None:
    gw, cert = tls_gateway
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.starttls(context=client_context(cert))
        smtp.ehlo()
        assert smtp.mail("oleh.boiko@gmail.com")[0] == 250
        assert smtp.rcpt("victim@elsewhere.example")[0] == 550  # never a relay
        assert smtp.rcpt("transport@council.example")[0] == 250
        assert smtp.rcpt("zvernennia@council.example")[0] == 250
        assert smtp.rcpt("zhkg@council.example")[0] == 452
        assert smtp.data(APPEAL)[0] == 250
    out = by_rcpt(gw.wait_letters(2))
    assert set(out) == {"oleh.boiko@gmail.com", "transport-staff@council.example"}


def test_an_idle_client_is_disconnected(tls_gateway: tuple[Gateway, Path]) -> None:
    gw, _ = tls_gateway
    with socket.create_connection(("127.0.0.1", gw.port)) as sock:
        assert read_reply(sock).startswith(b"220")
        started = time.monotonic()
        assert read_reply(sock, timeout=10).startswith(b"421 4.4.2")
        assert time.monotonic() - started < 6


def test_oversize_while_streaming_is_refused_early_and_not_stored(
    tls_gateway: tuple[Gateway, Path],
) -> None:
    gw, cert = tls_gateway
    before = gw.cli("status")
    raw = socket.create_connection(("127.0.0.1", gw.port))
    read_reply(raw)
    raw.sendall(b"EHLO c.example.org\r\n")
    read_reply(raw)
    raw.sendall(b"STARTTLS\r\n")
    assert read_reply(raw).startswith(b"220")
    sock = client_context(cert).wrap_socket(raw)
    try:
        for cmd in (
            b"EHLO c.example.org",
            b"MAIL FROM:<x@example.org>",
            b"RCPT TO:<transport@council.example>",
            b"DATA",
        ):
            sock.sendall(cmd + b"\r\n")
            assert read_reply(sock)[:1] in (b"2", b"3")
        sock.sendall(APPEAL)
        sent, reply = 0, b""
        while sent < 2_000_000:
            sock.sendall((b"y" * 998 + b"\r\n") * 16)
            sent += 1000 * 16
            if select.select([sock], [], [], 0.02)[0] or sock.pending():
                reply = sock.recv(4096)
                break
        assert reply.startswith(b"552 5.3.4"), reply
        assert sent < 1_000_000
    finally:
        sock.close()
    time.sleep(0.5)
    assert gw.cli("status") == before  # nothing stored
