"""Reply-address tokens: round trip, tolerated retyping slips, forgeries refused."""

from __future__ import annotations

import pytest

from routing.tokens import ReplyAddressCodec, b32decode_int, b32encode_int

CODEC = ReplyAddressCodec(key=b"k1", local="reply", delimiter="+", domain="reply.example")


@pytest.mark.parametrize("n", [0, 1, 31, 32, 1023, 123456789])
def test_base32_round_trip(n: int) -> None:
    assert b32decode_int(b32encode_int(n)) == n


def test_address_round_trip() -> None:
    addr = CODEC.address_for(4242)
    check = CODEC.decode(addr)
    assert check is not None and check.valid and check.appeal_id == 4242


def test_case_changes_and_l1_o0_slips_still_verify() -> None:
    addr = CODEC.address_for(77)
    local, domain = addr.split("@")
    slipped = local.upper().replace("1", "l").replace("0", "O") + "@" + domain.upper()
    check = CODEC.decode(slipped)
    assert check is not None and check.valid and check.appeal_id == 77


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda a: a.replace("reply+", "reply+1", 1), id="changed-id"),
        pytest.param(
            lambda a: (
                a[: a.index("@") - 1]
                + ("x" if a[a.index("@") - 1] != "x" else "y")
                + a[a.index("@") :]
            ),
            id="changed-mac",
        ),
    ],
)
def test_altered_tokens_do_not_verify(mutate: object) -> None:
    addr = mutate(CODEC.address_for(4242))  # type: ignore[operator]
    check = CODEC.decode(addr)
    assert check is not None and not check.valid


def test_other_key_does_not_verify() -> None:
    other = ReplyAddressCodec(key=b"k2", local="reply", delimiter="+", domain="reply.example")
    check = other.decode(CODEC.address_for(5))
    assert check is not None and not check.valid


def test_addresses_without_token_are_not_tokens() -> None:
    assert CODEC.decode("someone@reply.example") is None
    assert CODEC.decode("reply+abc-def@elsewhere.example") is None


def test_each_audience_has_its_own_token_and_neither_makes_the_other() -> None:
    from routing.tokens import ReplyAddressCodec

    codec = ReplyAddressCodec(b"audience-key", "reply", "+", "reply.council.example")
    dept, citizen = codec.address_for(77), codec.address_for(77, "citizen")
    assert dept != citizen
    d, c = codec.decode(dept), codec.decode(citizen)
    assert d is not None and (d.appeal_id, d.valid, d.audience) == (77, True, "department")
    assert c is not None and (c.appeal_id, c.valid, c.audience) == (77, True, "citizen")
    # Another appeal's citizen token does not verify for this appeal.
    other = codec.address_for(78, "citizen").replace(
        codec.address_for(78, "citizen").split("+")[1].split("-")[0],
        dept.split("+")[1].split("-")[0],
    )
    o = codec.decode(other)
    assert o is not None and not o.valid
