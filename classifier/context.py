"""What the model may know about an appeal besides its text: district, repeat, month.

Routing depends on more than words: the same complaint goes to a different body in each
district, a repeated appeal (повторне: the same citizen again on the same matter, Law on
Citizens' Appeals art. 8) is often answered by another body than the first, and some bodies
are seasonal (heating in winter, landscaping in summer). A model trained with
`ClassifierParams.context` sees these as extra one-hot features.

The sklearn pipeline takes one string per appeal, so the context travels inside it after a
separator no mail text contains (U+001F, the ASCII unit separator, which `compose` strips
from the text). The word and character vectorisers read only the part before it
(`text_part`), a third vectoriser reads only the tokens after it (`context_tokens`). Both
are plain top-level functions because skops stores them by reference and the registry
trusts exactly these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from classifier.normalise import normalise_text

SEPARATOR = "\x1f"
FIELDS: tuple[str, ...] = ("district", "repeat", "month")


@dataclass(frozen=True)
class Context:
    """The non-text facts the gateway knows when it routes an appeal."""

    district: str | None = None
    repeat: bool = False
    month: int | None = None  # 1..12, of the receipt

    def tokens(self, fields: tuple[str, ...] | list[str]) -> list[str]:
        out: list[str] = []
        for name in fields:
            if name == "district":
                # Spaces inside a district's name would split the token.
                out.append("district=" + (self.district or "-").lower().replace(" ", "_"))
            elif name == "repeat":
                out.append(f"repeat={int(self.repeat)}")
            elif name == "month":
                out.append(f"month={self.month or 0}")
            else:
                raise ValueError(f"unknown context field {name!r}; known: {list(FIELDS)}")
        return out


def check_fields(fields: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        raise ValueError(f"unknown context field(s) {unknown}; known: {list(FIELDS)}")
    return tuple(fields)


def compose(text: str, context: Context | None, fields: tuple[str, ...] | list[str]) -> str:
    """The model's input string: the text, then the context tokens (if the model uses any)."""
    clean = text.replace(SEPARATOR, " ")
    if not fields:
        return clean
    return clean + SEPARATOR + " ".join((context or Context()).tokens(fields))


def text_part(doc: str) -> str:
    """Preprocessor of the word and character vectorisers: the normalised text only."""
    return normalise_text(doc.split(SEPARATOR, 1)[0])


def context_tokens(doc: str) -> list[str]:
    """Analyzer of the context vectoriser: the tokens after the separator, if any."""
    _, sep, tail = doc.partition(SEPARATOR)
    return tail.split() if sep else []
