"""Categorical truth inference: majority vote, Dawid–Skene and one-coin Dawid–Skene.

All three share ``TruthInference``'s interface (see ``truth_base``): ``fit(tasks, workers, labels, n_classes,
gold=...)`` then ``labels_`` / ``probas_``. Everything is deterministic: there is no random initialisation, and
ties go to the lowest class index (``np.argmax``), which a caller can reproduce.
"""

from __future__ import annotations

import numpy as np

from kolam.quality.truth_base import (
    UNKNOWN,
    Answers,
    BoolArray,
    FloatArray,
    Grouping,
    IntArray,
    TruthInference,
    clamp_gold,
    majority_probas,
)

__all__ = ["UNKNOWN", "DawidSkene", "MajorityVote", "OneCoinDawidSkene", "TruthInference"]


class MajorityVote(TruthInference):
    """The most frequent answer per task; ties go to the lowest class index (deterministic, no RNG).

    ``probas_`` holds vote shares (so a tie is visible as equal shares), and ``skills_`` each worker's
    agreement with the consensus (NaN for a worker with no answers) — a cheap, biased skill estimate that
    Dawid–Skene improves on.
    """

    skills_: FloatArray

    def _fit(self, answers: Answers) -> None:
        self.probas_ = majority_probas(answers)
        self.labels_ = self.probas_.argmax(axis=1).astype(np.int64)
        agrees = (answers.labels == self.labels_[answers.tasks]).astype(np.float64)
        hits = np.bincount(answers.workers, weights=agrees, minlength=answers.n_workers).astype(np.float64)
        totals = np.bincount(answers.workers, minlength=answers.n_workers).astype(np.float64)
        self.skills_ = np.divide(hits, totals, out=np.full_like(hits, np.nan), where=totals > 0)


