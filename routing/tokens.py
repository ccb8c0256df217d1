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

Keys rotate with a grace period (docs/security.md, T10): new addresses are always made
with the current key; an address made with a previous key still verifies until that
key's expiry, so staff answering a forward sent before the rotation are not held, and
after it the address is refused (`expired-token`), never silently accepted.

The same key marks our own outbound mail: `X-Appeal-Gateway` carries a MAC of the
message's Message-ID (`loop_mark`), so only mail we really sent is recognised as our echo;
a citizen who copies the header into a letter gains nothing (T12).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
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


_TOKEN_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


def _is_token_part(part: str) -> bool:
    return bool(part) and all(c in _TOKEN_CHARS for c in part)


@dataclass(frozen=True)
class PreviousKey:
    """A key that signed addresses before the last rotation, accepted until `expires`."""

    key: bytes
    expires: datetime


@dataclass(frozen=True)
class ReplyAddressCodec:
    key: bytes
    local: str
    delimiter: str
    domain: str
    previous: tuple[PreviousKey, ...] = ()

    def loop_mark(self, message_id: str) -> str:
        """The MAC our loop header carries for a message with this Message-ID."""
        digest = hmac.new(self.key, f"loop:{message_id.strip()}".encode(), hashlib.sha256)
        return digest.hexdigest()[:20]

    def is_loop_mark(self, header_value: str, message_id: str | None) -> bool:
        """Whether a loop header's `sig=` was made by us for this Message-ID (any key still
        known: our echo can come back after a rotation)."""
        # "<instance>; kind=<kind>; sig=<mac>": split on ";" (no pattern over the text).
        sigs = [
            part.strip()[4:]
            for part in (header_value or "").split(";")
            if part.strip().startswith("sig=")
        ]
        if len(sigs) != 1 or len(sigs[0]) != 20 or not message_id:
            return False
        for key in (self.key, *(p.key for p in self.previous)):
            digest = hmac.new(key, f"loop:{message_id.strip()}".encode(), hashlib.sha256)
            if hmac.compare_digest(sigs[0].encode(), digest.hexdigest()[:20].encode()):
                return True
        return False

    def address_for(self, appeal_id: int, audience: Audience = "department") -> str:
        token = f"{b32encode_int(appeal_id)}-{_mac(self.key, appeal_id, audience)}"
        return f"{self.local}{self.delimiter}{token}@{self.domain}".lower()

    def is_reply_domain(self, address: str) -> bool:
        return address.rsplit("@", 1)[-1].strip().lower() == self.domain.lower()

    def decode(self, address: str, now: datetime | None = None) -> TokenCheck | None:
        """None when the address carries no token at all; otherwise a verdict. `now`
        decides whether previous keys are still in their grace period (without it only
        the current key counts)."""
        addr = address.strip().strip("<>").lower()
        if "@" not in addr:
            return None
        local, domain = addr.rsplit("@", 1)
        if domain != self.domain.lower():
            return None
        # Plain string work, no pattern: "<local><delimiter><id>-<mac>".
        prefix = self.local.lower() + self.delimiter
        if not local.startswith(prefix):
            return None
        id_part, dash, mac_part = local[len(prefix) :].partition("-")
        if not (dash and _is_token_part(id_part) and _is_token_part(mac_part)):
            return None
        appeal_id = b32decode_int(id_part)
        mac = mac_part.upper().translate(str.maketrans("ILO", "110"))
        if appeal_id is None:
            return TokenCheck(None, valid=False)
        audiences: tuple[Audience, ...] = ("department", "citizen")
        for audience in audiences:
            if hmac.compare_digest(mac, _mac(self.key, appeal_id, audience)):
                return TokenCheck(appeal_id, valid=True, audience=audience)
        for old in self.previous:
            for audience in audiences:
                if hmac.compare_digest(mac, _mac(old.key, appeal_id, audience)):
                    if now is not None and now < old.expires:
                        return TokenCheck(appeal_id, True, audience, key="previous")
                    return TokenCheck(appeal_id, valid=False, expired=True)
        return TokenCheck(appeal_id, valid=False)


@dataclass(frozen=True)
class TokenCheck:
    appeal_id: int | None
    valid: bool
    audience: Audience | None = None  # whose letter the address came from
    key: Literal["current", "previous"] = "current"
    expired: bool = False  # made with a previous key whose grace period is over
