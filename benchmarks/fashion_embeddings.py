"""Fashion-MNIST images, labels and EfficientNet-Lite0 embeddings for the learning benchmarks, computed once.

The images come from Debian's ``dataset-fashion-mnist`` (60,000 training images as the pool, 10,000 test images
for evaluation). Embedding 70,000 images takes minutes on this CPU, so they are computed once, in chunks that
survive an interrupted run, and cached as float16 under ``benchmarks/out/fashion/`` (gitignored); a file lock
keeps two processes from computing them at once. The encoder is ``kolam.models.image_encoder.ImageEncoder``
when it exists, else the same ONNX graph run directly (RGB, bilinear 224×224, (x − 127) / 128).

    python benchmarks/fashion_embeddings.py      # fill the cache (~6–15 min on 2 shared cores)
"""

from __future__ import annotations

import fcntl
import gzip
import struct
import sys
import time
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCE = Path("/usr/share/datasets/fashion-mnist")
CACHE = HERE / "out" / "fashion"
WEIGHTS = ROOT / "src" / "kolam" / "models" / "weights" / "efficientnet_lite0_features.onnx"
CHUNK = 2000
BATCH = 50

Split = Literal["train", "t10k"]


def _idx(path: Path, magic: int) -> NDArray[np.uint8]:
    with gzip.open(path, "rb") as f:
        data = f.read()
    found, count = struct.unpack(">II", data[:8])
    if found != magic:
        raise ValueError(f"{path}: not an IDX file of the expected kind (magic {found}, wanted {magic})")
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(count, rows, cols)
    return np.frombuffer(data, np.uint8, offset=8).reshape(count)


def images(split: Split) -> NDArray[np.uint8]:
    """(n, 28, 28) uint8 images of ``split`` ("train": 60,000; "t10k": 10,000)."""
    return _idx(SOURCE / f"{split}-images-idx3-ubyte.gz", 2051)


def labels(split: Split) -> NDArray[np.int64]:
    return _idx(SOURCE / f"{split}-labels-idx1-ubyte.gz", 2049).astype(np.int64)


def _preprocess(batch: NDArray[np.uint8]) -> NDArray[np.float32]:
    from PIL import Image

    out = np.empty((batch.shape[0], 3, 224, 224), dtype=np.float32)
    for i, image in enumerate(batch):
        big = np.asarray(Image.fromarray(image, "L").resize((224, 224), Image.Resampling.BILINEAR), np.float32)
        out[i] = (big - 127.0) / 128.0  # grey: the same plane in R, G and B
    return out


def _embed_chunk(session: object, chunk: NDArray[np.uint8]) -> NDArray[np.float16]:
    parts = []
    for begin in range(0, chunk.shape[0], BATCH):
        x = _preprocess(chunk[begin : begin + BATCH])
        parts.append(session.run(["features"], {"images": x})[0])  # type: ignore[attr-defined]
    return np.concatenate(parts).astype(np.float16)


def _compute(split: Split) -> None:
    import onnxruntime as ort

    pixels = images(split)
    parts = CACHE / f"{split}-parts"
    parts.mkdir(parents=True, exist_ok=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(WEIGHTS), options, providers=["CPUExecutionProvider"])
    t0 = time.perf_counter()
    for begin in range(0, pixels.shape[0], CHUNK):
        part = parts / f"{begin:06d}.npy"
        if part.exists():
            continue
        partial = part.with_suffix(".partial.npy")
        np.save(partial, _embed_chunk(session, pixels[begin : begin + CHUNK]))
        partial.rename(part)  # a reader of finished parts never sees a half-written one
        rate = (begin + CHUNK) / (time.perf_counter() - t0)
        print(f"{split}: {begin + CHUNK}/{pixels.shape[0]} ({rate:.0f} images/s)", file=sys.stderr, flush=True)
    whole = np.concatenate([np.load(p) for p in sorted(parts.glob("??????.npy"))])
    if whole.shape != (pixels.shape[0], 1280):
        raise RuntimeError(f"{split}: cached parts give {whole.shape}, expected ({pixels.shape[0]}, 1280)")
    np.save(CACHE / f"{split}-embeddings.npy", whole)
    for p in parts.glob("??????.npy"):
        p.unlink()
    parts.rmdir()


def embeddings(split: Split) -> NDArray[np.float32]:
    """(n, 1280) float32 embeddings of ``split``, computed and cached on first use."""
    path = CACHE / f"{split}-embeddings.npy"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with open(CACHE / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # waits while another process computes them
            if not path.exists():
                _compute(split)
    cached: NDArray[np.float32] = np.load(path).astype(np.float32)
    return cached


def embeddings_prefix(split: Split, limit: int) -> NDArray[np.float32]:
    """The first ``limit`` embeddings of ``split``, from the finished cache or, while it is still being computed
    by another process, from its finished chunks; raises if not that many are ready yet."""
    path = CACHE / f"{split}-embeddings.npy"
    if path.exists():
        head: NDArray[np.float32] = np.load(path, mmap_mode="r")[:limit].astype(np.float32)
        return head
    parts = sorted((CACHE / f"{split}-parts").glob("??????.npy"))
    ready = [p for i, p in enumerate(parts) if p.name == f"{i * CHUNK:06d}.npy"][: max(0, len(parts) - 1)]
    if len(ready) * CHUNK < limit:
        raise RuntimeError(f"only {len(ready) * CHUNK} {split} embeddings are ready, {limit} asked for")
    return np.concatenate([np.load(p) for p in ready])[:limit].astype(np.float32)


def main() -> None:
    for split in ("t10k", "train"):
        x = embeddings(split)
        print(f"{split}: {x.shape} cached at {CACHE}")


if __name__ == "__main__":
    main()