class DawidSkene(TruthInference):
    """Dawid & Skene (1979): EM over each worker's full confusion matrix, with Dirichlet priors (MAP).

    Model: task t has a hidden class z_t ~ π; worker w answering it says l with probability e_w[z_t, l].
    E-step (log space, so hundreds of answers per task cannot underflow):
        log q_t(k) = log π_k + Σ_{answers (t, w, l)} log e_w[k, l] − normaliser;  gold tasks: q_t = one-hot.
    M-step (MAP under Dirichlet priors, i.e. pseudo-counts added to expected counts):
        e_w[k, l] ∝ Σ_{answers (t, w, l)} q_t(k) + c + d·[k = l],   c = pseudo_count, d = diagonal_pseudo_count
        π_k ∝ Σ_t q_t(k) + class_pseudo_count
    The pseudo-counts keep a worker with three answers from getting a confusion row of exact zeros and ones
    (which would let one answer veto a task); the extra diagonal weight says "workers are better than chance"
    until their answers say otherwise. By default d = c·(K − 1): a row's prior puts as much weight on the right
    answer as on all wrong ones together (prior mean accuracy K/(2K − 1)), whatever K. A fixed d = 1 is too
    weak from K = 4 up: on sparse simulated crowds (a handful of answers per worker, 2 per task) EM then
    drifts into label-switched optima well below majority vote. Start: majority-vote shares. Stop: the change
    in ``loss_history_`` (negative log posterior of the parameters per answer, which EM never increases) is
    below ``tol``.

    Fitted: ``labels_``, ``probas_`` (tasks × classes), ``errors_`` (workers × true class × given label),
    ``priors_`` (classes), ``skills_`` (each worker's accuracy under ``priors_``), ``loss_history_``,
    ``n_iter_``.
    """

    errors_: FloatArray
    priors_: FloatArray
    skills_: FloatArray
    loss_history_: list[float]
    n_iter_: int

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-6,
        pseudo_count: float = 1.0,
        diagonal_pseudo_count: float | None = None,
        class_pseudo_count: float = 1.0,
    ) -> None:
        if n_iter < 1:
            raise ValueError("n_iter must be at least 1")
        if min(pseudo_count, diagonal_pseudo_count or 0.0, class_pseudo_count) < 0:
            raise ValueError("pseudo-counts must be non-negative")
        self.n_iter = n_iter
        self.tol = tol
        self.pseudo_count = pseudo_count
        self.diagonal_pseudo_count = diagonal_pseudo_count
        self.class_pseudo_count = class_pseudo_count

    def _fit(self, answers: Answers) -> None:
        k = answers.n_classes
        # answer i reads row (worker, label) of the workers' transposed confusion matrices
        rows = answers.workers * k + answers.labels
        by_task = Grouping.by(answers.tasks, answers.n_tasks)
        by_row = Grouping.by(rows, answers.n_workers * k)
        rows_by_task, tasks_by_row = by_task.arrange(rows), by_row.arrange(answers.tasks)
        evidence = answers.answered
        # posteriors live as (classes, tasks) and are handed around as its (tasks, classes) view, so that
        # gathering one class's column per answer reads contiguous memory
        probas = np.ascontiguousarray(majority_probas(answers).T).T
        n_answers = max(answers.tasks.size, 1)
        self.loss_history_ = []
        for iteration in range(self.n_iter):
            self._m_step(answers, probas, evidence, by_row, tasks_by_row)
            log_joint = self._log_joint(answers, by_task, rows_by_task)
            probas, objective = self._e_step(answers, log_joint)
            self.loss_history_.append(-(objective + self._log_prior()) / n_answers)
            self.n_iter_ = iteration + 1
            if iteration and abs(self.loss_history_[-2] - self.loss_history_[-1]) < self.tol:
                break
        self.probas_ = np.ascontiguousarray(probas)
        self.labels_ = probas.argmax(axis=1).astype(np.int64)
        self.skills_ = np.einsum("k,wkk->w", self.priors_, self.errors_)

    def _m_step(
        self, answers: Answers, probas: FloatArray, evidence: BoolArray, by_row: Grouping, tasks_by_row: IntArray
    ) -> None:
        k = answers.n_classes
        counts = self._expected_counts(answers, probas, by_row, tasks_by_row) + self._confusion_pseudo_counts(k)
        totals = counts.sum(axis=2, keepdims=True)
        self.errors_ = np.divide(counts, totals, out=np.full_like(counts, 1.0 / k), where=totals > 0)
        self.priors_ = self._class_priors(probas, evidence)

    @staticmethod
    def _expected_counts(answers: Answers, probas: FloatArray, by_row: Grouping, tasks_by_row: IntArray) -> FloatArray:
        """n[w, k, l] = Σ over w's answers l of q_t(k): per class k, one gather and one weighted bincount."""
        k, w = answers.n_classes, answers.n_workers
        counts: FloatArray = by_row.sum_columns(probas.T, tasks_by_row).reshape(k, w, k).transpose(1, 0, 2)
        return counts

    def _diagonal(self, k: int) -> float:
        if self.diagonal_pseudo_count is None:
            return self.pseudo_count * (k - 1)
        return self.diagonal_pseudo_count

    def _confusion_pseudo_counts(self, k: int) -> FloatArray:
        pseudo: FloatArray = self.pseudo_count + self._diagonal(k) * np.eye(k)
        return pseudo

    def _class_priors(self, probas: FloatArray, evidence: BoolArray) -> FloatArray:
        k = probas.shape[1]
        class_counts = (probas if evidence.all() else probas[evidence]).sum(axis=0) + self.class_pseudo_count
        total = class_counts.sum()
        return class_counts / total if total > 0 else np.full(k, 1.0 / k)

    def _log_joint(self, answers: Answers, by_task: Grouping, rows_by_task: IntArray) -> FloatArray:
        """log π_k + Σ log e_w[k, l] per task and class, as the (tasks, classes) view of a (classes, tasks) array.

        Per class k, answer i reads entry (worker, label) of the table log e_·[k, ·].
        """
        k = answers.n_classes
        log_errors = np.ascontiguousarray(self._log_errors().transpose(1, 0, 2)).reshape(k, -1)
        with np.errstate(divide="ignore"):
            log_priors = np.log(self.priors_)
        log_joint = by_task.sum_columns(log_errors, rows_by_task)
        log_joint += log_priors[:, None]
        return log_joint.T

    def _log_errors(self) -> FloatArray:
        """log e_w[k, l], what the E-step weighs answers by (a variational subclass uses E[log e] instead)."""
        with np.errstate(divide="ignore"):
            logs: FloatArray = np.log(self.errors_)
        return logs

    def _e_step(self, answers: Answers, log_joint: FloatArray) -> tuple[FloatArray, float]:
        """Posteriors q_t, and log p(answers, gold | parameters) — the quantity EM climbs."""
        if answers.n_tasks == 0:
            return np.zeros((0, answers.n_classes)), 0.0
        # log-sum-exp per task, worked on the (classes, tasks) layout: reductions over classes are then
        # element-wise over contiguous rows, and the shifted exponentials are reused for the posteriors
        values = log_joint.T
        top = values.max(axis=0)
        probas_by_class = values - top
        np.exp(probas_by_class, out=probas_by_class)
        totals = probas_by_class.sum(axis=0)
        probas_by_class /= totals
        normaliser = top + np.log(totals)
        probas: FloatArray = probas_by_class.T
        mask = answers.gold_mask
        normaliser[mask] = log_joint[mask, answers.gold[mask]]
        return clamp_gold(probas, answers), float(normaliser.sum())

    def _log_prior(self) -> float:
        """log p(parameters) up to a constant: Σ pseudo-count · log parameter (Dirichlet, MAP form)."""
        k = self.priors_.size
        weights = self._confusion_pseudo_counts(k)
        with np.errstate(divide="ignore", invalid="ignore"):
            confusion = np.where(weights > 0, weights * np.log(self.errors_), 0.0).sum()
            classes = self.class_pseudo_count * np.log(self.priors_).sum() if self.class_pseudo_count else 0.0
        return float(confusion + classes)


