"""Internationalised addresses on the way out: which form goes on the wire, and when the
relay must offer SMTPUTF8.

Citizens write from addresses like `оксана@пошта.укр` (RFC 6530: a UTF-8 local part) or
`oksana@пошта.укр` (an IDN domain with an ASCII local part). The domain always goes out as
IDNA A-labels (`xn--80a1acn3a.xn--j1amh`, RFC 5891): every relay and DNS resolver takes
that form, so an ASCII local part needs nothing more. A UTF-8 local part has no ASCII
form at all: it can only be sent with the SMTPUTF8 extension (RFC 6531), and the
message's own header then carries it as UTF-8 (RFC 6532).

The A-labels come from the standard library's IDNA codec (IDNA 2003); for the Cyrillic
labels of .укр and .рф domains it gives the same result as IDNA 2008.
"""

from __future__ import annotations


class AddressError(ValueError):
    """An address that cannot be written in any form a relay takes."""


def _split(address: str) -> tuple[str, str]:
    addr = address.strip().strip("<>").strip()
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain:
        raise AddressError("not an address (local@domain)")
    return local, domain


def needs_smtputf8(address: str) -> bool:
    """True when the address can only be sent with SMTPUTF8 (its local part is UTF-8)."""
    try:
        local, _ = _split(address)
    except AddressError:
        return not address.isascii()
    return not local.isascii()


def envelope_form(address: str) -> str:
    """The address for MAIL FROM / RCPT TO: the domain in A-labels, the local part as it
    is. Raises AddressError when the domain cannot be IDNA-encoded."""
    local, domain = _split(address)
    if domain.isascii():
        return f"{local}@{domain}"
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise AddressError("the domain cannot be written in IDNA form") from exc
    return f"{local}@{ascii_domain}"


def header_form(address: str) -> str:
    """The address for To/Cc. With an ASCII local part it is the envelope form, so the
    message stays plain ASCII and any relay can take it; a UTF-8 local part keeps the
    address as the citizen wrote it (the message needs SMTPUTF8 anyway)."""
    if needs_smtputf8(address):
        return address.strip()
    try:
        return envelope_form(address)
    except AddressError:
        return address.strip()
