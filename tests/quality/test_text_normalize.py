"""Normalisation before comparing transcripts: one table of hand-made cases per script, then properties."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kolam.quality.text_normalize import normalize, profile_for, tokenize

ZWJ, ZWNJ = "\u200d", "\u200c"

# (id, language, text, expected normalised text)
CASES = [
    # Latin
    ("en-casefold", "en", "Hello WORLD", "hello world"),
    ("en-casefold-sharp-s", "en", "Straße", "strasse"),
    ("en-punctuation-to-space", "en", "Hello, world! (Yes) - no?", "hello world yes no"),
    ("en-hyphen-splits", "en", "well-known", "well known"),
    ("en-apostrophe-inside-word", "en", "Don't say it’s late", "dont say its late"),
    ("en-quote-marks", "en", "'quoted' “text”", "quoted text"),
    ("en-decimal-point-kept", "en", "3.5 kg.", "3.5 kg"),
    ("en-digit-groups", "en", "1,000 and 1,00,000", "1000 and 100000"),
    ("en-list-comma-after-digit", "en", "1, 2, 3", "1 2 3"),
    ("en-symbols-kept", "en", "₹500 or 50% + tax", "₹500 or 50% + tax"),
    ("en-spoken-punctuation-kept", "en", "R&D @home #1", "r&d @home #1"),
    ("en-whitespace", "en", "  a\t\tb\n c\u00a0d  ", "a b c d"),
    ("en-accents-nfc", "en", "cafe\u0301", "café"),
    ("en-joiners-removed", "en", f"co{ZWNJ}op{ZWJ}erate", "cooperate"),
    ("en-invisible-marks", "en", "\ufeffso\u00adft\u200eware", "software"),
    ("en-zero-width-space-splits", "en", "two\u200bwords", "two words"),
    # Devanagari (Hindi)
    ("hi-danda", "hi", "राम घर गया।", "राम घर गया"),
    ("hi-double-danda", "hi", "श्लोक एक॥ दो॥", "श्लोक एक दो"),
    ("hi-digits", "hi", "२०२४ में १२ बजे", "2024 में 12 बजे"),
    ("hi-nukta-precomposed", "hi", "\u0958\u093c", "\u0915\u093c\u093c"),
    ("hi-zwj-half-form", "hi", f"क्{ZWJ}ष", "क्ष"),
    ("hi-zwnj-explicit-virama", "hi", f"क्{ZWNJ}ष", "क्ष"),
    ("hi-mixed-latin-casefold", "hi", "मेरा PHONE", "मेरा phone"),
    ("hi-abbreviation-sign", "hi", "डॉ॰ शर्मा", "डॉ शर्मा"),
    # Tamil
    ("ta-nfd-o-sign", "ta", "க\u0bc6\u0bbeடு", "க\u0bcaடு"),
    ("ta-nfd-oo-sign", "ta", "க\u0bc7\u0bbeடு", "க\u0bcbடு"),
    ("ta-nfd-au-sign", "ta", "க\u0bc6\u0bd7வை", "க\u0bccவை"),
    ("ta-digits", "ta", "௨௦௨௪ ஆம் ஆண்டு", "2024 ஆம் ஆண்டு"),
    ("ta-number-signs-stay", "ta", "௰ ௱ ௲", "௰ ௱ ௲"),
    ("ta-punctuation", "ta", "வணக்கம், நண்பரே!", "வணக்கம் நண்பரே"),
    ("ta-zwj", "ta", f"க்{ZWJ}ஷ", "க்ஷ"),
    # Generic fallback
    ("generic-greek-casefold", "el", "ΚΑΛΗΜΕΡΑ", "καλημερα"),
    ("generic-persian-zwnj-kept", "fa", f"می{ZWNJ}خواهم", f"می{ZWNJ}خواهم"),
    ("generic-zwj-next-to-devanagari", None, f"क्{ZWJ}ष", "क्ष"),
    ("generic-other-digits", "ar", "٣٤", "34"),
    ("empty", "en", "", ""),
    ("only-punctuation", "hi", " । ॥ ", ""),
]


@pytest.mark.parametrize(("language", "text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_normalize(language: str | None, text: str, expected: str) -> None:
    assert normalize(text, language) == expected


def test_tamil_vowel_sign_nfc_and_nfd_compare_equal() -> None:
    word = "கொடு"  # precomposed ொ (U+0BCA)
    decomposed = unicodedata.normalize("NFD", word)
    assert decomposed != word and "\u0bc6\u0bbe" in decomposed
    assert normalize(decomposed, "ta") == normalize(word, "ta") == word


def test_no_transliteration() -> None:
    assert normalize("रुपये", "hi") != normalize("rupaye", "hi")


def test_spelling_variants_are_not_merged() -> None:
    # Chandrabindu and anusvara are different spellings, not different encodings: they stay different.
    assert normalize("हूँ", "hi") != normalize("हूं", "hi")


def test_tokenize_splits_normalised_words() -> None:
    assert tokenize("  मैं १२ साल का हूँ। ", "hi") == ["मैं", "12", "साल", "का", "हूँ"]
    assert tokenize("", "en") == []


@pytest.mark.parametrize(
    ("tag", "language"),
    [("ta-IN", "ta"), ("EN_us", "en"), ("hi", "hi"), (None, "und"), ("", "und"), ("fr-CA", "fr")],
)
def test_profile_for_uses_primary_subtag(tag: str | None, language: str) -> None:
    assert profile_for(tag).language == language


def test_only_english_removes_every_joiner() -> None:
    assert profile_for("en").remove_all_joiners
    assert not profile_for("hi").remove_all_joiners
    assert not profile_for("xx").remove_all_joiners


_TEXT = st.text(
    alphabet=st.sampled_from([*"aZ .,'-1٣।॥\u200c\u200d\t", "क", "्", "ष", "ெ", "ா", "௩", "ொ", "İ", "ß"]),
    max_size=30,
)


@given(text=_TEXT, language=st.sampled_from(["en", "hi", "ta", None]))
def test_normalize_is_idempotent(text: str, language: str | None) -> None:
    once = normalize(text, language)
    assert normalize(once, language) == once


@given(text=_TEXT, language=st.sampled_from(["en", "hi", "ta", None]))
def test_normalised_text_has_single_spaces_and_no_punctuation_but_decimal_points(text: str, language: str) -> None:
    out = normalize(text, language)
    assert out == " ".join(out.split())
    assert all(ch in ".%&@#" or not unicodedata.category(ch).startswith("P") for ch in out)
    assert unicodedata.is_normalized("NFC", out)
