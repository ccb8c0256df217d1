"""The hardened SMTP listener over real sockets (`serve()` with [smtp_server] settings):
slow clients, many connections, oversize while streaming, too many recipients, relay
attempts, and STARTTLS with a certificate made here (required, or offered)."""

from __future__ import annotations

import select
import smtplib
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from gwtest import wait_for
from probes import client_context, closed_by_peer, read_reply, self_signed
from sqlalchemy import func
from sqlalchemy import select as sql_select

from models import InboundMessage


def stored(app: Any) -> int:
    with app.sessions() as s:
        return int(s.scalar(sql_select(func.count(InboundMessage.id))) or 0)


def letter(n: int = 0) -> bytes:
    return (
        "From: Олена Коваль <olena@example.org>\r\nTo: zhkg@council.example\r\n"
        f"Subject: Вода {n}\r\nMessage-ID: <limits-{n}-{time.monotonic_ns()}@example.org>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "Прошу відновити водопостачання у будинку на вул. Лесі Українки, 7.\r\n"
    ).encode()


LIMITS = {
    "max_message_size": 64 * 1024,
    "max_recipients": 3,
    "max_connections": 6,
    "max_connections_per_client": 4,
    "command_timeout_seconds": 1.0,
    "data_timeout_seconds": 2.0,
    "trusted_clients": [],  # the tests' clients are on loopback, trusted by default
}


@pytest.fixture
def listener(make_app: Any, run_gateway: Any) -> Any:
    return run_gateway(make_app({"smtp_server": LIMITS}), {"smtp"})


def test_idle_connection_is_closed_after_the_command_timeout(listener: Any) -> None:
    with socket.create_connection(("127.0.0.1", listener.port)) as sock:
        assert read_reply(sock).startswith(b"220")
        started = time.monotonic()
        rest = b""
        sock.settimeout(10)
        while chunk := sock.recv(4096):
            rest += chunk
        waited = time.monotonic() - started
    assert rest.startswith(b"421 4.4.2")
    assert 0.5 < waited < 5


def test_t15_slowloris_dribbling_a_command_is_cut_off(listener: Any) -> None:
    """A byte every 0.3 s never completes a command: the timer is not reset by bytes."""
    with socket.create_connection(("127.0.0.1", listener.port)) as sock:
        read_reply(sock)
        started = time.monotonic()
        closed = False
        for b in b"EHLO slow.example.org and a very long argument" * 3:
            try:
                sock.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            r, _, _ = select.select([sock], [], [], 0.3)
            if r:
                closed = closed_by_peer(sock, 1)
                break
        assert closed
        assert time.monotonic() - started < 5


def test_t15_slowloris_dribbling_data_is_cut_off_by_the_data_timeout(listener: Any) -> None:
    with socket.create_connection(("127.0.0.1", listener.port)) as sock:
        read_reply(sock)
        for cmd in (
            b"EHLO c.example.org",
            b"MAIL FROM:<x@example.org>",
            b"RCPT TO:<zhkg@council.example>",
            b"DATA",
        ):
            sock.sendall(cmd + b"\r\n")
            assert read_reply(sock)[:1] in (b"2", b"3")
        started = time.monotonic()
        got = b""
        for _ in range(40):  # a line every 0.2 s would keep any per-line timer happy
            try:
                sock.sendall(b"Subject: slow\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            r, _, _ = select.select([sock], [], [], 0.2)
            if r:
                got = sock.recv(4096)
                break
        assert got.startswith(b"421 4.4.2"), got
        assert time.monotonic() - started < 5
    assert stored(listener.app) == 0


def test_t15_connections_past_the_per_client_limit_get_421(listener: Any) -> None:
    socks = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(4)]
    try:
        for s in socks:
            assert read_reply(s).startswith(b"220")
        with socket.create_connection(("127.0.0.1", listener.port)) as extra:
            reply = read_reply(extra)
            assert reply.startswith(b"421 4.7.0"), reply
            assert closed_by_peer(extra, 5)
    finally:
        for s in socks:
            s.close()

    # The count goes down when clients leave: a new connection is welcome again.
    def greeted() -> bool:
        with socket.create_connection(("127.0.0.1", listener.port)) as again:
            return read_reply(again).startswith(b"220")

    assert wait_for(greeted, timeout=5)