class OneCoinDawidSkene(DawidSkene):
    """Dawid–Skene with one number per worker: accuracy a_w, errors spread evenly over the other classes.

    e_w[k, l] = a_w if k = l else (1 − a_w)/(K − 1). Far fewer parameters (1 instead of K² per worker), so it
    is the safer choice when workers answer few tasks or errors are not class-specific. M-step (MAP, Beta
    prior aggregated from the same pseudo-counts as the full model, so the two agree in expectation):
        a_w = (Σ_{answers (t, w, l)} q_t(l) + c + d) / (n_w + K·c + d),   c, d as in ``DawidSkene``.
    """

    def _m_step(
        self, answers: Answers, probas: FloatArray, evidence: BoolArray, by_row: Grouping, tasks_by_row: IntArray
    ) -> None:
        k, w = answers.n_classes, answers.n_workers
        right, wrong = self._beta_prior(k)
        agree = probas[answers.tasks, answers.labels]
        hits = np.bincount(answers.workers, weights=agree, minlength=w) + right
        totals = np.bincount(answers.workers, minlength=w) + right + wrong
        accuracy = np.divide(hits, totals, out=np.full(w, 1.0 / k), where=totals > 0)
        off = (1.0 - accuracy) / max(k - 1, 1)
        errors = np.broadcast_to(off[:, None, None], (w, k, k)).copy()
        errors[:, np.arange(k), np.arange(k)] = accuracy[:, None]
        self.errors_ = errors
        self.priors_ = self._class_priors(probas, evidence)

    def _beta_prior(self, k: int) -> tuple[float, float]:
        """Pseudo-counts for a right and a wrong answer: a Dirichlet row's mass on and off the diagonal."""
        return self.pseudo_count + self._diagonal(k), self.pseudo_count * (k - 1)

    def _log_prior(self) -> float:
        k = self.priors_.size
        right, wrong = self._beta_prior(k)
        accuracy = self.errors_[:, 0, 0] if self.errors_.size else np.zeros(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = right * np.log(accuracy) + (wrong * np.log1p(-accuracy) if wrong else 0.0)
            classes = self.class_pseudo_count * np.log(self.priors_).sum() if self.class_pseudo_count else 0.0
        return float(np.sum(terms) + classes)
