"""Test helpers for talking to listeners the way hostile or broken clients do: raw SMTP
replies over a socket, a self-signed certificate for STARTTLS, a DKIM key pair (all made
with `cryptography`, here, per test)."""

from __future__ import annotations

import base64
import datetime as dt
import socket
import ssl
from pathlib import Path


def read_reply(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """One complete SMTP reply (all its lines), or what came before the peer closed."""
    sock.settimeout(timeout)
    buf = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return buf
        buf += chunk
        lines = buf.split(b"\r\n")
        if len(lines) > 1 and any(len(x) >= 4 and x[3:4] == b" " for x in lines[:-1]):
            return buf


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return True


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made here with `cryptography`."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "appeals.council.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("appeals.council.example"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def client_context(cert_file: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cert_file))
    ctx.check_hostname = False  # the certificate names 127.0.0.1 as an IP SAN
    return ctx


def dkim_key(tmp: Path) -> tuple[Path, bytes]:
    """An RSA key file (PKCS#1 PEM, as `openssl genrsa` writes) and the DNS TXT record
    that publishes its public half."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp / "dkim.private"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
