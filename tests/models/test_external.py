"""External model servers: a real Label Studio-style backend on 127.0.0.1 pre-labels and learns through Kolam.

The backend (``ls_backend_example.py``) runs in its own process, as a client's would; the protocol failures
(garbage, wrong counts, timeouts, flaky servers) come from a tiny scripted HTTP server in this process.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from kolam.errors import Invalid
from kolam.labels.answers import validate_answer
from kolam.labels.schema import LabelSchemaDef, parse_schema
from kolam.models.base import ItemPrediction, Model, ModelItem
from kolam.models.external import ExternalModel, ExternalModelError, ExternalPrediction
from kolam.models.label_studio import from_results, label_config, to_results

BACKEND = Path(__file__).with_name("ls_backend_example.py")
TOKEN = "s3cret-token"
TEXT_SCHEMA = parse_schema("text_classes", {"classes": [{"name": "spam"}, {"name": "ham"}], "multi_label": False})
TRAIN = [
    ("win a free prize now click the link", "spam"),
    ("cheap loans click here to claim your prize", "spam"),
    ("free money offer claim it now", "spam"),
    ("இலவச பரிசு இப்போதே கிளிக் செய்யுங்கள்", "spam"),
    ("are we still meeting for lunch tomorrow", "ham"),
    ("please send me the notes from the meeting today", "ham"),
    ("the lunch meeting moved to friday", "ham"),
    ("நாளை மதிய உணவுக்கு சந்திப்போமா", "ham"),
]
HELD_OUT = [("claim your free prize", "spam"), ("notes from the lunch meeting", "ham"), ("இலவச பரிசு", "spam")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _no_media(item: ModelItem) -> str:
    raise AssertionError("text items travel inline, never as URLs")


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    """The example backend in a subprocess, demanding a token; its URL once /health answers."""
    port = _free_port()
    env = {**os.environ, "BACKEND_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, str(BACKEND), "--port", str(port)], env=env, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    try:
        while True:
            try:
                if httpx.get(f"{url}/health", headers={"Authorization": f"Token {TOKEN}"}).status_code == 200:
                    break
            except httpx.ConnectError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr and proc.poll() is not None else ""
                raise RuntimeError(f"example backend did not come up on {url}: {err[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _text_items(rows: list[tuple[str, str]], first_id: int) -> list[ModelItem]:
    return [ModelItem(item_id=first_id + i, media="text", text=text) for i, (text, _) in enumerate(rows)]


def _labels(predictions: list[ItemPrediction]) -> list[str]:
    return [p.value["labels"][0] for p in predictions]


def _versions(predictions: list[ItemPrediction]) -> list[str | None]:
    return [p.model_version if isinstance(p, ExternalPrediction) else "not external" for p in predictions]


def test_text_backend_prelabels_in_kolam_format_and_learns_from_answers(backend: str) -> None:
    with ExternalModel(backend, schema=TEXT_SCHEMA, media_url=_no_media, token=TOKEN, batch_size=2) as model:
        assert isinstance(model, Model)
        assert model.health()["status"] == "UP"
        model.fit(_text_items(TRAIN, 1), [{"labels": [label]} for _, label in TRAIN])
        first = model.predict(_text_items(HELD_OUT, 100))  # two batches of at most 2

        assert [p.item_id for p in first] == [100, 101, 102]
        assert _labels(first) == [label for _, label in HELD_OUT]
        for pred in first:
            assert validate_answer(TEXT_SCHEMA, pred.value, text_length=40) == pred.value
            assert isinstance(pred, ExternalPrediction)
            assert pred.confidence is not None and 0.5 < pred.confidence <= 1.0
        (version,) = set(_versions(first))
        assert version is not None and version.startswith("nearest-")

        # Corrections that swap the classes: the retrained server must now answer the other way round.
        flipped = {"spam": "ham", "ham": "spam"}
        model.fit(_text_items(TRAIN, 1), [{"labels": [flipped[label]]} for _, label in TRAIN])
        second = model.predict(_text_items(HELD_OUT, 100))
        assert _labels(second) == [flipped[label] for _, label in HELD_OUT]
        assert set(_versions(second)) == {f"nearest-{int(version.split('-')[1]) + 1}"}


def test_legacy_train_route_trains_too(backend: str) -> None:
    with ExternalModel(backend, schema=TEXT_SCHEMA, media_url=_no_media, token=TOKEN, training_route="train") as m:
        answer = m.train(_text_items(TRAIN, 1), [{"labels": [label]} for _, label in TRAIN])
        assert answer["status"] == "ok" and answer["result"]["examples"] == len(TRAIN)
        assert _labels(m.predict(_text_items(HELD_OUT, 100))) == [label for _, label in HELD_OUT]


def test_a_missing_or_wrong_token_is_refused_and_said_so(backend: str) -> None:
    for token in (None, "wrong"):
        with (
            ExternalModel(backend, schema=TEXT_SCHEMA, media_url=_no_media, token=token) as model,
            pytest.raises(ExternalModelError, match=r"/health answered 401 \(check the token"),
        ):
            model.health()


def _tiles(photo: str, size: int = 96) -> list[tuple[bytes, bool]]:
    """Square tiles of one of scikit-learn's two sample photographs, as PNG, each with a checkerboard flag."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        pytest.skip("scikit-learn's sample photographs need the ml extra")
    out = []
    with Image.open(Path(spec.origin).parent / "datasets" / "images" / photo) as image:
        for row, y in enumerate(range(0, image.height - size + 1, size)):
            for col, x in enumerate(range(0, image.width - size + 1, size)):
                buf = io.BytesIO()
                image.crop((x, y, x + size, y + size)).save(buf, format="PNG")
                out.append((buf.getvalue(), (row + col) % 2 == 0))
    return out


