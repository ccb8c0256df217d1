"""Phone numbers in a citizen's letter, found and checked with `phonenumbers`.

People write Ukrainian numbers in every shape: "+380 67 765 43 21", "+38 (067) 765-43-21",
"067 765 43 21", "0677654321", "(0332) 72-45-67". `phonenumbers` (Google's libphonenumber
metadata) knows which of these are real Ukrainian numbers, with Ukraine as the region for
numbers written without a country code, and so does not take a postcode, a date or a house
number for a phone. Numbers are shown the way Ukrainian offices write them: "+380 67 765 43
21" (the operator or area code, then the subscriber number in groups of two at the end).
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

DEFAULT_REGION = "UA"


@dataclass(frozen=True)
class Phone:
    """One number found in a text: where it was written and how it is shown."""

    start: int
    end: int
    raw: str
    e164: str
    display: str


def _groups(digits: str) -> str:
    # Ukrainian practice: "765 43 21", "72 45 67", "2 45 67": pairs from the right.
    head = (len(digits) % 2 or 2) if len(digits) <= 5 else len(digits) - 4
    parts = [digits[:head]] + [digits[i : i + 2] for i in range(head, len(digits), 2)]
    return " ".join(p for p in parts if p)


def display(number: phonenumbers.PhoneNumber) -> str:
    """ "+380 67 765 43 21" for Ukrainian numbers; the library's international form else."""
    if number.country_code != 380:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    nsn = phonenumbers.national_significant_number(number)
    ndc = phonenumbers.length_of_national_destination_code(number) or 2
    return f"+380 {nsn[:ndc]} {_groups(nsn[ndc:])}"


def find_phones(text: str, region: str = DEFAULT_REGION) -> list[Phone]:
    """Every valid phone number in `text`, in order (a number written twice appears twice)."""
    out = []
    for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        out.append(
            Phone(
                start=m.start,
                end=m.end,
                raw=m.raw_string,
                e164=phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164),
                display=display(m.number),
            )
        )
    return out


def normalise(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 form of one written number, or None when it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