def test_t15_connections_past_the_total_limit_get_421(make_app: Any, run_gateway: Any) -> None:
    gw = run_gateway(
        make_app(
            {"smtp_server": {**LIMITS, "max_connections": 3, "max_connections_per_client": 10}}
        ),
        {"smtp"},
    )
    socks = [socket.create_connection(("127.0.0.1", gw.port)) for _ in range(3)]
    try:
        for s in socks:
            assert read_reply(s).startswith(b"220")
        with socket.create_connection(("127.0.0.1", gw.port)) as extra:
            assert read_reply(extra).startswith(b"421 4.7.0 ")
    finally:
        for s in socks:
            s.close()


def test_connection_rate_per_client_is_limited(make_app: Any, run_gateway: Any) -> None:
    gw = run_gateway(
        make_app({"smtp_server": {**LIMITS, "connections_per_client_per_minute": 3}}), {"smtp"}
    )
    replies = []
    for _ in range(4):
        with socket.create_connection(("127.0.0.1", gw.port)) as s:
            replies.append(read_reply(s)[:3])
    assert replies == [b"220", b"220", b"220", b"421"]


def test_message_rate_per_client_is_limited(make_app: Any, run_gateway: Any) -> None:
    gw = run_gateway(
        make_app({"smtp_server": {**LIMITS, "messages_per_client_per_minute": 2}}),
        {"smtp", "work"},
    )
    codes = []
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        for n in range(3):
            smtp.ehlo_or_helo_if_needed()
            code, _ = smtp.mail("x@example.org")
            codes.append(code)
            if code == 250:
                smtp.rcpt("zhkg@council.example")
                smtp.data(letter(n))
    assert codes == [250, 250, 451]
    assert wait_for(lambda: stored(gw.app) == 2)


def test_ehlo_advertises_the_size_limit(listener: Any) -> None:
    with smtplib.SMTP("127.0.0.1", listener.port) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["size"] == str(64 * 1024)


def test_t15_oversize_while_streaming_gets_552_before_the_body_ends(listener: Any) -> None:
    """No SIZE= declared: the listener answers 552 as soon as the limit is crossed, and
    stores nothing; the client has not sent most of its 1 MiB yet."""
    with socket.create_connection(("127.0.0.1", listener.port)) as sock:
        read_reply(sock)
        for cmd in (
            b"EHLO c.example.org",
            b"MAIL FROM:<x@example.org>",
            b"RCPT TO:<zhkg@council.example>",
            b"DATA",
        ):
            sock.sendall(cmd + b"\r\n")
            assert read_reply(sock)[:1] in (b"2", b"3")
        sock.sendall(letter()[:-2])
        line = b"x" * 998 + b"\r\n"
        sent, reply = 0, b""
        total = 1024 * 1024
        while sent < total:
            try:
                sock.sendall(line * 8)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(line) * 8
            r, _, _ = select.select([sock], [], [], 0.02)  # a client on a real link
            if r:
                reply = sock.recv(4096)
                break
        if not reply:
            reply = read_reply(sock)
    assert reply.startswith(b"552 5.3.4"), reply
    assert sent < total // 2
    time.sleep(0.3)
    assert stored(listener.app) == 0


def test_declared_oversize_is_refused_at_mail(listener: Any) -> None:
    with smtplib.SMTP("127.0.0.1", listener.port) as smtp:
        smtp.ehlo()
        code, _ = smtp.mail("x@example.org", options=[f"SIZE={10 * 64 * 1024}"])
    assert code == 552


def test_a_message_under_the_limit_is_still_stored(make_app: Any, run_gateway: Any) -> None:
    gw = run_gateway(make_app({"smtp_server": LIMITS}), {"smtp", "work"})
    body = letter() + b"y" * 998 + b"\r\n"
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        assert smtp.sendmail("x@example.org", ["zhkg@council.example"], body) == {}
    assert wait_for(lambda: stored(gw.app) == 1)


def test_t15_recipients_past_the_limit_get_452(make_app: Any, run_gateway: Any) -> None:
    gw = run_gateway(make_app({"smtp_server": LIMITS}), {"smtp", "work"})
    rcpts = ["zhkg@council.example", "transport@council.example", "social@council.example"]
    extra = ["reply+a@reply.council.example", "zvernennia@council.example"]
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.ehlo()
        smtp.mail("x@example.org")
        codes = [smtp.rcpt(r)[0] for r in rcpts + extra]
        assert smtp.data(letter())[0] == 250
    assert codes == [250, 250, 250, 452, 452]
    wait_for(lambda: stored(gw.app) == 1)
    with gw.app.sessions() as s:
        assert s.scalars(sql_select(InboundMessage)).one().rcpt_tos == rcpts


