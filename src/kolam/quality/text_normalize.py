"""Normalise transcripts per language before they are compared, so WER and consensus count words, not typography.

Two annotators who type the same Tamil word once with a precomposed vowel sign (``ொ`` U+0BCA) and once as
its parts (``ெ`` + ``ா``), or who end a Hindi sentence with a danda ``।`` or not, or write ``१२`` or ``12``,
said the same thing; left alone, each difference costs a word error. The steps, in order:

1. Unicode NFC, so canonically equal strings become equal code points (the Tamil vowel signs above, the
   Devanagari nukta letters, Latin accents).
2. Invisible formatting marks go: bidi marks, soft hyphen, word joiner, byte-order mark; a zero-width space
   becomes a space (Thai and Khmer use it to mark word boundaries).
3. Zero-width joiner / non-joiner (U+200D / U+200C) are removed *only next to a Devanagari or Tamil
   character*: there they choose a rendering (half form, explicit virama, ligature) and not a different
   word, so e.g. ``क्‍ष`` and ``क्ष`` count as the same word. Elsewhere they can carry meaning (the Persian ZWNJ
   inside a word, emoji ZWJ sequences), so they are kept. For ``en`` all are removed (Latin text has no use
   for them).
4. Case folding (``str.casefold``): Latin, Greek, Cyrillic, ...; Devanagari and Tamil have no case.
5. Digits: every decimal digit (Unicode category Nd: ASCII, Devanagari ``०-९``, Tamil ``௦-௯``, and the rest)
   becomes its ASCII digit. Tamil's number signs ``௰ ௱ ௲`` (10, 100, 1000) are not positional digits and stay.
6. Punctuation (Unicode categories P*, which include the danda ``।`` and double danda ``॥``): an apostrophe
   inside a word is dropped (``don't`` = ``dont``); a comma between digits is a digit-group separator and is
   dropped (``1,00,000`` = ``100000``); a full stop between digits is a decimal point and stays (``3.5``);
   every other punctuation mark becomes a space. Symbols (``₹ +``) and the few punctuation marks that are
   read aloud (``% ‰ & @ #``, "percent", "and", ...) are kept.
7. Whitespace collapses to single spaces, with none at either end.

No transliteration and no spelling correction: ``रुपये`` and ``rupaye`` stay different words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["NormalizationProfile", "normalize", "profile_for", "tokenize"]

ZWNJ = "\u200c"
ZWJ = "\u200d"
# Marks that change neither the words nor how they are read aloud.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u00ad\u200e\u200f\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
_INVISIBLE[0x200B] = " "  # zero-width space marks a word boundary

_INDIC = "\u0900-\u097f\ua8e0-\ua8ff\u0b80-\u0bff"  # Devanagari, Devanagari Extended, Tamil
_JOINER_NEAR_INDIC = re.compile(f"(?<=[{_INDIC}])[{ZWJ}{ZWNJ}]+|[{ZWJ}{ZWNJ}]+(?=[{_INDIC}])")
_ANY_JOINER = re.compile(f"[{ZWJ}{ZWNJ}]+")
_APOSTROPHES = "'\u2019"
_INTRA_WORD_APOSTROPHE = re.compile(rf"(?<=\w)[{_APOSTROPHES}](?=\w)")
_SPOKEN_PUNCTUATION = frozenset("%\u2030\u2031&@#")
_DIGIT_GROUP_COMMA = re.compile(r"(?<=\d),(?=\d)")


@dataclass(frozen=True)
class NormalizationProfile:
    """What normalisation does for one language; ``profile_for`` picks it from a language tag."""

    language: str
    casefold: bool = True
    remove_all_joiners: bool = False


_PROFILES = {
    "en": NormalizationProfile("en", remove_all_joiners=True),
    "hi": NormalizationProfile("hi"),
    "ta": NormalizationProfile("ta"),
}


def profile_for(language: str | None) -> NormalizationProfile:
    """The profile for a BCP 47 tag (``ta-IN`` uses ``ta``); unknown or missing tags get the generic one."""
    primary = (language or "").replace("_", "-").split("-")[0].casefold()
    return _PROFILES.get(primary, NormalizationProfile(primary or "und"))


def _ascii_digits(text: str) -> str:
    """Map every Unicode decimal digit (category Nd) to its ASCII digit."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if unicodedata.category(ch) == "Nd" else ch for ch in text)


def _strip_punctuation(text: str) -> str:
    """Apply step 6 of the module docstring: punctuation becomes a space, with three exceptions inside words."""
    text = _DIGIT_GROUP_COMMA.sub("", _INTRA_WORD_APOSTROPHE.sub("", text))
    last = len(text) - 1
    out = []
    for i, ch in enumerate(text):
        if ch in _SPOKEN_PUNCTUATION or not unicodedata.category(ch).startswith("P"):
            out.append(ch)
        elif ch == "." and 0 < i < last and text[i - 1].isdigit() and text[i + 1].isdigit():
            out.append(ch)  # decimal point
        else:
            out.append(" ")
    return "".join(out)


def normalize(text: str, language: str | None = None) -> str:
    """Return ``text`` in the comparable form described in the module docstring (idempotent)."""
    profile = profile_for(language)
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    joiners = _ANY_JOINER if profile.remove_all_joiners else _JOINER_NEAR_INDIC
    text = joiners.sub("", text)
    if profile.casefold:
        # Case folding can decompose (e.g. "İ" -> "i" + U+0307), so compose again.
        text = unicodedata.normalize("NFC", text.casefold())
    text = _strip_punctuation(_ascii_digits(text))
    return " ".join(text.split())


def tokenize(text: str, language: str | None = None) -> list[str]:
    """The words of the normalised text: what word error rate and ROVER count."""
    return normalize(text, language).split()
