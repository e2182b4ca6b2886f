"""WER, CER and ROVER consensus: tables of hand-computed cases, then properties and edge cases."""

from __future__ import annotations

import itertools
import unicodedata

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kolam.quality.text_normalize import normalize
from kolam.quality.transcripts import ErrorCounts, cer, edit_distance, error_counts, pairwise_wer, rover, wer

# (id, language, reference, hypothesis, expected WER) — counts worked by hand in the comment.
WER_CASES = [
    ("identical", "en", "the cat sat", "the cat sat", 0.0),
    ("one-sub-one-del", "en", "the cat sat on the mat", "the cat sit on mat", 2 / 6),  # S=1 D=1, N=6
    ("one-insertion", "en", "a b", "a x b", 1 / 2),  # I=1, N=2
    ("all-substituted", "en", "a b c", "x y z", 1.0),  # S=3
    ("above-one", "en", "a", "b c d", 3.0),  # S=1 I=2, N=1
    ("typography-ignored", "en", "Hello, World!", "hello world", 0.0),
    ("hi-danda-digits-ignored", "hi", "मैं १२ साल का हूँ।", "मैं 12 साल का हूँ", 0.0),
    ("hi-spelling-counts", "hi", "मैं १२ साल का हूँ।", "मैं 12 साल का हूं", 1 / 5),  # chandrabindu vs anusvara: S=1
    ("ta-nfd-ignored", "ta", "அவன் கொடுத்தான்", unicodedata.normalize("NFD", "அவன் கொடுத்தான்"), 0.0),
    ("ta-one-word-wrong", "ta", "அவன் நேற்று வந்தான்", "அவள் நேற்று வந்தான்", 1 / 3),
    ("empty-both", "en", "", "", 0.0),
    ("empty-reference", "en", "", "something", 1.0),
    ("empty-hypothesis", "en", "a b", "", 1.0),  # D=2
]

# (id, language, reference, hypothesis, expected CER) — code points, spaces included.
CER_CASES = [
    ("kitten-sitting", "en", "kitten", "sitting", 3 / 6),  # S k->s, S e->i, I g
    ("one-char", "en", "abc", "abd", 1 / 3),
    ("space-counts", "en", "ab cd", "abcd", 1 / 5),  # D of the space
    ("case-ignored", "en", "ABC", "abc", 0.0),
    ("ta-vowel-sign", "ta", "கொடு", "கோடு", 1 / 4),  # க ொ ட ு vs க ோ ட ு: S=1, N=4
    ("ta-nfd-ignored", "ta", "கொடு", "க\u0bc6\u0bbeடு", 0.0),
    ("hi-digits", "hi", "१२३", "124", 1 / 3),
    ("empty-both", "en", "", "", 0.0),
]


@pytest.mark.parametrize(
    ("language", "ref", "hyp", "expected"), [c[1:] for c in WER_CASES], ids=[c[0] for c in WER_CASES]
)
def test_wer(language: str, ref: str, hyp: str, expected: float) -> None:
    assert wer(ref, hyp, language) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("language", "ref", "hyp", "expected"), [c[1:] for c in CER_CASES], ids=[c[0] for c in CER_CASES]
)
def test_cer(language: str, ref: str, hyp: str, expected: float) -> None:
    assert cer(ref, hyp, language) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("ref", "hyp", "expected"),
    [
        ("the cat sat on the mat", "the cat sit on mat", ErrorCounts(1, 1, 0, 4)),
        ("a b", "a x b", ErrorCounts(0, 0, 1, 2)),
        ("a b c", "", ErrorCounts(0, 3, 0, 0)),
        ("", "a b", ErrorCounts(0, 0, 2, 0)),
        ("a b c d", "b c d e", ErrorCounts(0, 1, 1, 3)),
    ],
    ids=["sub-del", "ins", "all-deleted", "all-inserted", "shift"],
)
def test_error_counts(ref: str, hyp: str, expected: ErrorCounts) -> None:
    counts = error_counts(ref.split(), hyp.split())
    assert counts == expected
    assert counts.errors == edit_distance(ref.split(), hyp.split())
    assert counts.reference_length == len(ref.split())