@pytest.mark.parametrize(
    "rcpt",
    [
        "victim@elsewhere.example",
        "victim%elsewhere.example@council.example",
        "victim%elsewhere.example@reply.council.example",
        "elsewhere.example!victim@reply.council.example",
        "@reply.council.example:victim@elsewhere.example",
        '"victim@elsewhere.example"@reply.council.example',
        "zhkg@council.example.elsewhere.example",
    ],
)
def test_t14_open_relay_attempts_get_550_and_nothing_is_stored(listener: Any, rcpt: str) -> None:
    with smtplib.SMTP("127.0.0.1", listener.port) as smtp:
        smtp.ehlo()
        assert smtp.mail("spammer@elsewhere.example")[0] == 250
        code, _ = smtp.rcpt(rcpt)
        assert code in (550, 501, 553), code
        assert smtp.docmd("DATA")[0] == 503  # no recipient: no message
    assert stored(listener.app) == 0


# -- STARTTLS -------------------------------------------------------------------------


@pytest.fixture
def tls_listener(make_app: Any, run_gateway: Any, tmp_path: Path) -> tuple[Any, Path]:
    cert, key = self_signed(tmp_path)
    app = make_app(
        {
            "smtp_server": {
                **LIMITS,
                "command_timeout_seconds": 10,
                "tls_cert_file": str(cert),
                "tls_key_file": str(key),
                "require_starttls": True,
            }
        }
    )
    return run_gateway(app, {"smtp", "work"}), cert


def test_t16_required_tls_refuses_mail_before_starttls(tls_listener: tuple[Any, Path]) -> None:
    gw, _ = tls_listener
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        code, _ = smtp.mail("x@example.org")
        assert code == 530
        assert smtp.rcpt("zhkg@council.example")[0] == 530
    assert stored(gw.app) == 0


def test_t16_starttls_with_the_configured_certificate_then_mail_is_taken(
    tls_listener: tuple[Any, Path],
) -> None:
    gw, cert = tls_listener
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.ehlo()
        smtp.starttls(context=client_context(cert))
        peer_cert = smtp.sock.getpeercert()  # type: ignore[union-attr]
        assert dict(x[0] for x in peer_cert["subject"])["commonName"] == "appeals.council.example"
        smtp.ehlo()
        assert smtp.sendmail("x@example.org", ["zhkg@council.example"], letter()) == {}
    assert wait_for(lambda: stored(gw.app) == 1)


def test_tls_settings_need_both_files(make_settings: Any) -> None:
    from gateway.errors import SettingsError

    with pytest.raises(SettingsError, match="tls_cert_file and tls_key_file"):
        make_settings({"smtp_server": {"tls_cert_file": "/x/cert.pem"}})
    with pytest.raises(SettingsError, match="require_starttls"):
        make_settings({"smtp_server": {"require_starttls": True}})


def test_a_trusted_client_is_held_to_the_total_only(make_app: Any, run_gateway: Any) -> None:
    """Behind Postfix every delivery comes from 127.0.0.1: the per-client limit (4) and the
    rate (2 a minute) do not apply to it, the total (6) still does."""
    gw = run_gateway(
        make_app(
            {
                "smtp_server": {
                    **LIMITS,
                    "connections_per_client_per_minute": 2,
                    "trusted_clients": ["127.0.0.1"],
                }
            }
        ),
        {"smtp"},
    )
    socks = [socket.create_connection(("127.0.0.1", gw.port)) for _ in range(6)]
    try:
        assert [read_reply(s)[:3] for s in socks] == [b"220"] * 6
        with socket.create_connection(("127.0.0.1", gw.port)) as extra:
            assert read_reply(extra).startswith(b"421 4.7.0")
    finally:
        for s in socks:
            s.close()


def test_a_noop_flood_does_not_hold_the_connection(listener: Any) -> None:
    """NOOP resets the command timer, so its number per session is limited."""
    with smtplib.SMTP("127.0.0.1", listener.port) as smtp:
        smtp.ehlo()
        codes = [smtp.noop()[0] for _ in range(10)]
        assert codes == [250] * 10
        assert smtp.noop()[0] == 421


def test_an_unreadable_certificate_stops_the_start(make_settings: Any, tmp_path: Path) -> None:
    from gateway.errors import SettingsError
    from gateway.runner import listener_tls

    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    settings = make_settings(
        {
            "smtp_server": {
                "tls_cert_file": str(tmp_path / "cert.pem"),
                "tls_key_file": str(tmp_path / "key.pem"),
            }
        }
    )
    with pytest.raises(SettingsError, match="tls_cert_file"):
        listener_tls(settings)