def test_image_backend_fetches_media_urls_and_classifies_real_photos(backend: str, scripted: Scripted) -> None:
    """Images go to the server as URLs (Kolam's signed media links); the backend downloads them."""
    schema = parse_schema("image_classes", {"classes": [{"name": "temple"}, {"name": "flower"}]})
    train: list[tuple[ModelItem, str]] = []
    test: list[tuple[ModelItem, str]] = []
    for label, photo in (("temple", "china.jpg"), ("flower", "flower.jpg")):
        for data, black in _tiles(photo):
            item = ModelItem(item_id=len(train) + len(test) + 1, media="image", mime_type="image/png")
            scripted.routes[("GET", f"/media/{item.item_id}")] = [(200, data)]
            (train if black else test).append((item, label))

    def media_url(item: ModelItem) -> str:
        return f"{scripted.url}/media/{item.item_id}?sig=abc"

    with ExternalModel(backend, schema=schema, media_url=media_url, token=TOKEN) as model:
        model.fit([item for item, _ in train], [{"labels": [label]} for _, label in train])
        predictions = model.predict([item for item, _ in test])
    right = sum(got == label for got, (_, label) in zip(_labels(predictions), test, strict=True))
    assert len(test) == 24 and right >= 22  # 24/24 with Pillow 11 here
    fetched = [path for method, path, _, _ in scripted.hits if method == "GET"]
    assert sorted(fetched) == sorted(f"/media/{item.item_id}?sig=abc" for item, _ in train + test)


# ---------------------------------------------------------------------- failures, from a scripted server


@dataclass
class Scripted:
    """An HTTP server on 127.0.0.1 answering from a script: (method, path) → [(status, body[, delay])]."""

    url: str = ""
    routes: dict[tuple[str, str], list[tuple[Any, ...]]] = field(default_factory=dict)
    hits: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    state = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.hits.append((self.command, self.path, dict(self.headers), body))
            script = state.routes.get((self.command, self.path.split("?")[0])) or [(404, b"no such route")]
            status, payload, *delay = script.pop(0) if len(script) > 1 else script[0]
            time.sleep(delay[0] if delay else 0)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first: what the timeout test wants

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _model(url: str, **kwargs: Any) -> ExternalModel:
    return ExternalModel(url, schema=TEXT_SCHEMA, media_url=_no_media, **kwargs)


def _ok_setup(scripted: Scripted) -> None:
    scripted.routes[("POST", "/setup")] = [(200, {"model_version": "v7"})]


def test_a_server_that_is_down_is_reported_with_its_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    with _model(url, retries=1) as model, pytest.raises(ExternalModelError) as err:
        model.predict(_text_items(HELD_OUT, 1))
    assert f"POST {url}/setup: could not connect" in err.value.message
    assert "is the model server running?" in err.value.message
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ((200, b"<html>oops</html>"), r"answered 200 with a body that is not JSON: <html>oops</html>"),
        ((500, b"Traceback: KeyError 'text'"), r"/predict answered 500: Traceback: KeyError 'text'"),
        ((200, {"predictions": []}), r'expected \{"results": \[...\]\}'),
        ((200, {"results": [{"result": []}]}), r"answered 1 predictions for 3 tasks"),
        ((200, {"results": [{"score": 1}] * 3}), r"results\[0\]: a prediction needs a 'result' list"),
        (
            (200, {"results": [{"result": [{"type": "choices", "value": {"choices": ["eggs"]}}]}] * 3}),
            r"item 1: results\[0\]\.result\[0\]\.value\.choices: 'eggs' is not a class of this project",
        ),
    ],
    ids=["not-json", "server-error", "no-results-key", "wrong-count", "no-result", "unknown-class"],
)
def test_garbage_from_the_server_is_refused_clearly(scripted: Scripted, answer: tuple[Any, ...], expected: str) -> None:
    _ok_setup(scripted)
    scripted.routes[("POST", "/predict")] = [answer]
    with _model(scripted.url, retries=0) as model, pytest.raises(ExternalModelError, match=expected) as err:
        model.predict(_text_items(HELD_OUT, 1))
    assert f"{scripted.url}/predict" in err.value.message


