"""Text normalisation for short, noisy Ukrainian and Russian appeals.

Used as the `preprocessor` of the TF-IDF vectorisers, so it must be a plain
top-level function: skops stores it by reference (module + name) and the
registry trusts exactly this name on load.

What it fixes, and why:
- Apostrophes. Ukrainian writes the apostrophe as U+2019, U+02BC (the
  orthographically correct modifier letter), U+0027, a backtick or U+02B9/U+2032
  depending on keyboard and phone; "м’ясо", "мʼясо", "м'ясо" must be one token.
- Case. Citizens write in capitals when angry.
- Latin look-alikes. Mixed keyboard layouts and copy-paste give words such as
  "вуличнe" with a Latin "e", or "ЖKГ" with a Latin "K"; inside a word that is
  otherwise Cyrillic we map Latin homoglyphs to their Cyrillic twins. Words that
  are entirely Latin (URLs, e-mail, "Viber") are left alone.
- Portal masks. The St Petersburg portal replaced personal data with runs of X;
  they carry no topic signal, so they collapse to one placeholder.
- Digits become "0" so that house numbers and dates do not fragment n-grams.
"""

from __future__ import annotations

import re

_APOSTROPHES = str.maketrans({c: "'" for c in "\u2019\u02bc\u2018`\u00b4\u02b9\u2032\uff07"})

# Lower-case Latin letters that look like Cyrillic ones (after lower-casing).
_LATIN_TO_CYRILLIC = str.maketrans(
    {
        "a": "а",
        "b": "в",  # capital B looks like В; after lower() it is still a homoglyph in mixed words
        "c": "с",
        "e": "е",
        "h": "н",
        "i": "і",
        "k": "к",
        "m": "м",
        "o": "о",
        "p": "р",
        "t": "т",
        "x": "х",
        "y": "у",
    }
)

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-z]")
_MASK = re.compile(r"\b[XХ]{3,}\b")
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


def _fix_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if _LATIN.search(word) and _CYRILLIC.search(word):
        return word.translate(_LATIN_TO_CYRILLIC)
    return word


def normalise_text(text: str) -> str:
    """Return `text` lower-cased with apostrophes, homoglyphs, masks and digits unified."""
    text = _MASK.sub(" xxx ", text)
    text = text.translate(_APOSTROPHES).lower()
    text = text.replace("ё", "е")
    text = _WORD.sub(_fix_word, text)
    text = _DIGITS.sub("0", text)
    return _SPACES.sub(" ", text).strip()
