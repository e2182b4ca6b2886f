"""Hierarchical Dawid–Skene: workers' confusion rows shrink towards the population's, by an amount learnt from
the data (empirical Bayes), instead of towards a fixed "better than chance" diagonal.

Why: on real crowds most workers answer a handful of tasks. Plain Dawid–Skene gives each of them the same fixed
Dirichlet prior, so a sparse worker's confusion is mostly that prior — a guess that ignores what the crowd as
a whole gets wrong (on AdultContent2 nearly every worker calls "P" sites "G"). Here the prior is the crowd's
own pooled confusion, and how far a worker is pulled towards it is the strength that best explains how much
workers differ from one another.
"""

from __future__ import annotations

import numpy as np

from kolam.quality.truth import DawidSkene
from kolam.quality.truth_base import Answers, BoolArray, FloatArray, Grouping, IntArray

__all__ = ["HierarchicalDawidSkene", "digamma", "log_gamma"]

# Stirling's series for log Γ(x), x ≥ 7: ½ log 2π + (x − ½) log x − x + Σ B_2n / (2n (2n − 1) x^(2n − 1))
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680)
_SHIFT = 7


def log_gamma(x: FloatArray) -> FloatArray:
    """log Γ(x) for positive x, element-wise, in NumPy alone (Kolam does not depend on SciPy).

    Shifts x up by 7 (Γ(x) = Γ(x + 7) / (x (x + 1) … (x + 6))) so that four terms of Stirling's series are
    accurate to ~1e-12, enough for comparing marginal likelihoods.
    """
    x = np.asarray(x, dtype=np.float64)
    product = np.ones_like(x)
    for step in range(_SHIFT):
        product *= x + step
    z = x + _SHIFT
    inverse, inverse_square = 1.0 / z, 1.0 / (z * z)
    series = _STIRLING[-1]
    for coefficient in reversed(_STIRLING[:-1]):
        series = coefficient + series * inverse_square
    result: FloatArray = 0.5 * np.log(2 * np.pi) + (z - 0.5) * np.log(z) - z + series * inverse - np.log(product)
    return result


def digamma(x: FloatArray) -> FloatArray:
    """ψ(x) = d log Γ(x) / dx for positive x: ψ(x) = ψ(x + 7) − Σ_{i<7} 1/(x + i), then the asymptotic series
    ψ(z) ≈ log z − 1/(2z) − 1/(12z²) + 1/(120z⁴) − 1/(252z⁶) + 1/(240z⁸)."""
    x = np.asarray(x, dtype=np.float64)
    shift = np.zeros_like(x)
    for step in range(_SHIFT):
        shift += 1.0 / (x + step)
    z = x + _SHIFT
    inverse_square = 1.0 / (z * z)
    series = inverse_square * (1 / 12 - inverse_square * (1 / 120 - inverse_square * (1 / 252 - inverse_square / 240)))
    result: FloatArray = np.log(z) - 0.5 / z - series - shift
    return result


