"""GLAD (Whitehill et al., 2009): truth inference that also learns how hard each task is.

Dawid–Skene blames every wrong answer on the worker; GLAD lets a task share the blame, so a good worker who
misses a genuinely ambiguous item is not marked down as much, and the quality lead gets a per-item difficulty
to route hard items to review.
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

__all__ = ["GLAD", "log_sigmoid"]


def log_sigmoid(values: FloatArray) -> FloatArray:
    """log σ(x) = −log(1 + e^{−x}), computed without overflow for large |x|."""
    result: FloatArray = -np.logaddexp(0.0, -values)
    return result


class GLAD(TruthInference):
    """Worker ability α_w ∈ ℝ and task difficulty β_t = exp(s_t) > 0 (reported as β; 1/β is "hardness").

    Model: P(worker w answers task t correctly) = σ(α_w β_t); a wrong answer is any other class alike,
    (1 − σ(α_w β_t)) / (K − 1). α < 0 is an adversary; β → 0 pulls everyone on t to σ(0) = ½ (for K = 2, a coin).
    Priors (MAP): α_w ~ N(ability_mean, ability_var), s_t = log β_t ~ N(0, difficulty_var), π ~ Dirichlet.
    E-step: log q_t(k) = log π_k + Σ_{answers (t, w, l)} [l = k] log σ(x) + [l ≠ k] (log σ(−x) − log(K − 1)),
    x = α_w β_t; gold tasks are clamped to one-hot. M-step: with p = q_t(l) (the chance an answer is right),
    the expected log-likelihood is Σ p log σ(x) + (1 − p) log σ(−x) + const, whose gradient in x is p − σ(x):
        ∂/∂α_w = Σ (p − σ(x)) β_t − (α_w − μ)/v_α,       ∂/∂s_t = Σ (p − σ(x)) x − s_t/v_β.
    ``m_steps`` alternating Fisher-scoring steps (gradient divided by Σ σ(x)σ(−x)·(∂x)² + 1/v, each step
    clipped to ``max_step``) replace the original paper's conjugate gradient: cheap, vectorised with
    ``np.bincount``, and stable without a line search.

    Fitted: ``labels_``, ``probas_``, ``abilities_`` (α, per worker), ``difficulties_`` (β, per task),
    ``priors_`` (classes), ``loss_history_`` (negative log posterior per answer), ``n_iter_``.
    """

    abilities_: FloatArray
    difficulties_: FloatArray
    priors_: FloatArray
    loss_history_: list[float]
    n_iter_: int

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-6,
        m_steps: int = 2,
        ability_mean: float = 1.0,
        ability_var: float = 1.0,
        difficulty_var: float = 1.0,
        class_pseudo_count: float = 1.0,
        max_step: float = 1.0,
    ) -> None:
        if n_iter < 1 or m_steps < 1:
            raise ValueError("n_iter and m_steps must be at least 1")
        if ability_var <= 0 or difficulty_var <= 0 or max_step <= 0:
            raise ValueError("prior variances and max_step must be positive")
        if class_pseudo_count < 0:
            raise ValueError("class_pseudo_count must be non-negative")
        self.n_iter = n_iter
        self.tol = tol
        self.m_steps = m_steps
        self.ability_mean = ability_mean
        self.ability_var = ability_var
        self.difficulty_var = difficulty_var
        self.class_pseudo_count = class_pseudo_count
        self.max_step = max_step

    def _fit(self, answers: Answers) -> None:
        alpha = np.full(answers.n_workers, self.ability_mean)
        log_beta = np.zeros(answers.n_tasks)
        probas = majority_probas(answers)
        n_answers = max(answers.tasks.size, 1)
        self.loss_history_ = []
        for iteration in range(self.n_iter):
            self.priors_ = class_priors(probas, answers, self.class_pseudo_count)
            right = probas[answers.tasks, answers.labels]
            for _ in range(self.m_steps):
                alpha, log_beta = self._m_step(answers, right, alpha, log_beta)
            probas, objective = self._e_step(answers, alpha, log_beta)
            self.loss_history_.append(-(objective + self._log_prior(alpha, log_beta)) / n_answers)
            self.n_iter_ = iteration + 1
            if iteration and abs(self.loss_history_[-2] - self.loss_history_[-1]) < self.tol:
                break
        self.probas_ = probas
        self.labels_ = probas.argmax(axis=1).astype(np.int64)
        self.abilities_ = alpha
        self.difficulties_ = np.exp(log_beta)

    def _m_step(
        self, answers: Answers, right: FloatArray, alpha: FloatArray, log_beta: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """One Fisher-scoring step on α (β fixed), then one on s = log β (α fixed)."""
        tasks, workers = answers.tasks, answers.workers
        beta = np.exp(log_beta)[tasks]
        x = alpha[workers] * beta
        sig = np.exp(log_sigmoid(x))
        grad = sums(workers, (right - sig) * beta, answers.n_workers)
        grad = grad - (alpha - self.ability_mean) / self.ability_var
        curvature = sums(workers, sig * (1.0 - sig) * beta**2, answers.n_workers) + 1.0 / self.ability_var
        alpha = alpha + np.clip(grad / curvature, -self.max_step, self.max_step)
        x = alpha[workers] * beta
        sig = np.exp(log_sigmoid(x))
        grad = sums(tasks, (right - sig) * x, answers.n_tasks) - log_beta / self.difficulty_var
        curvature = sums(tasks, sig * (1.0 - sig) * x**2, answers.n_tasks) + 1.0 / self.difficulty_var
        log_beta = log_beta + np.clip(grad / curvature, -self.max_step, self.max_step)
        return alpha, log_beta

    def _e_step(self, answers: Answers, alpha: FloatArray, log_beta: FloatArray) -> tuple[FloatArray, float]:
        """Posteriors q_t and log p(answers, gold | parameters); every answer adds its "wrong" term to all
        classes, then the difference to its "right" term on the class it named (two bincounts, no K-loop)."""
        k, n = answers.n_classes, answers.n_tasks
        if n == 0:
            return np.zeros((0, k)), 0.0
        x = alpha[answers.workers] * np.exp(log_beta)[answers.tasks]
        log_right = log_sigmoid(x)
        log_wrong = log_sigmoid(-x) - np.log(max(k - 1, 1))
        named = sums(answers.tasks * k + answers.labels, log_right - log_wrong, n * k).reshape(n, k)
        log_joint = named + sums(answers.tasks, log_wrong, n)[:, None] + np.log(self.priors_)
        normaliser = logsumexp_rows(log_joint)
        probas = np.exp(log_joint - normaliser[:, None])
        mask = answers.gold_mask
        normaliser[mask] = log_joint[mask, answers.gold[mask]]
        return clamp_gold(probas, answers), float(normaliser.sum())

    def _log_prior(self, alpha: FloatArray, log_beta: FloatArray) -> float:
        """log p(α, s, π) up to a constant: the two Gaussians and the Dirichlet in its MAP form."""
        gaussians = ((alpha - self.ability_mean) ** 2).sum() / (2 * self.ability_var)
        gaussians += (log_beta**2).sum() / (2 * self.difficulty_var)
        return float(self.class_pseudo_count * np.log(self.priors_).sum() - gaussians)
