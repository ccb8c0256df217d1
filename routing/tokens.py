"""Per-appeal reply addresses that cannot be forged: `reply+<id>-<mac>@<reply domain>`.

`<id>` is the appeal id in Crockford base32 and `<mac>` the first 40 bits of
HMAC-SHA256(key, "appeal:<id>") in the same alphabet. Crockford base32 is case-insensitive
and decodes I/L as 1 and O as 0, so the retyping slips people make when they copy an
address by hand (Alaveteli accepts l/1 and o/0 for the same reason) still verify, while
a changed id or MAC never does (comparison in constant time).

Each audience gets its own MAC over the same id: the department's forward carries
HMAC(key, "appeal:<id>"), the citizen's letters HMAC(key, "citizen:<id>"). The two look
alike, and one cannot be made from the other without the key, so the address a citizen
holds can only ever add to the appeal: answering, extending or redirecting needs the
department's address (and a sender the department's, `routing.replies`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

Audience = Literal["department", "citizen"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_DECODE.update({"I": 1, "L": 1, "O": 0})
MAC_CHARS = 8


def b32encode_int(n: int) -> str:
    if n < 0:
        raise ValueError("negative id")
    out = []
    while True:
        n, r = divmod(n, 32)
        out.append(_ALPHABET[r])
        if n == 0:
            return "".join(reversed(out))


def b32decode_int(s: str) -> int | None:
    n = 0
    for ch in s.upper():
        v = _DECODE.get(ch)
        if v is None:
            return None
        n = n * 32 + v
    return n


def _mac(key: bytes, appeal_id: int, audience: Audience = "department") -> str:
    label = "appeal" if audience == "department" else "citizen"
    digest = hmac.new(key, f"{label}:{appeal_id}".encode(), hashlib.sha256).digest()
    bits = int.from_bytes(digest[:5], "big")  # 40 bits = 8 base32 characters
    return b32encode_int(bits).rjust(MAC_CHARS, "0")


@dataclass(frozen=True)
class ReplyAddressCodec:
    key: bytes
    local: str
    delimiter: str
    domain: str

    def address_for(self, appeal_id: int, audience: Audience = "department") -> str:
        token = f"{b32encode_int(appeal_id)}-{_mac(self.key, appeal_id, audience)}"
        return f"{self.local}{self.delimiter}{token}@{self.domain}".lower()

    def is_reply_domain(self, address: str) -> bool:
        return address.rsplit("@", 1)[-1].strip().lower() == self.domain.lower()

    def decode(self, address: str) -> TokenCheck | None:
        """None when the address carries no token at all; otherwise a verdict."""
        addr = address.strip().strip("<>").lower()
        if "@" not in addr:
            return None
        local, domain = addr.rsplit("@", 1)
        if domain != self.domain.lower():
            return None
        m = re.fullmatch(
            re.escape(self.local.lower()) + re.escape(self.delimiter) + r"([0-9a-z]+)-([0-9a-z]+)",
            local,
        )
        if not m:
            return None
        appeal_id = b32decode_int(m.group(1))
        mac = m.group(2).upper().translate(str.maketrans("ILO", "110"))
        if appeal_id is None:
            return TokenCheck(None, valid=False)
        for audience in ("department", "citizen"):
            if hmac.compare_digest(mac, _mac(self.key, appeal_id, audience)):
                return TokenCheck(appeal_id, valid=True, audience=audience)
        return TokenCheck(appeal_id, valid=False)


@dataclass(frozen=True)
class TokenCheck:
    appeal_id: int | None
    valid: bool
    audience: Audience | None = None  # whose letter the address came from
