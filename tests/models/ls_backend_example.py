"""A small but real Label Studio ML backend, written the way a client would write one: Kolam's tests run it.

It follows the ``label-studio-ml`` SDK 2.x protocol (``/health``, ``/setup``, ``/predict``, ``/webhook``, the
older ``/train``, ``/metrics``) with FastAPI, because that SDK's current release is not on PyPI (PyPI stops at
1.0.9, which pins Flask 1.1.2). It reads the project's ``label_config`` to find its ``Choices`` control and the
object it labels, and learns a nearest-example classifier from the annotations sent with a training event:
bag of words for ``<Text>``, a colour histogram for ``<Image>`` (fetched from the URL in ``data``; a relative
``/data/...`` link is resolved against ``LABEL_STUDIO_URL`` with ``LABEL_STUDIO_API_KEY``, as the SDK does).

Run: ``python tests/models/ls_backend_example.py --port 9090`` (``BACKEND_TOKEN`` makes it demand
``Authorization: Token <it>``; ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS`` demand basic auth, like the SDK).
"""

from __future__ import annotations

import argparse
import base64
import hmac
import io
import math
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from PIL import Image

Vector = dict[str, float]
TRAIN_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "START_TRAINING")
_HTTP = httpx.Client(timeout=30, follow_redirects=True)  # one client: a new one per image costs ~0.1 s


class NearestExampleClassifier:
    """Remembers labelled examples; a class's score is its closest example's cosine similarity (softmaxed)."""

    def __init__(self) -> None:
        self.examples: list[tuple[Vector, str]] = []
        self.trainings = 0

    @property
    def model_version(self) -> str:
        return f"nearest-{self.trainings}"

    def fit(self, examples: list[tuple[Vector, str]], *, afresh: bool) -> None:
        """Learn ``examples``: afresh from a whole training set, or on top (one new annotation)."""
        self.examples = examples if afresh else self.examples + examples
        self.trainings += 1

    def predict(self, features: Vector) -> tuple[str, float] | None:
        if not self.examples:
            return None
        sims: dict[str, float] = {}
        for example, label in self.examples:
            sims[label] = max(sims.get(label, -1.0), _cosine(features, example))
        exps = {label: math.exp(10 * sim) for label, sim in sims.items()}
        best = max(exps, key=lambda label: exps[label])
        return best, exps[best] / sum(exps.values())


def _cosine(a: Vector, b: Vector) -> float:
    dot = sum(value * b.get(key, 0.0) for key, value in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


class Interface:
    """What the backend needs from a label config: the Choices control, its object, and the data key."""

    def __init__(self, config: str) -> None:
        root = ET.fromstring(config)
        choices = root.find(".//Choices")
        if choices is None:
            raise ValueError("this backend needs a <Choices> control in the label config")
        self.from_name, self.to_name = choices.attrib["name"], choices.attrib["toName"]
        source = next(tag for tag in root.iter() if tag.attrib.get("name") == self.to_name)
        self.object_type = source.tag.lower()
        self.data_key = source.attrib["value"].lstrip("$")
        self.labels = [choice.attrib["value"] for choice in choices.iter("Choice")]

    def features(self, task: dict[str, Any]) -> Vector:
        value = task["data"][self.data_key]
        if self.object_type == "text":
            return dict(Counter(re.findall(r"\w+", value.lower())))
        return _colour_histogram(_fetch(value))


def _fetch(url: str) -> bytes:
    headers = {}
    if url.startswith("/"):
        url = os.environ.get("LABEL_STUDIO_URL", "").rstrip("/") + url
        headers["Authorization"] = f"Token {os.environ.get('LABEL_STUDIO_API_KEY', '')}"
    response = _HTTP.get(url, headers=headers)
    response.raise_for_status()
    return response.content


def _colour_histogram(data: bytes) -> Vector:
    with Image.open(io.BytesIO(data)) as image:
        pixels = image.convert("RGB").resize((32, 32)).tobytes()
    rgb = zip(pixels[0::3], pixels[1::3], pixels[2::3], strict=True)
    counts = Counter(f"{r // 32}{g // 32}{b // 32}" for r, g, b in rgb)
    return {key: float(n) for key, n in counts.items()}


def create_app() -> FastAPI:
    app = FastAPI(title="Label Studio ML backend example")
    model = NearestExampleClassifier()

    @app.middleware("http")
    async def check_auth(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not _authorized(request.headers.get("authorization", "")):
            return Response("Unauthorized", status_code=401, headers={"WWW-Authenticate": 'Basic realm="backend"'})
        return await call_next(request)

    @app.get("/")
    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "UP", "model_class": "NearestExampleClassifier"}

    @app.post("/setup")
    def setup(body: dict[str, Any]) -> dict[str, Any]:
        Interface(body["schema"])  # refuse a config this backend cannot serve, at connection time
        return {"model_version": model.model_version}

    @app.post("/predict")
    def predict(body: dict[str, Any]) -> dict[str, Any]:
        interface = Interface(body["label_config"])
        results: list[dict[str, Any]] = []
        for task in body["tasks"]:
            found = model.predict(interface.features(task))
            if found is None:
                results.append({"result": [], "score": 0.0, "model_version": model.model_version})
                continue
            label, score = found
            choice = {"choices": [label]}
            region = {"from_name": interface.from_name, "to_name": interface.to_name, "type": "choices"}
            result = [{**region, "value": choice, "score": score}]
            results.append({"result": result, "score": score, "model_version": model.model_version})
        return {"results": results}

    @app.post("/webhook", status_code=201)
    def webhook(body: dict[str, Any]) -> dict[str, Any]:
        event = body.pop("action", None)
        if event not in TRAIN_EVENTS:
            return {"status": "Unknown event"}
        if event == "START_TRAINING":
            return train(body["project"]["label_config"], body.get("annotations") or [], afresh=True)
        return train(body["project"]["label_config"], [body], afresh=False)

    @app.post("/train", status_code=201)
    def legacy_train(body: dict[str, Any]) -> dict[str, Any]:
        return train(body["label_config"], body["annotations"], afresh=True)

    def train(config: str, tasks: list[dict[str, Any]], *, afresh: bool) -> dict[str, Any]:
        interface = Interface(config)
        examples: list[tuple[Vector, str]] = []
        for task in tasks:
            annotations = task.get("annotations") or [task.get("annotation") or {}]
            features = interface.features(task.get("task", task))
            for annotation in annotations:
                for result in annotation.get("result", []):
                    if result.get("type") == "choices" and result.get("from_name") == interface.from_name:
                        examples += [(features, label) for label in result["value"]["choices"]]
        if not examples:
            return {"status": "error", "error": "no choices annotations to learn from"}
        model.fit(examples, afresh=afresh)
        return {"status": "ok", "result": {"model_version": model.model_version, "examples": len(examples)}}

    @app.get("/metrics")
    def metrics() -> dict[str, Any]:
        return {}

    @app.exception_handler(Exception)
    async def failed(request: Request, err: Exception) -> JSONResponse:
        return JSONResponse({"error": f"{type(err).__name__}: {err}"}, status_code=500)

    return app


def _authorized(header: str) -> bool:
    token = os.environ.get("BACKEND_TOKEN")
    user, password = os.environ.get("BASIC_AUTH_USER"), os.environ.get("BASIC_AUTH_PASS")
    if token:
        return hmac.compare_digest(header, f"Token {token}")
    if user and password:
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return hmac.compare_digest(header, expected)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