def test_predict_sends_the_label_studio_request_and_reads_its_variants(scripted: Scripted) -> None:
    _ok_setup(scripted)
    choice = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["ham"]}}]
    scripted.routes[("POST", "/predict")] = [
        (
            200,
            {
                "results": [
                    [{"result": choice, "score": 0.2}, {"result": choice, "score": 0.9}],  # SDK 2.x: several
                    {"result": [{**choice[0], "score": 0.7}]},  # region score only
                    [],  # nothing for this task
                ],
                "model_version": "top-level",  # SDK 1.x puts the version here
            },
        )
    ]
    with _model(scripted.url, token=TOKEN) as model:
        predictions = model.predict(_text_items(HELD_OUT, 1))
    assert [(p.item_id, p.confidence) for p in predictions] == [(1, 0.9), (2, 0.7)]
    assert _versions(predictions) == ["top-level", "top-level"]
    setup, predict = (json.loads(body) for _, _, _, body in scripted.hits)
    assert setup["schema"] == label_config(TEXT_SCHEMA) and setup["project"] == "1.1"
    assert predict["tasks"][0] == {"id": 1, "data": {"text": HELD_OUT[0][0]}}
    assert predict["label_config"] == label_config(TEXT_SCHEMA) and predict["model_version"] == "v7"
    assert all(headers["Authorization"] == f"Token {TOKEN}" for _, _, headers, _ in scripted.hits)


def test_boxes_and_transcripts_come_back_in_kolam_units(scripted: Scripted) -> None:
    """Percent boxes become original pixels (size from the item); audio regions become language-tagged segments."""
    _ok_setup(scripted)
    box = {
        "type": "rectanglelabels",
        "value": {"x": 10, "y": 50, "width": 25, "height": 50, "rectanglelabels": ["bus"]},
    }
    region = {"start": 0.5, "end": 2.25}
    speech = [
        {"id": "r1", "type": "labels", "value": {**region, "labels": ["ta"]}},
        {"id": "r1", "type": "textarea", "value": {**region, "text": ["வணக்கம்"]}, "score": 0.6},
    ]
    scripted.routes[("POST", "/predict")] = [(200, {"results": [{"result": [box]}]}), (200, {"results": [speech]})]
    photo = ModelItem(item_id=5, media="image", meta={"width": 640, "height": 480})
    clip = ModelItem(item_id=6, media="audio", meta={"duration": 3.0})

    with ExternalModel(scripted.url, schema=BOXES, media_url=lambda item: f"https://kolam.test/m/{item.item_id}") as m:
        [boxes] = m.predict([photo])
    with ExternalModel(scripted.url, schema=SPEECH, media_url=lambda item: f"https://kolam.test/m/{item.item_id}") as m:
        [words] = m.predict([clip])
    assert boxes.value["boxes"] == [{"x": 64.0, "y": 240.0, "w": 160.0, "h": 240.0, "label": "bus"}]
    assert words.value["segments"] == [{"start": 0.5, "end": 2.25, "text": "வணக்கம்", "language": "ta"}]
    assert words.confidence == 0.6  # the region's score when the prediction has none of its own
    predicts = [json.loads(body) for _, path, _, body in scripted.hits if path == "/predict"]
    assert predicts[0]["tasks"] == [{"id": 5, "data": {"image": "https://kolam.test/m/5"}}]
    assert predicts[1]["tasks"] == [{"id": 6, "data": {"audio": "https://kolam.test/m/6"}}]
    assert "<RectangleLabels" in predicts[0]["label_config"] and "<TextArea" in predicts[1]["label_config"]


def test_read_calls_retry_a_flaky_server_but_training_is_sent_once(scripted: Scripted) -> None:
    _ok_setup(scripted)
    ham = {"result": [{"type": "choices", "value": {"choices": ["ham"]}}]}
    scripted.routes[("POST", "/predict")] = [(503, b"warming up"), (200, {"results": [ham]})]
    scripted.routes[("POST", "/webhook")] = [(503, b"busy")]
    with _model(scripted.url, retries=2) as model:
        assert _labels(model.predict(_text_items(HELD_OUT[:1], 1))) == ["ham"]
        with pytest.raises(ExternalModelError, match="webhook answered 503: busy"):
            model.fit(_text_items(TRAIN[:1], 1), [{"labels": ["spam"]}])
    paths = [path for _, path, _, _ in scripted.hits]
    assert paths == ["/setup", "/predict", "/predict", "/webhook"]


