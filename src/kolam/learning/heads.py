"""The fast head trained on a project's own answers: multinomial logistic regression on frozen embeddings.

A packaged encoder turns each item into a vector once; what the project teaches is only this head, so it
retrains in seconds after every batch of answers. Features are standardised and optionally reduced by PCA
(fitted on every embedding at hand — labelled or not, since it needs no labels); then

    p(c | x) = softmax(W·z + b),    minimise  Σ_i w_i · (−Σ_c t_ic log p_ic) / Σ_i w_i + ‖W‖² / (2·C·Σ_i w_i),

where t_i is a one-hot answer or a soft label (an answer settled by consensus with confidence 0.9 is
t = 0.9 on its class and the rest spread by the posterior), w_i an optional sample weight, and C the inverse
L2 strength on sklearn's scale (C = 1 is sklearn's default). Every class of the project gets a row in W, seen
or not, so an unseen class simply gets low probability. The loss is convex; SciPy's L-BFGS minimises it (SciPy
comes with the ``ml`` extra). The fitted state is a handful of float arrays (``to_arrays``/``from_arrays``),
so a model version is stored without pickle.
"""

from __future__ import annotations

import math
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["SoftmaxHead", "soft_targets"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_MIN_SCALE = 1e-6  # a constant feature is centred, not blown up
_STATE_KEYS = ("mean", "scale", "components", "coef", "intercept", "hyper")


def soft_targets(labels: ArrayLike, n_classes: int) -> FloatArray:
    """(n, k) targets from class indices (one-hot) or from (n, k) distributions (checked, renormalised)."""
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    y = np.asarray(labels)
    if y.ndim == 1:
        if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"labels must be integer class indices in [0, {n_classes})")
        targets: FloatArray = np.zeros((y.size, n_classes))
        targets[np.arange(y.size), y.astype(np.int64)] = 1.0
        return targets
    if y.ndim != 2 or y.shape[1] != n_classes:
        raise ValueError(f"soft labels must be (n, {n_classes}) distributions, got shape {y.shape}")
    soft = y.astype(np.float64)
    if not np.all(np.isfinite(soft)) or (soft.size and soft.min() < 0):
        raise ValueError("soft labels must be finite and non-negative")
    totals = soft.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise ValueError("every soft label needs some positive mass")
    normalised: FloatArray = soft / totals
    return normalised


def _matrix(x: ArrayLike, name: str, width: int | None = None) -> FloatArray:
    m = np.asarray(x, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] == 0:
        raise ValueError(f"{name} must be an (n, d) array, got shape {m.shape}")
    if width is not None and m.shape[1] != width:
        raise ValueError(
            f"{name} must have {width} columns (the embedding size the head was fitted on), got {m.shape[1]}"
        )
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} must be finite (no NaN or infinity)")
    return m


