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

import saferegex

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

# Python's [^\W\d_] (a letter, or a number that is not a digit) spelled for RE2.
_WORD = saferegex.compile(r"[\p{L}\p{Nl}\p{No}]+(?:'[\p{L}\p{Nl}\p{No}]+)*")
_CYRILLIC = saferegex.compile(r"[\u0400-\u04ff]")
_LATIN = saferegex.compile(r"[a-z]")
# A mask of three or more X (Latin or Cyrillic) standing as a word of its own; RE2's \b
# is ASCII-only, so the neighbours are checked in _mask.
_MASK = saferegex.compile(r"[XХ]{3,}")
_DIGITS = saferegex.compile(r"\d+")
_SPACES = saferegex.compile(r"\s+")


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _mask(match: saferegex.Match) -> str:
    text, start, end = match.string, match.start(), match.end()
    if (start > 0 and _is_word_char(text[start - 1])) or (
        end < len(text) and _is_word_char(text[end])
    ):
        return str(match.group(0))
    return " xxx "


def _fix_word(match: saferegex.Match) -> str:
    word = match.group(0)
    if _LATIN.search(word) and _CYRILLIC.search(word):
        return word.translate(_LATIN_TO_CYRILLIC)
    return word


def normalise_text(text: str) -> str:
    """Return `text` lower-cased with apostrophes, homoglyphs, masks and digits unified."""
    text = _MASK.sub(_mask, text)
    text = text.translate(_APOSTROPHES).lower()
    text = text.replace("ё", "е")
    text = _WORD.sub(_fix_word, text)
    text = _DIGITS.sub("0", text)
    return " ".join(text.split())