class HierarchicalDawidSkene(DawidSkene):
    """Dawid–Skene whose confusion prior is the population's confusion, with an empirical-Bayes strength,
    fitted by variational Bayes so that a sparse worker's uncertain confusion counts for less.

    Model: as ``DawidSkene``, but worker w's row for true class k is drawn from a Dirichlet shared by all
    workers, e_w[k, ·] ~ Dir(s_k m_k). Each M-step, from the expected counts n_w[k, l] = Σ_{answers l} q_t(k):
        m_k ∝ Σ_w n_w[k, ·] + W · (c + d·[k = ·])       the pooled confusion, anchored by the fixed prior
        s_k = argmax_s Σ_w log DirMult(n_w[k, ·] | s m_k),  s on a log grid in [min_strength, max_strength]
        α_w[k, l] = n_w[k, l] + s_k m_k[l]               worker w's Dirichlet posterior
    with W the workers who answered and c, d the pseudo-counts of ``DawidSkene``. A worker with three answers
    thus gets nearly the crowd's row, one with three hundred nearly their own. The E-step weighs an answer by
    E[log e_w[k, l]] = ψ(α_w[k, l]) − ψ(Σ_l α_w[k, l]) (mean-field variational Bayes, Liu, Peng & Ihler 2012)
    rather than by the log of the MAP estimate: for a row backed by few answers the expectation is lower
    than log of the mean, so a worker's vote grows with the evidence about them. ``variational=False`` gives
    the MAP form, log(α / Σα).

    Two guards keep the extra freedom from hurting, each found on simulated crowds (tests/quality):
    the anchor W·(c + d·I) is each worker's fixed prior, pooled; without it a crowd of many sparse, poor
    workers lets one shared confusion matrix absorb a whole class (π_k → 0). The cap on s (by default
    2K − 1, the mass of ``DawidSkene``'s fixed prior row) stops a majority of spammers from making every
    worker look alike, which would collapse the model onto majority vote. Start: majority-vote shares.

    Fitted, besides ``DawidSkene``'s: ``population_`` (m, K × K), ``strength_`` (s, per true class);
    ``errors_`` is each worker's posterior mean α / Σα. ``loss_history_`` is the negative log posterior per
    answer under each iteration's prior; it settles but, as the prior moves with the data, need not fall at
    every step.
    """

    population_: FloatArray
    strength_: FloatArray
    _posterior: FloatArray

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-6,
        pseudo_count: float = 1.0,
        diagonal_pseudo_count: float | None = None,
        class_pseudo_count: float = 1.0,
        min_strength: float = 1.0,
        max_strength: float | None = None,
        n_strengths: int = 8,
        variational: bool = True,
    ) -> None:
        super().__init__(n_iter, tol, pseudo_count, diagonal_pseudo_count, class_pseudo_count)
        if min_strength <= 0 or (max_strength is not None and max_strength < min_strength):
            raise ValueError("strengths must satisfy 0 < min_strength <= max_strength")
        if n_strengths < 1:
            raise ValueError("n_strengths must be at least 1")
        self.min_strength = min_strength
        self.max_strength = max_strength
        self.n_strengths = n_strengths
        self.variational = variational

    def _m_step(
        self, answers: Answers, probas: FloatArray, evidence: BoolArray, by_row: Grouping, tasks_by_row: IntArray
    ) -> None:
        k = answers.n_classes
        counts = self._expected_counts(answers, probas, by_row, tasks_by_row)
        active = np.bincount(answers.workers, minlength=answers.n_workers) > 0
        anchor = max(int(active.sum()), 1) * super()._confusion_pseudo_counts(k)
        pooled = counts[active].sum(axis=0) + anchor
        self.population_ = pooled / pooled.sum(axis=1, keepdims=True)
        self.strength_ = self._strengths(counts[active], self.population_)
        prior = self._confusion_pseudo_counts(k)
        self._posterior = counts + prior
        self.errors_ = self._posterior / self._posterior.sum(axis=2, keepdims=True)
        self.priors_ = self._class_priors(probas, evidence)

    def _log_errors(self) -> FloatArray:
        if not self.variational:
            return super()._log_errors()
        alphas = self._posterior
        expected: FloatArray = digamma(alphas) - digamma(alphas.sum(axis=2, keepdims=True))
        return expected

    def _confusion_pseudo_counts(self, k: int) -> FloatArray:
        """The current prior s_k m_k; before the first M-step, ``DawidSkene``'s fixed one."""
        if not hasattr(self, "strength_") or self.strength_.size != k:
            return super()._confusion_pseudo_counts(k)
        prior: FloatArray = self.strength_[:, None] * self.population_
        return prior

    def _strengths(self, counts: FloatArray, population: FloatArray) -> FloatArray:
        """Per true class, the strength on a log grid that maximises the workers' Dirichlet-multinomial evidence:
        Σ_w [log Γ(s) − log Γ(n_wk + s) + Σ_l (log Γ(n_wkl + s m_kl) − log Γ(s m_kl))]."""
        k = population.shape[0]
        high = self.max_strength if self.max_strength is not None else 2.0 * k - 1.0
        low = min(self.min_strength, high)
        grid = np.geomspace(low, high, self.n_strengths) if high > low else np.array([low])
        totals = counts.sum(axis=2)  # (workers, k)
        best = np.empty(k)
        for row in range(k):
            seen = totals[:, row] > 1e-9
            n, total = counts[seen, row, :], totals[seen, row]
            if not seen.any():
                best[row] = grid[-1]
                continue
            alphas = grid[:, None] * population[row][None, :]  # (grid, k)
            evidence = (
                seen.sum() * log_gamma(grid)
                - log_gamma(total[None, :] + grid[:, None]).sum(axis=1)
                + log_gamma(n[None, :, :] + alphas[:, None, :]).sum(axis=(1, 2))
                - seen.sum() * log_gamma(alphas).sum(axis=1)
            )
            best[row] = grid[int(np.argmax(evidence))]
        return best
