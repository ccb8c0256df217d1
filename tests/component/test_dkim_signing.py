"""What the gateway sends is DKIM-signed when a key is configured: through the SMTP relay
and into the outbox directory alike, and the signature verifies with dkimpy against the
public key (served by an injected DNS function); a changed message no longer verifies."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dkim
import pytest
from gwtest import wait_for
from probes import dkim_key

from gateway.errors import SettingsError
from gateway.outbound.transport import DirectoryTransport, SmtpTransport

SELECTOR = "gw2026"
DOMAIN = "council.example"


def dns_for(record: bytes) -> Any:
    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return dnsfunc


def dkim_patch(key_file: Path) -> dict[str, Any]:
    return {
        "outbound": {"dkim": {"selector": SELECTOR, "domain": DOMAIN, "key_file": str(key_file)}}
    }


def appeal() -> bytes:
    m = EmailMessage()
    m["From"] = "Олена Коваль <olena@example.org>"
    m["To"] = "zhkg@council.example"
    m["Subject"] = "Немає води"
    m["Message-ID"] = "<dkim-1@example.org>"
    m.set_content(
        "Прошу відновити водопостачання.\n\nОлена Коваль\nм. Луцьк, вул. Лесі Українки, 7, кв. 3\n"
    )
    return m.as_bytes()


def test_t20_letters_through_the_relay_are_signed_and_verify(
    make_app: Any, run_gateway: Any, capture_relay: Any, tmp_path: Path
) -> None:
    import smtplib

    key_file, record = dkim_key(tmp_path)
    app = make_app(
        dkim_patch(key_file),
        transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False),
    )
    gw = run_gateway(app)
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.sendmail("olena@example.org", ["zhkg@council.example"], appeal())
    sent = wait_for(lambda: len(capture_relay.snapshot()) >= 2 and capture_relay.snapshot())
    for m in sent:
        assert m.data.startswith(b"DKIM-Signature: ")
        assert f"d={DOMAIN}".encode() in m.data.split(b"\r\n\r\n")[0]
        assert dkim.verify(m.data, dnsfunc=dns_for(record))
        # One changed byte of the body breaks it: the check is real.
        tampered = m.data.replace(b"\r\n\r\n", b"\r\n\r\nX", 1)
        assert not dkim.verify(tampered, dnsfunc=dns_for(record))


def test_t20_outbox_files_are_signed_too(make_app: Any, run_gateway: Any, tmp_path: Path) -> None:
    import smtplib

    key_file, record = dkim_key(tmp_path)
    out = tmp_path / "outbox"
    gw = run_gateway(make_app(dkim_patch(key_file), transport=DirectoryTransport(out)))
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.sendmail("olena@example.org", ["zhkg@council.example"], appeal())
    files = wait_for(lambda: len(list(out.glob("*.eml"))) >= 2 and list(out.glob("*.eml")))
    for f in files:
        data = f.read_bytes()
        # The directory transport's own envelope lines come first; the message follows.
        message = data.split(b"\r\n", 2)[2]
        assert message.startswith(b"DKIM-Signature: ")
        assert dkim.verify(message, dnsfunc=dns_for(record))


def test_no_key_means_no_signature(make_app: Any, run_gateway: Any, capture_relay: Any) -> None:
    import smtplib

    app = make_app(transport=SmtpTransport(capture_relay.host, capture_relay.port, starttls=False))
    gw = run_gateway(app)
    with smtplib.SMTP("127.0.0.1", gw.port) as smtp:
        smtp.sendmail("olena@example.org", ["zhkg@council.example"], appeal())
    sent = wait_for(lambda: len(capture_relay.snapshot()) >= 2 and capture_relay.snapshot())
    assert not any(b"DKIM-Signature" in m.data for m in sent)


def test_a_bad_key_or_a_misaligned_domain_stops_the_start(
    make_app: Any, make_settings: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.private"
    bad.write_bytes(b"-----BEGIN RSA PRIVATE KEY-----\nnotakey\n-----END RSA PRIVATE KEY-----\n")
    with pytest.raises(SettingsError, match=r"dkim\.key_file"):
        make_app(dkim_patch(bad))
    key_file, _ = dkim_key(tmp_path)
    with pytest.raises(SettingsError, match="DMARC alignment"):
        make_settings(
            {
                "outbound": {
                    "dkim": {"selector": "s", "domain": "other.example", "key_file": str(key_file)}
                }
            }
        )
    with pytest.raises(SettingsError, match="selector and domain"):
        make_settings({"outbound": {"dkim": {"key_file": str(key_file)}}})
