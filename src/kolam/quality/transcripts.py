"""Transcript quality: word and character error rates, and a ROVER consensus weighted by annotator skill.

Everything compares *normalised* text (``text_normalize.normalize``), so typography is not counted as error.

Edit distance is Levenshtein's, with unit costs. Each row of the dynamic programme is computed at once in
NumPy: with ``A[j] = min(D[i-1, j] + del_i, D[i-1, j-1] + sub[i, j])`` the row is
``D[i, j] = min_{k <= j} (A[k] + (j - k)) = j + cummin_k (A[k] - k)``, so insertions need no inner loop.

WER = (S + D + I) / N over words and CER the same over characters (code points, spaces included, as jiwer
counts them), N being the reference length. With an empty reference the rate is 0 when the hypothesis is
empty too and 1 otherwise, so that rates stay in a range a report can average.

ROVER (Fiscus 1997, "A post-processing system to yield reduced word error rates: Recognizer Output Voting
Error Reduction"): the hypotheses are aligned one by one against a growing word transition network, a list
of slots holding one word (or the empty word) per hypothesis already aligned. Matching a word that is already
in the slot costs 0; inserting costs 1 (a new slot, empty for the hypotheses before); skipping a slot (the
empty word) costs 0 where some earlier hypothesis skipped it too and 1 otherwise; substituting costs the
character edit distance to the nearest word in the slot over the longer length, in (0, 1], so that of two
equally cheap alignments the one that pairs ``quack`` with ``quick`` (and not with ``brown``) wins. Each slot then
elects the word, possibly the empty one, with the largest total weight of the hypotheses that wrote it, and
its confidence is that weight over the total.

Two choices make the result deterministic and less sensitive to order, which plain ROVER is:

* Alignment order: the hypothesis closest to the others (least skill-weighted sum of WER to all others, the
  medoid) is the backbone and goes first, then the rest by the same score; ties by larger weight, then by
  input position.
* Ties in a slot's vote go to the word written by the earliest hypothesis in that alignment order.

Weights are vote weights (any non-negative numbers; scores within 1e-12 count as tied). For independent
annotators of accuracy ``p`` choosing among ``K`` alternatives, the weight that makes the weighted vote the
most likely answer is ``log((K - 1) p / (1 - p))`` (Nitzan & Paroush 1982), clipped at 0 for annotators no
better than chance; callers convert skills before calling.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from kolam.quality.text_normalize import normalize, tokenize

__all__ = [
    "ErrorCounts",
    "RoverResult",
    "cer",
    "edit_distance",
    "error_counts",
    "pairwise_wer",
    "rover",
    "wer",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
_EPS = 1e-9
_NULL = -1  # the empty word in the network


@dataclass(frozen=True)
class ErrorCounts:
    """Substitutions, deletions, insertions and hits of one alignment; ``reference_length`` = S + D + hits."""

    substitutions: int
    deletions: int
    insertions: int
    hits: int

    @property
    def reference_length(self) -> int:
        return self.substitutions + self.deletions + self.hits

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """(S + D + I) / N, with the empty-reference convention of the module docstring."""
        if self.reference_length == 0:
            return 0.0 if self.insertions == 0 else 1.0
        return self.errors / self.reference_length


def _encode(*sequences: Sequence[Hashable]) -> list[IntArray]:
    """Give equal items equal integer ids, so that NumPy compares them."""
    ids: dict[Hashable, int] = {}
    return [np.array([ids.setdefault(x, len(ids)) for x in seq], dtype=np.int64) for seq in sequences]


def _next_row(prev: FloatArray, delete: float, sub_row: FloatArray) -> FloatArray:
    """Row i of the Levenshtein table from row i-1 (see the module docstring for the cumulative-min trick)."""
    a = np.empty_like(prev)
    a[0] = prev[0] + delete
    a[1:] = np.minimum(prev[1:] + delete, prev[:-1] + sub_row)
    offsets = np.arange(a.size, dtype=np.float64)
    return np.asarray(np.minimum.accumulate(a - offsets) + offsets, dtype=np.float64)


def _table(delete: FloatArray, sub: FloatArray) -> FloatArray:
    """The full table D[i, j]: cost to turn the first i reference units into the first j hypothesis units."""
    n, m = sub.shape
    table = np.empty((n + 1, m + 1), dtype=np.float64)
    table[0] = np.arange(m + 1)
    for i in range(n):
        table[i + 1] = _next_row(table[i], float(delete[i]), sub[i])
    return table


def _backtrace(table: FloatArray, delete: FloatArray, sub: FloatArray) -> list[tuple[int, int]]:
    """Alignment pairs (i, j), -1 for a gap, left to right; prefers match/substitution, then deletion."""
    i, j = sub.shape
    pairs: list[tuple[int, int]] = []
    while i > 0 or j > 0:
        if i > 0 and j > 0 and abs(table[i, j] - table[i - 1, j - 1] - sub[i - 1, j - 1]) < _EPS:
            i, j = i - 1, j - 1
            pairs.append((i, j))
        elif i > 0 and abs(table[i, j] - table[i - 1, j] - delete[i - 1]) < _EPS:
            i -= 1
            pairs.append((i, -1))
        else:
            j -= 1
            pairs.append((-1, j))
    pairs.reverse()
    return pairs


def edit_distance(reference: Sequence[Hashable], hypothesis: Sequence[Hashable]) -> int:
    """Levenshtein distance between two sequences (words or characters), in O(len(hypothesis)) memory."""
    ref, hyp = _encode(reference, hypothesis)
    row = np.arange(hyp.size + 1, dtype=np.float64)
    for token in ref:
        row = _next_row(row, 1.0, (hyp != token).astype(np.float64))
    return round(float(row[-1]))


def error_counts(reference: Sequence[Hashable], hypothesis: Sequence[Hashable]) -> ErrorCounts:
    """S, D, I and hits of a minimum-cost alignment (ties: substitution before deletion before insertion)."""
    ref, hyp = _encode(reference, hypothesis)
    sub = (ref[:, None] != hyp[None, :]).astype(np.float64)
    delete = np.ones(ref.size, dtype=np.float64)
    pairs = _backtrace(_table(delete, sub), delete, sub)
    hits = sum(1 for i, j in pairs if i >= 0 and j >= 0 and ref[i] == hyp[j])
    subs = sum(1 for i, j in pairs if i >= 0 and j >= 0) - hits
    deletions = sum(1 for _, j in pairs if j < 0)
    return ErrorCounts(subs, deletions, len(pairs) - hits - subs - deletions, hits)


def _rate(errors: int, reference_length: int, hypothesis_length: int) -> float:
    if reference_length == 0:
        return 0.0 if hypothesis_length == 0 else 1.0
    return errors / reference_length


def wer(reference: str, hypothesis: str, language: str | None = None) -> float:
    """Word error rate of ``hypothesis`` against ``reference``, both normalised for ``language``."""
    ref, hyp = tokenize(reference, language), tokenize(hypothesis, language)
    return _rate(edit_distance(ref, hyp), len(ref), len(hyp))


def cer(reference: str, hypothesis: str, language: str | None = None) -> float:
    """Character error rate (code points, single spaces included) on normalised text."""
    ref, hyp = normalize(reference, language), normalize(hypothesis, language)
    return _rate(edit_distance(ref, hyp), len(ref), len(hyp))


def pairwise_wer(transcripts: Sequence[str], language: str | None = None) -> NDArray[np.float64]:
    """Matrix M with M[r, h] = WER of transcript h against transcript r as the reference (not symmetric)."""
    words = [tokenize(t, language) for t in transcripts]
    k = len(words)
    out = np.zeros((k, k), dtype=np.float64)
    for r in range(k):
        for h in range(k):
            if r != h:
                out[r, h] = _rate(edit_distance(words[r], words[h]), len(words[r]), len(words[h]))
    return out


@dataclass(frozen=True)
class RoverResult:
    """The consensus and the evidence behind it.

    ``words[s]`` is slot s's winner (``None``: the empty word won), ``confidence[s]`` the share of the total
    weight that voted for it, ``network[s][h]`` what hypothesis h (input order) wrote in slot s.
    """

    text: str
    words: tuple[str | None, ...]
    confidence: NDArray[np.float64]
    network: tuple[tuple[str | None, ...], ...]


def _check_weights(weights: Sequence[float] | None, k: int) -> NDArray[np.float64]:
    w = np.ones(k, dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (k,):
        raise ValueError(f"expected {k} weights, one per hypothesis, got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or (k > 0 and w.sum() <= 0):
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w


def _alignment_order(token_lists: list[list[str]], w: NDArray[np.float64]) -> list[int]:
    """Medoid first: least weighted sum of WER to the others; ties by larger weight, then input position."""
    k = len(token_lists)
    dist = np.zeros((k, k), dtype=np.float64)
    for a in range(k):
        for b in range(a + 1, k):
            d = edit_distance(token_lists[a], token_lists[b])
            dist[a, b] = _rate(d, len(token_lists[a]), len(token_lists[b]))
            dist[b, a] = _rate(d, len(token_lists[b]), len(token_lists[a]))
    # Risk of h as the answer: how badly it would score against each other hypothesis as reference.
    risk = (w[:, None] * dist).sum(axis=0)
    return sorted(range(k), key=lambda h: (round(float(risk[h]), 12), -float(w[h]), h))


@lru_cache(maxsize=1 << 16)
def _word_distance(a: str, b: str) -> float:
    """Character edit distance over the longer length, in [0, 1]: how unlike two words are (memoised)."""
    if a == b:
        return 0.0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(len(a), len(b))


def _substitution_costs(network: IntArray, hyp: IntArray, words: list[str]) -> FloatArray:
    """cost[s, j]: 0 if hyp[j] is in slot s, else its character distance to the nearest word there (1 if none)."""
    hyp_words, hyp_index = np.unique(hyp, return_inverse=True)
    slot_words = np.setdiff1d(network, [_NULL])
    # distance[a, b] between the a-th word seen in the network and the b-th word of the hypothesis
    distance = np.array([[_word_distance(words[a], words[b]) for b in hyp_words] for a in slot_words])
    distance = distance.reshape(slot_words.size, hyp_words.size)
    cost = np.ones((network.shape[0], hyp.size), dtype=np.float64)
    rows = np.searchsorted(slot_words, network)
    for column in range(network.shape[1]):
        present = network[:, column] != _NULL
        per_slot = distance[rows[present, column]][:, hyp_index]
        cost[present] = np.minimum(cost[present], per_slot)
    return cost


def _align_into(network: IntArray, hyp: IntArray, words: list[str]) -> IntArray:
    """Add one hypothesis (a column) to the network (slots x hypotheses so far, ``_NULL`` for empty)."""
    n_done = network.shape[1]
    sub = _substitution_costs(network, hyp, words)
    delete = np.where((network == _NULL).any(axis=1), 0.0, 1.0)
    rows: list[IntArray] = []
    for s, j in _backtrace(_table(delete, sub), delete, sub):
        if s < 0:  # insertion: a new slot, empty for the hypotheses already aligned
            rows.append(np.append(np.full(n_done, _NULL, dtype=np.int64), hyp[j]))
        else:
            rows.append(np.append(network[s], _NULL if j < 0 else hyp[j]))
    return np.array(rows, dtype=np.int64).reshape(len(rows), n_done + 1)


def _vote(slot: IntArray, w: NDArray[np.float64]) -> tuple[int, float]:
    """Winner of one slot (columns in alignment order) and its share of the weight; ties to the earliest."""
    best, best_score = int(slot[0]), -1.0
    for word in dict.fromkeys(slot.tolist()):  # first appearance order = alignment order
        score = float(w[slot == word].sum())
        if score > best_score + 1e-12:
            best, best_score = int(word), score
    return best, best_score / float(w.sum())  # the sum is positive: _check_weights


def rover(
    hypotheses: Sequence[str],
    weights: Sequence[float] | None = None,
    language: str | None = None,
    *,
    normalize_text: bool = True,
) -> RoverResult:
    """Skill-weighted ROVER consensus of several transcripts of one clip (see the module docstring).

    With ``normalize_text=False`` words are split on whitespace only and compared as typed.
    """
    w = _check_weights(weights, len(hypotheses))
    token_lists = [tokenize(h, language) if normalize_text else h.split() for h in hypotheses]
    if not any(token_lists):
        return RoverResult("", (), np.zeros(0, dtype=np.float64), ())
    vocab: dict[str, int] = {}
    encoded = [np.array([vocab.setdefault(t, len(vocab)) for t in ts], dtype=np.int64) for ts in token_lists]
    words_by_id = list(vocab)
    order = _alignment_order(token_lists, w)
    network = encoded[order[0]].reshape(-1, 1)
    for h in order[1:]:
        network = _align_into(network, encoded[h], words_by_id)
    w_ordered = w[order]
    winners: list[str | None] = []
    confidence = np.zeros(network.shape[0], dtype=np.float64)
    for s in range(network.shape[0]):
        word, confidence[s] = _vote(network[s], w_ordered)
        winners.append(None if word == _NULL else words_by_id[word])
    by_input = np.empty_like(network)
    by_input[:, order] = network
    table = tuple(tuple(None if x == _NULL else words_by_id[x] for x in row) for row in by_input.tolist())
    text = " ".join(word for word in winners if word is not None)
    return RoverResult(text, tuple(winners), confidence, table)