def _naive_distance(a: list[int], b: list[int]) -> int:
    """Textbook Levenshtein, cell by cell, to check the row-vectorised version against."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[len(a)][len(b)]


_SEQ = st.lists(st.integers(0, 3), max_size=12)


@given(a=_SEQ, b=_SEQ)
def test_edit_distance_matches_textbook_dp(a: list[int], b: list[int]) -> None:
    assert edit_distance(a, b) == _naive_distance(a, b) == edit_distance(b, a)
    counts = error_counts(a, b)
    assert counts.errors == _naive_distance(a, b)
    assert counts.reference_length == len(a)
    assert counts.hits + counts.substitutions + counts.insertions == len(b)


def test_wer_and_cer_agree_with_jiwer_when_installed() -> None:
    jiwer = pytest.importorskip("jiwer")
    for _, language, ref, hyp, _ in WER_CASES + CER_CASES:
        r, h = normalize(ref, language), normalize(hyp, language)
        if r:
            assert wer(ref, hyp, language) == pytest.approx(jiwer.wer(r, h))
            assert cer(ref, hyp, language) == pytest.approx(jiwer.cer(r, h))


def test_pairwise_wer_is_reference_by_hypothesis() -> None:
    m = pairwise_wer(["a b c d", "a b c", "a b c d"], "en")
    np.testing.assert_allclose(np.diag(m), 0.0)
    assert m[0, 1] == pytest.approx(1 / 4)  # reference 0 (4 words), one deletion
    assert m[1, 0] == pytest.approx(1 / 3)  # reference 1 (3 words), one insertion
    assert m[0, 2] == 0.0


# ROVER — (id, hypotheses, weights, language, expected consensus)
ROVER_CASES = [
    (
        "each-one-different-error",
        ["the quack brown fox jumps", "the quick fox jumps", "the quick brown fox jumps high"],
        None,
        "en",
        "the quick brown fox jumps",
    ),
    (
        "hi-one-error-each-with-typography",
        ["मैं १२ साल का हूँ।", "मैं 12 साल की हूँ", "मैं बारह साल का हूँ ॥"],
        None,
        "hi",
        "मैं 12 साल का हूँ",
    ),
    (
        "ta-one-error-each-nfd",
        ["அவன் நேற்று வந்தான்", unicodedata.normalize("NFD", "அவள் நேற்று வந்தான்"), "அவன் நேற்று போனான்"],
        None,
        "ta",
        "அவன் நேற்று வந்தான்",
    ),
    ("skilled-minority-wins", ["a cat sat", "a hat sat", "a hat sat"], [0.9, 0.3, 0.3], "en", "a cat sat"),
    ("equal-weights-majority", ["a cat sat", "a hat sat", "a hat sat"], None, "en", "a hat sat"),
    ("empty-word-wins", ["a b c", "a c", "a c"], None, "en", "a c"),
    ("skilled-insertion-kept", ["a b c", "a c", "a c"], [3.0, 1.0, 1.0], "en", "a b c"),
    ("zero-weight-ignored", ["a b", "a x b"], [1.0, 0.0], "en", "a b"),
    ("single", ["Hello there!"], None, "en", "hello there"),
]


@pytest.mark.parametrize(
    ("hypotheses", "weights", "language", "expected"), [c[1:] for c in ROVER_CASES], ids=[c[0] for c in ROVER_CASES]
)
def test_rover_consensus(hypotheses: list[str], weights: list[float] | None, language: str, expected: str) -> None:
    result = rover(hypotheses, weights, language)
    assert result.text == expected
    assert len(result.words) == len(result.confidence) == len(result.network)
    assert all(len(slot) == len(hypotheses) for slot in result.network)
    assert np.all((result.confidence > 0) & (result.confidence <= 1))


def test_rover_network_and_confidence() -> None:
    result = rover(["a b c", "a c", "a x b c"], language="en")
    assert result.network == (("a", "a", "a"), (None, None, "x"), ("b", None, "b"), ("c", "c", "c"))
    assert result.words == ("a", None, "b", "c")
    np.testing.assert_allclose(result.confidence, [1.0, 2 / 3, 2 / 3, 1.0])


def test_rover_confidence_is_share_of_skill() -> None:
    result = rover(["a cat sat", "a hat sat", "a hat sat"], [0.9, 0.3, 0.3], "en")
    np.testing.assert_allclose(result.confidence, [1.0, 0.6, 1.0])


def test_rover_ignores_order_when_there_is_no_tie() -> None:
    hyps = ["the quack brown fox jumps", "the quick fox jumps", "the quick brown fox jumps high", "the quick brown"]
    weights = [1.0, 1.1, 1.2, 0.9]
    texts = {
        rover([hyps[i] for i in perm], [weights[i] for i in perm], "en").text
        for perm in itertools.permutations(range(4))
    }
    assert texts == {"the quick brown fox jumps"}


def test_rover_ties_go_to_the_medoid_then_to_input_order() -> None:
    # Two equal-weight hypotheses, equally far apart: the first given is the backbone and wins the tie.
    assert rover(["a b", "a c"], language="en").text == "a b"
    assert rover(["a c", "a b"], language="en").text == "a c"
    # Equal weights but one hypothesis closer to the rest: it is the backbone, and wins 1-1 ties.
    result = rover(["x y", "a b", "a c"], language="en")
    assert result.text == "a b"


def test_rover_without_normalisation_compares_as_typed() -> None:
    assert rover(["Hello, world", "hello world", "hello world"], normalize_text=False).text == "hello world"
    assert rover(["Hello, world", "Hello, world", "hello world"], normalize_text=False).text == "Hello, world"


def test_rover_is_deterministic() -> None:
    hyps = ["one two three", "one too three", "won two three four"]
    first = rover(hyps, [0.5, 0.7, 0.6], "en")
    for _ in range(3):
        again = rover(hyps, [0.5, 0.7, 0.6], "en")
        assert again.text == first.text and again.network == first.network
        np.testing.assert_array_equal(again.confidence, first.confidence)


# Edge cases


def test_rover_empty_input() -> None:
    result = rover([])
    assert result.text == "" and result.words == () and result.network == () and result.confidence.size == 0


def test_rover_all_hypotheses_empty() -> None:
    assert rover(["", " ", "।"], language="hi").text == ""


def test_rover_single_hypothesis_has_full_confidence() -> None:
    result = rover(["मैं घर गया।"], [0.4], "hi")
    assert result.text == "मैं घर गया"
    np.testing.assert_allclose(result.confidence, [1.0, 1.0, 1.0])


def test_rover_one_empty_hypothesis_among_others() -> None:
    result = rover(["", "a b", "a b"], language="en")
    assert result.text == "a b"
    assert result.network == ((None, "a", "a"), (None, "b", "b"))


@pytest.mark.parametrize(
    "weights",
    [[1.0], [1.0, -0.5], [0.0, 0.0], [1.0, float("nan")]],
    ids=["wrong-length", "negative", "all-zero", "nan"],
)
def test_rover_rejects_bad_weights(weights: list[float]) -> None:
    with pytest.raises(ValueError):
        rover(["a", "b"], weights)