class SoftmaxHead:
    """Multinomial logistic regression on standardised (optionally PCA-reduced) embeddings.

    ``n_components``: keep this many principal components (None: all standardised features); ``c``: inverse
    L2 strength (sklearn's C); ``pca_rows``: at most this many rows (a seeded sample) estimate the components;
    ``max_iter``/``tol``: L-BFGS limits (``tol`` on the relative change of the loss). Fitted state:
    ``mean_``, ``scale_``, ``components_`` (d, r; whitened PCA directions or the identity), ``coef_`` (r, k),
    ``intercept_`` (k,), ``n_iter_``, ``loss_``.
    """

    def __init__(
        self,
        n_components: int | None = None,
        c: float = 1.0,
        *,
        pca_rows: int = 10_000,
        max_iter: int = 500,
        tol: float = 1e-7,
        seed: int = 0,
    ) -> None:
        if n_components is not None and n_components < 1:
            raise ValueError(f"n_components must be at least 1 (or None for all features), got {n_components}")
        if not (c > 0 and math.isfinite(c)):
            raise ValueError(f"c must be a positive finite number, got {c}")
        if pca_rows < 2 or max_iter < 1 or tol <= 0:
            raise ValueError(f"need pca_rows ≥ 2, max_iter ≥ 1, tol > 0; got {pca_rows}, {max_iter}, {tol}")
        self.n_components = n_components
        self.c = c
        self.pca_rows = pca_rows
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed

    # -- features -----------------------------------------------------------------------------------------

    def fit_projection(self, x: ArrayLike) -> Self:
        """Fit the standardiser and PCA on embeddings (labelled or not); ``fit(..., keep_projection=True)``
        then reuses them, so a retrain each round need not redo this."""
        m = _matrix(x, "embeddings")
        self.mean_: FloatArray = m.mean(axis=0)
        self.scale_: FloatArray = np.maximum(m.std(axis=0), _MIN_SCALE)
        d = m.shape[1]
        if self.n_components is None or self.n_components >= d:
            self.components_: FloatArray = np.eye(d)
            return self
        rows = m
        if m.shape[0] > self.pca_rows:
            rows = m[np.sort(np.random.default_rng(self.seed).choice(m.shape[0], self.pca_rows, replace=False))]
        z = ((rows - self.mean_) / self.scale_).astype(np.float32)
        covariance = (z.T @ z).astype(np.float64) / max(z.shape[0] - 1, 1)
        values, vectors = np.linalg.eigh(covariance)
        order = np.argsort(values)[::-1][: self.n_components]
        # whitened: every kept direction has unit variance, which conditions L-BFGS far better
        self.components_ = vectors[:, order] / np.sqrt(np.maximum(values[order], _MIN_SCALE))[None, :]
        return self

    def transform(self, x: ArrayLike) -> FloatArray:
        """Standardised, projected features (n, r) — what the linear layer sees."""
        self._check_projection()
        m = _matrix(x, "embeddings", self.mean_.size)
        z: FloatArray = ((m - self.mean_) / self.scale_) @ self.components_
        return z

    # -- training -----------------------------------------------------------------------------------------

    def fit(
        self,
        x: ArrayLike,
        y: ArrayLike,
        n_classes: int,
        *,
        sample_weight: ArrayLike | None = None,
        unlabelled: ArrayLike | None = None,
        keep_projection: bool = False,
        warm_start: bool = False,
    ) -> Self:
        """Fit on embeddings ``x`` (n, d) and answers ``y``: class indices (n,) or soft labels (n, k).

        ``sample_weight`` (n,) ≥ 0 weighs each answer (e.g. its consensus confidence); ``unlabelled`` embeddings
        join ``x`` in fitting the projection; ``keep_projection`` reuses the one already fitted;
        ``warm_start`` starts L-BFGS from the current weights (same projection and classes), which makes a
        retrain after one more batch a few iterations.
        """
        m = _matrix(x, "x")
        targets = soft_targets(y, n_classes)
        if targets.shape[0] != m.shape[0] or m.shape[0] == 0:
            raise ValueError(
                f"x and y must have the same non-zero number of rows, got {m.shape[0]} and {targets.shape[0]}"
            )
        weights = np.ones(m.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != (m.shape[0],) or not np.all(np.isfinite(weights)) or weights.min() < 0:
            raise ValueError(f"sample_weight must be {m.shape[0]} finite non-negative numbers")
        if weights.sum() <= 0:
            raise ValueError("sample_weight must not be all zero")
        if not (keep_projection and hasattr(self, "components_")):
            both = m if unlabelled is None else np.vstack([m, _matrix(unlabelled, "unlabelled", m.shape[1])])
            self.fit_projection(both)
            warm_start = False
        z = self.transform(m)
        start = None
        if warm_start and hasattr(self, "coef_") and self.coef_.shape == (z.shape[1], n_classes):
            start = np.concatenate([self.coef_.ravel(), self.intercept_])
        self._minimise(z, targets, weights / weights.sum(), start)
        return self

    def _minimise(self, z: FloatArray, targets: FloatArray, weights: FloatArray, start: FloatArray | None) -> None:
        try:
            from scipy.optimize import minimize
        except ImportError as err:  # pragma: no cover - scipy comes with the ml extra
            raise ImportError("SoftmaxHead needs SciPy: pip install 'kolam[ml]'") from err
        r, k = z.shape[1], targets.shape[1]
        penalty = 1.0 / (self.c * float(weights.size))  # sklearn's C on a sum loss, here per mean weight
        weighted = targets * weights[:, None]

        def loss_and_grad(theta: FloatArray) -> tuple[float, FloatArray]:
            coef, intercept = theta[: r * k].reshape(r, k), theta[r * k :]
            logits = z @ coef + intercept
            top = logits.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(logits - top).sum(axis=1, keepdims=True)) + top
            log_p = logits - log_norm
            loss = -float((weighted * log_p).sum()) + 0.5 * penalty * float((coef * coef).sum())
            residual = np.exp(log_p) * weights[:, None] - weighted  # ∂loss/∂logits
            grad = np.concatenate([(z.T @ residual + penalty * coef).ravel(), residual.sum(axis=0)])
            return loss, grad

        theta0 = np.zeros(r * k + k) if start is None else start
        result = minimize(
            loss_and_grad,
            theta0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": self.tol * 1e-2},
        )
        self.coef_: FloatArray = result.x[: r * k].reshape(r, k)
        self.intercept_: FloatArray = result.x[r * k :].copy()
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)

    # -- prediction ---------------------------------------------------------------------------------------

    @property
    def n_classes_(self) -> int:
        self._check_fitted()
        return int(self.intercept_.size)

    def logits(self, x: ArrayLike) -> FloatArray:
        """(n, k) class scores; softmax of them is ``predict_proba``, and calibration starts from them."""
        self._check_fitted()
        out: FloatArray = self.transform(x) @ self.coef_ + self.intercept_
        return out

    def predict_proba(self, x: ArrayLike) -> FloatArray:
        z = self.logits(x)
        shifted = np.exp(z - z.max(axis=1, keepdims=True))
        probabilities: FloatArray = shifted / shifted.sum(axis=1, keepdims=True)
        return probabilities

    def predict(self, x: ArrayLike) -> IntArray:
        top: IntArray = self.logits(x).argmax(axis=1).astype(np.int64)
        return top

    # -- state --------------------------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """The fitted state as plain float arrays (e.g. for ``numpy.savez``): no pickle needed to load it."""
        self._check_fitted()
        hyper = np.array([np.nan if self.n_components is None else self.n_components, self.c], dtype=np.float64)
        return {
            "mean": self.mean_,
            "scale": self.scale_,
            "components": self.components_,
            "coef": self.coef_,
            "intercept": self.intercept_,
            "hyper": hyper,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[Any]]) -> SoftmaxHead:
        """A fitted head back from ``to_arrays``'s output; shapes are checked against each other."""
        missing = [key for key in _STATE_KEYS if key not in arrays]
        if missing:
            raise ValueError(f"head state lacks {', '.join(missing)}")
        mean, scale, components, coef, intercept, hyper = (
            np.asarray(arrays[key], dtype=np.float64) for key in _STATE_KEYS
        )
        d, r, k = mean.size, components.shape[-1], intercept.size
        if (
            mean.shape != (d,)
            or scale.shape != (d,)
            or components.shape != (d, r)
            or coef.shape != (r, k)
            or hyper.shape != (2,)
        ):
            raise ValueError(
                f"head state shapes disagree: mean {mean.shape}, scale {scale.shape}, components "
                f"{components.shape}, coef {coef.shape}, intercept {intercept.shape}, hyper {hyper.shape}"
            )
        head = cls(n_components=None if np.isnan(hyper[0]) else int(hyper[0]), c=float(hyper[1]))
        head.mean_, head.scale_, head.components_ = mean, scale, components
        head.coef_, head.intercept_ = coef, intercept
        return head

    def _check_projection(self) -> None:
        if not hasattr(self, "components_"):
            raise ValueError("the head is not fitted yet: call fit (or fit_projection) first")

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise ValueError("the head is not fitted yet: call fit first")
