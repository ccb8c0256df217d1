"""Which letter an item gets: appeals and public-information requests are different
procedures under different laws, and some letters exist in a version for each."""

from __future__ import annotations

# Letters a public-information request gets in its own wording: Law 2939-VI has its own
# terms (working days), articles and words ("запит", "запитувач"), none of an appeal's.
_INFO_LETTERS = frozenset(
    {"citizen/ack", "citizen/answer", "citizen/extended", "department/assigned"}
)


def letter(name: str, kind: str) -> str:
    """The template (`<audience>/<event>`) of letter `name` for an item of `kind`:
    `citizen/ack` of a request is `citizen/info_ack`."""
    if kind == "info_request" and name in _INFO_LETTERS:
        audience, event = name.split("/", 1)
        return f"{audience}/info_{event}"
    return name
