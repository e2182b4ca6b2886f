"""MACE (Hovy et al., 2013): truth inference that tells honest workers from spammers.

A crowd at scale always has some workers who click without reading. Dawid–Skene can model them, but needs K²
numbers per worker to do it; MACE says directly "this worker answers at random (from their own favourite
strategy) a fraction 1 − θ of the time", which is the right shape for spam and needs far fewer answers.
"""

from __future__ import annotations

import numpy as np

from kolam.quality.truth_base import (
    Answers,
    FloatArray,
    TruthInference,
    clamp_gold,
    class_priors,
    logsumexp_rows,
    majority_probas,
    sums,
)

__all__ = ["MACE"]

_TINY = float(np.finfo(np.float64).tiny)


class MACE(TruthInference):
    """Competence θ_w (chance worker w answers truthfully) and spam strategy ξ_w (what they say otherwise).

    Model: task t has a hidden class z_t ~ π; worker w spams with probability 1 − θ_w, then names l ~ ξ_w,
    otherwise names z_t; so P(l | z_t = k) = θ_w [l = k] + (1 − θ_w) ξ_w[l].
    E-step: log q_t(k) = log π_k + Σ_{answers (t, w, l)} log(θ_w [l = k] + (1 − θ_w) ξ_w[l]); gold one-hot.
    M-step (EM with the spam indicator as a second hidden variable; MAP under Beta/Dirichlet priors written
    as pseudo-counts): an answer is truthful with expected weight r = q_t(l) θ_w / (θ_w + (1 − θ_w) ξ_w[l]),
        θ_w = (Σ r + a) / (n_w + a + b),    ξ_w[l] = (Σ_{answers l} (1 − r) + c) / (Σ (1 − r) + K c),
    a = ``truthful_pseudo_count``, b = ``spam_pseudo_count``, c = ``strategy_pseudo_count``. Hovy et al. fit
    with random restarts (or variational Bayes); here EM starts from majority-vote shares instead, which is
    deterministic and, with the pseudo-counts keeping θ and ξ off 0 and 1, lands in the same optimum on the
    crowds MACE is meant for (a few good workers among many spammers).

    Fitted: ``labels_``, ``probas_``, ``competence_`` (θ, per worker), ``spam_strategy_`` (ξ, workers × K),
    ``priors_``, ``loss_history_`` (negative log posterior per answer, non-increasing), ``n_iter_``.
    """

    competence_: FloatArray
    spam_strategy_: FloatArray
    priors_: FloatArray
    loss_history_: list[float]
    n_iter_: int

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-6,
        truthful_pseudo_count: float = 1.0,
        spam_pseudo_count: float = 1.0,
        strategy_pseudo_count: float = 1.0,
        class_pseudo_count: float = 1.0,
    ) -> None:
        if n_iter < 1:
            raise ValueError("n_iter must be at least 1")
        pseudo = (truthful_pseudo_count, spam_pseudo_count, strategy_pseudo_count, class_pseudo_count)
        if min(pseudo) < 0:
            raise ValueError("pseudo-counts must be non-negative")
        self.n_iter = n_iter
        self.tol = tol
        self.truthful_pseudo_count = truthful_pseudo_count
        self.spam_pseudo_count = spam_pseudo_count
        self.strategy_pseudo_count = strategy_pseudo_count
        self.class_pseudo_count = class_pseudo_count

    def _fit(self, answers: Answers) -> None:
        k, w = answers.n_classes, answers.n_workers
        probas = majority_probas(answers)
        self.competence_ = np.full(w, 0.5)
        self.spam_strategy_ = np.full((w, k), 1.0 / k)
        n_answers = max(answers.tasks.size, 1)
        self.loss_history_ = []
        for iteration in range(self.n_iter):
            self._m_step(answers, probas)
            probas, objective = self._e_step(answers)
            self.loss_history_.append(-(objective + self._log_prior()) / n_answers)
            self.n_iter_ = iteration + 1
            if iteration and abs(self.loss_history_[-2] - self.loss_history_[-1]) < self.tol:
                break
        self.probas_ = probas
        self.labels_ = probas.argmax(axis=1).astype(np.int64)

    def _m_step(self, answers: Answers, probas: FloatArray) -> None:
        k, w = answers.n_classes, answers.n_workers
        theta = self.competence_[answers.workers]
        xi = self.spam_strategy_[answers.workers, answers.labels]
        truthful = probas[answers.tasks, answers.labels] * theta / (theta + (1.0 - theta) * xi)
        a, b, c = self.truthful_pseudo_count, self.spam_pseudo_count, self.strategy_pseudo_count
        hits = sums(answers.workers, truthful, w) + a
        totals = np.bincount(answers.workers, minlength=w) + a + b
        self.competence_ = np.divide(hits, totals, out=np.full(w, 0.5), where=totals > 0)
        spam = sums(answers.workers * k + answers.labels, 1.0 - truthful, w * k).reshape(w, k) + c
        spam_totals = spam.sum(axis=1, keepdims=True)
        self.spam_strategy_ = np.divide(spam, spam_totals, out=np.full((w, k), 1.0 / k), where=spam_totals > 0)
        self.priors_ = class_priors(probas, answers, self.class_pseudo_count)

    def _e_step(self, answers: Answers) -> tuple[FloatArray, float]:
        """Posteriors and log p(answers, gold | parameters): a "spam" term for every class, plus the difference
        to the "spam or truthful" term on the class each answer named."""
        k, n = answers.n_classes, answers.n_tasks
        if n == 0:
            return np.zeros((0, k)), 0.0
        theta = self.competence_[answers.workers]
        # floored so zero pseudo-counts (θ = 1 or ξ = 0) give a huge finite penalty, not −∞ + ∞ = NaN
        spam = np.maximum((1.0 - theta) * self.spam_strategy_[answers.workers, answers.labels], _TINY)
        log_spam = np.log(spam)
        gain = np.log(theta + spam) - log_spam
        named = sums(answers.tasks * k + answers.labels, gain, n * k).reshape(n, k)
        log_joint = named + sums(answers.tasks, log_spam, n)[:, None] + np.log(self.priors_)
        normaliser = logsumexp_rows(log_joint)
        probas = np.exp(log_joint - normaliser[:, None])
        mask = answers.gold_mask
        normaliser[mask] = log_joint[mask, answers.gold[mask]]
        return clamp_gold(probas, answers), float(normaliser.sum())

    def _log_prior(self) -> float:
        """log p(θ, ξ, π) up to a constant, in the same pseudo-count form as the M-step."""
        a, b, c = self.truthful_pseudo_count, self.spam_pseudo_count, self.strategy_pseudo_count
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = self.competence_
            terms = (a * np.log(theta) if a else 0.0) + (b * np.log1p(-theta) if b else 0.0)
            strategy = c * np.log(self.spam_strategy_).sum() if c else 0.0
            classes = self.class_pseudo_count * np.log(self.priors_).sum() if self.class_pseudo_count else 0.0
        return float(np.sum(terms) + strategy + classes)
