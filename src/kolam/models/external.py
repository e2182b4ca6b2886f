"""A client's own model server as a Kolam model, spoken to in Label Studio's ML-backend protocol.

Firms that already run a Label Studio ML backend (``label-studio-ml`` SDK or their own server with the same
routes) can point Kolam at it unchanged: Kolam sends tasks (``{"id", "data"}``) with the project's
``label_config`` to ``/predict``, reads back Label Studio results and turns them into Kolam answers, and asks
for retraining through ``/webhook`` (``START_TRAINING``, the answers inline) or the older ``/train``. Text goes
inline; images and audio go as URLs the server fetches (``media_url``: Kolam's signed, short-lived links).
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import numpy as np
from numpy.typing import NDArray

import kolam
from kolam.errors import Invalid, KolamError
from kolam.labels.schema import ImageBoxesSchema, ImageClassesSchema, LabelSchemaDef, TextClassesSchema
from kolam.models.base import ItemPrediction, ModelItem
from kolam.models.label_studio import ImageSize, data_key, from_results, label_config, to_results

RETRY_STATUSES = frozenset({502, 503, 504})
EXCERPT = 300


class ExternalModelError(KolamError):
    """The model server could not be reached, refused the request, or answered something unusable."""

    code = "external_model_error"
    status = 502

    def __init__(self, message: str, *, status_code: int | None = None, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.status_code = status_code  # what the server answered, when it answered


@dataclass(frozen=True)
class ExternalPrediction(ItemPrediction):
    """A prediction from a model server, with the ``model_version`` the server said made it."""

    model_version: str | None = None


class ExternalModel:
    """A Label Studio-compatible ML backend at ``url``, used through :class:`kolam.models.base.Model`.

    ``media_url(item)`` gives the URL the server downloads an image or audio item from (never called for
    text). ``token`` is sent as ``Authorization: Token <token>``; ``basic_auth`` as HTTP basic auth (what the
    ``label-studio-ml`` SDK checks when ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS`` are set). Read-only calls
    (health, setup, predict) are retried on connection failures and 502/503/504; training never is.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: LabelSchemaDef,
        media_url: Callable[[ModelItem], str],
        token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        batch_size: int = 16,
        retries: int = 2,
        project_id: int = 1,
        schema_version: int = 1,
        training_route: Literal["webhook", "train"] = "webhook",
        name: str | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise Invalid(f"model server URL must start with http:// or https://, got {url!r}", field="url")
        if token is not None and basic_auth is not None:
            raise Invalid("give a token or basic auth for the model server, not both", field="token")
        if batch_size < 1 or retries < 0 or timeout <= 0 or connect_timeout <= 0:
            raise Invalid("batch_size ≥ 1, retries ≥ 0 and positive timeouts are needed", field="batch_size")
        self.url = url.rstrip("/")
        self.name = name or f"external:{self.url}"
        self.schema = schema
        self.media_url = media_url
        self.batch_size = batch_size
        self.retries = retries
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.training_route = training_route
        self.project_id = project_id
        # Label Studio names a project "<id>.<created timestamp>"; the schema version plays that part here,
        # so a backend that caches per project starts afresh when the labels change.
        self.project_uid = f"{project_id}.{schema_version}"
        self.label_config = label_config(schema)
        self.model_version: str | None = None
        self._set_up = False
        headers = {"User-Agent": f"kolam/{kolam.__version__}"}
        if token is not None:
            headers["Authorization"] = f"Token {token}"
        self._client = httpx.Client(
            headers=headers,
            auth=basic_auth,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
        )

    # ------------------------------------------------------------------ the protocol's calls

    def health(self) -> dict[str, Any]:
        """``GET /health``: the server's own report (``{"status": "UP", ...}``); raises if it is not up."""
        body = self._call("GET", "health", idempotent=True)
        if not isinstance(body, dict) or str(body.get("status", "UP")).upper() != "UP":
            raise ExternalModelError(f"GET {self.url}/health: the server is not up: {_excerpt(body)}")
        return body

    def setup(self) -> str | None:
        """``POST /setup``: hand the server the label config; returns the model version it reports."""
        body = {"project": self.project_uid, "schema": self.label_config, "hostname": "", "access_token": ""}
        answer = self._call("POST", "setup", body, idempotent=True)
        if isinstance(answer, dict) and answer.get("model_version") is not None:
            self.model_version = str(answer["model_version"])
        self._set_up = True
        return self.model_version

    def predict(self, items: list[ModelItem]) -> list[ItemPrediction]:
        """``POST /predict`` in batches; an item the server left without a result gets no prediction."""
        if not items:
            return []
        if not self._set_up:
            self.setup()
        out: list[ItemPrediction] = []
        for start in range(0, len(items), self.batch_size):
            out += self._predict_batch(items[start : start + self.batch_size])
        return out

    def fit(self, items: list[ModelItem], answers: list[dict[str, Any]]) -> None:
        """Retrain the server on settled answers (one answer value per item; an item may repeat)."""
        self.train(items, answers)

    def train(self, items: list[ModelItem] | None = None, answers: list[dict[str, Any]] | None = None) -> Any:
        """Ask for training: ``START_TRAINING`` on ``/webhook`` (or ``/train``) with the annotated tasks inline.

        Falls back from ``/webhook`` to ``/train`` when the server has no webhook route (SDK 1.x servers).
        Returns what the server answered (``{"status": "ok", ...}`` or a job id).
        """
        items, answers = items or [], answers or []
        if len(items) != len(answers):
            raise Invalid(f"{len(items)} items but {len(answers)} answers to train on", field="answers")
        tasks = self._annotated_tasks(items, answers)
        if self.training_route == "webhook":
            project = {"id": self.project_id, "label_config": self.label_config, "title": self.name}
            webhook = {"action": "START_TRAINING", "project": project, "annotations": tasks}
            try:
                return _check_status(self._call("POST", "webhook", webhook, idempotent=False), f"{self.url}/webhook")
            except ExternalModelError as err:
                if err.status_code not in (404, 405):
                    raise
        legacy = {"annotations": tasks, "project": self.project_uid, "label_config": self.label_config, "params": {}}
        return _check_status(self._call("POST", "train", legacy, idempotent=False), f"{self.url}/train")

    def embed(self, items: list[ModelItem]) -> NDArray[np.float32]:
        """The ML-backend protocol has no embeddings: diversity sampling needs a built-in encoder."""
        err = ExternalModelError(f"{self.name}: Label Studio's ML-backend protocol has no embeddings")
        err.code = "not_supported"
        raise err

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ExternalModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ tasks out, predictions in

    def task(self, item: ModelItem) -> dict[str, Any]:
        """An item as a Label Studio task: text inline, media as a URL the server can fetch."""
        key = data_key(self.schema)
        if isinstance(self.schema, TextClassesSchema):
            value = item.text if item.text is not None else (item.data or b"").decode("utf-8", errors="replace")
        else:
            value = self.media_url(item)
        data: dict[str, Any] = {key: value}
        if item.language:
            data["language"] = item.language
        return {"id": item.item_id, "data": data}

    def _annotated_tasks(self, items: list[ModelItem], answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        tasks: dict[int, dict[str, Any]] = {}
        for n, (item, answer) in enumerate(zip(items, answers, strict=True), start=1):
            if answer.get("unclear"):
                continue  # "can't tell" teaches a backend nothing and would reach it as an empty annotation
            task = tasks.setdefault(item.item_id, {**self.task(item), "annotations": [], "predictions": []})
            result = to_results(self.schema, answer, image_size=self._image_size(item), text=item.text)
            task["annotations"].append({"id": n, "result": result, "was_cancelled": False, "ground_truth": False})
        return list(tasks.values())

    def _predict_batch(self, items: list[ModelItem]) -> list[ExternalPrediction]:
        url = f"{self.url}/predict"
        body = {
            "tasks": [self.task(item) for item in items],
            "model_version": self.model_version,
            "project": self.project_uid,
            "label_config": self.label_config,
            "params": {"login": None, "password": None, "context": None},
        }
        answer = self._call("POST", "predict", body, idempotent=True)
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise ExternalModelError(f'POST {url}: expected {{"results": [...]}}, got {_excerpt(answer)}')
        results: list[Any] = answer["results"]
        if len(results) != len(items):
            raise ExternalModelError(
                f"POST {url}: answered {len(results)} predictions for {len(items)} tasks; "
                "a backend must answer one per task, in order"
            )
        default_version = answer.get("model_version") or self.model_version
        out = []
        for k, (item, raw) in enumerate(zip(items, results, strict=True)):
            found = self._prediction(item, raw, f"results[{k}]", url, default_version)
            if found is not None:
                out.append(found)
        return out

    def _prediction(
        self, item: ModelItem, raw: Any, where: str, url: str, default_version: Any
    ) -> ExternalPrediction | None:
        pred = _pick(raw, where, url)
        classes = isinstance(self.schema, ImageClassesSchema | TextClassesSchema)
        if pred is None or (classes and pred["result"] == []):
            return None  # the server had nothing to say about this item
        try:
            value = from_results(
                self.schema,
                pred["result"],
                image_size=self._image_size(item),
                duration=_float(item.meta.get("duration")),
                text=item.text,
                where=f"{where}.result",
            )
        except Invalid as err:
            raise ExternalModelError(f"POST {url}: item {item.item_id}: {err.message}", field=err.field) from None
        version = pred.get("model_version") or default_version
        return ExternalPrediction(
            item_id=item.item_id,
            value=value,
            confidence=_confidence(pred),
            model_version=None if version is None else str(version),
        )

    def _image_size(self, item: ModelItem) -> ImageSize | None:
        if not isinstance(self.schema, ImageBoxesSchema):
            return None
        width, height = _float(item.meta.get("width")), _float(item.meta.get("height"))
        if width and height:
            return width, height
        if item.data:
            from PIL import Image

            with Image.open(io.BytesIO(item.data)) as image:
                return float(image.width), float(image.height)
        return None

    # ------------------------------------------------------------------ HTTP

    def _call(self, method: str, route: str, body: Any = None, *, idempotent: bool) -> Any:
        url = f"{self.url}/{route}"
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._client.request(method, url, json=body)
            except httpx.ConnectError as err:
                if not last:
                    time.sleep(0.2 * 2**attempt)
                    continue
                raise ExternalModelError(
                    f"{method} {url}: could not connect ({err}); is the model server running?"
                ) from None
            except httpx.TimeoutException as err:
                connecting = isinstance(err, httpx.ConnectTimeout)
                kind, limit = (
                    ("connecting", self.connect_timeout) if connecting else ("waiting for an answer", self.timeout)
                )
                raise ExternalModelError(f"{method} {url}: timed out {kind} (limit {limit:g} s)") from None
            except httpx.HTTPError as err:
                raise ExternalModelError(f"{method} {url}: {type(err).__name__}: {err}") from None
            if response.status_code in RETRY_STATUSES and not last:
                time.sleep(0.2 * 2**attempt)
                continue
            return _json(response, method, url)
        raise AssertionError("unreachable")


def _json(response: httpx.Response, method: str, url: str) -> Any:
    status = response.status_code
    if status >= 400:
        hint = " (check the token or basic auth Kolam sends)" if status in (401, 403) else ""
        raise ExternalModelError(
            f"{method} {url} answered {status}{hint}: {_excerpt(response.text)}", status_code=status
        )
    try:
        return response.json()
    except ValueError:
        raise ExternalModelError(
            f"{method} {url} answered {status} with a body that is not JSON: {_excerpt(response.text)}"
        ) from None


def _check_status(answer: Any, url: str) -> Any:
    """SDK 2.x answers a failed training with 201 and ``{"status": "error", "error": ...}``."""
    if isinstance(answer, dict) and answer.get("status") == "error":
        raise ExternalModelError(f"POST {url}: training failed on the server: {_excerpt(answer.get('error'))}")
    return answer


def _pick(raw: Any, where: str, url: str) -> dict[str, Any] | None:
    """One task's entry: a prediction object, a list of them (SDK 2.x; the best-scored wins) or a bare result."""
    if isinstance(raw, dict):
        if "result" not in raw:
            raise ExternalModelError(f"POST {url}: {where}: a prediction needs a 'result' list: {_excerpt(raw)}")
        return raw
    if isinstance(raw, list):
        if not raw:
            return None
        if all(isinstance(p, dict) and "result" in p for p in raw):
            best: dict[str, Any] = max(raw, key=lambda p: _float(p.get("score")) or 0.0)
            return best
        if all(isinstance(r, dict) and "value" in r for r in raw):
            return {"result": raw}
    if raw is None:
        return None
    raise ExternalModelError(f"POST {url}: {where}: not a prediction: {_excerpt(raw)}")


def _confidence(pred: dict[str, Any]) -> float | None:
    """The prediction's ``score``, else the lowest score its regions carry; ``None`` unless a probability."""
    score = _float(pred.get("score"))
    if score is None:
        scores = [_float(r.get("score")) for r in pred["result"] if isinstance(r, dict)]
        known = [s for s in scores if s is not None]
        score = min(known) if known else None
    return score if score is not None and 0.0 <= score <= 1.0 else None


def _float(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        return None
    return float(raw)


def _excerpt(body: Any) -> str:
    text = body if isinstance(body, str) else repr(body)
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"