def test_training_falls_back_to_train_and_reports_a_failed_run(scripted: Scripted) -> None:
    scripted.routes[("POST", "/train")] = [(201, {"status": "error", "error": "CUDA out of memory"})]
    with _model(scripted.url) as model, pytest.raises(ExternalModelError, match=r"training failed.*CUDA out of"):
        model.fit(_text_items(TRAIN[:2], 1), [{"labels": ["spam"]}, {"labels": ["ham"]}])
    webhook, train = (json.loads(body) for _, _, _, body in scripted.hits)
    assert webhook["action"] == "START_TRAINING" and webhook["project"]["id"] == 1
    task = webhook["annotations"][0]
    assert task["data"] == {"text": TRAIN[0][0]}
    assert task["annotations"][0]["result"][0]["value"] == {"choices": ["spam"]}
    assert train["annotations"] == webhook["annotations"] and train["project"] == "1.1"


def test_a_slow_server_times_out_with_a_clear_message(scripted: Scripted) -> None:
    scripted.routes[("GET", "/health")] = [(200, {"status": "UP"}, 1.5)]
    with _model(scripted.url, timeout=0.3) as model, pytest.raises(ExternalModelError) as err:
        model.health()
    assert err.value.message == f"GET {scripted.url}/health: timed out waiting for an answer (limit 0.3 s)"


# ---------------------------------------------------------------------- answers ↔ Label Studio results

BOXES = parse_schema("image_boxes", {"labels": [{"name": "car"}, {"name": "bus"}]})
SPEECH = parse_schema("transcription", {"languages": ["ta", "en"]})


@pytest.mark.parametrize(
    ("schema", "value", "extra"),
    [
        (TEXT_SCHEMA, {"labels": ["ham"], "spans": [{"start": 4, "end": 9, "label": "ham"}]}, {}),
        (BOXES, {"boxes": [{"x": 64.0, "y": 48.0, "w": 320.0, "h": 96.0, "label": "car"}]}, {"image_size": (640, 480)}),
        (BOXES, {"boxes": [{"x": 0.0, "y": 0.0, "w": 10.0, "h": 10.0, "label": None}]}, {"image_size": (640, 480)}),
        (
            SPEECH,
            {
                "segments": [
                    {"start": 0.0, "end": 1.5, "text": "வணக்கம்", "language": "ta"},
                    {"start": 1.5, "end": 2.0, "text": "hi", "language": None},
                ]
            },
            {},
        ),
    ],
    ids=["text-spans", "box", "unlabelled-box", "segments"],
)
def test_answers_survive_a_trip_through_label_studio_results(
    schema: LabelSchemaDef, value: dict[str, Any], extra: dict[str, Any]
) -> None:
    canonical = validate_answer(schema, value)
    assert from_results(schema, to_results(schema, value, **extra)) == canonical


def test_boxes_travel_in_percent_of_the_original_image() -> None:
    (result,) = to_results(
        BOXES, {"boxes": [{"x": 64, "y": 48, "w": 320, "h": 96, "label": "bus"}]}, image_size=(640, 480)
    )
    assert result["value"] == {
        "x": 10.0,
        "y": 10.0,
        "width": 50.0,
        "height": 20.0,
        "rotation": 0,
        "rectanglelabels": ["bus"],
    }
    assert (result["original_width"], result["original_height"]) == (640, 480)


@pytest.mark.parametrize(
    ("schema", "results", "message"),
    [
        (
            BOXES,
            [
                {
                    "type": "rectanglelabels",
                    "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rectanglelabels": ["car"]},
                }
            ],
            r"result\[0\]: no original_width",
        ),
        (
            BOXES,
            [
                {
                    "type": "rectanglelabels",
                    "original_width": 10,
                    "original_height": 10,
                    "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rotation": 30},
                }
            ],
            r"result\[0\]\.value\.rotation: rotated boxes",
        ),
        (
            SPEECH,
            [{"type": "textarea", "value": {"text": ["hello"]}}],
            r"result\[0\]\.value: a text for the whole clip needs",
        ),
        (
            SPEECH,
            [{"id": "a", "type": "labels", "value": {"start": 0, "end": 1, "labels": ["fr"]}}],
            r"result\[0\]\.value\.labels: 'fr' is not a class",
        ),
        (
            TEXT_SCHEMA,
            [{"type": "choices", "value": {"choices": "spam"}}],
            r"result\[0\]\.value\.choices: must be a list of strings",
        ),
    ],
    ids=["box-without-size", "rotated-box", "clip-text-without-duration", "unknown-language", "choices-not-list"],
)
def test_a_wrong_result_is_named_in_the_error(schema: LabelSchemaDef, results: list[Any], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        from_results(schema, results)
