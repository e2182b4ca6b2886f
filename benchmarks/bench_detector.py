"""Box pre-labelling speed: NanoDet-m images per second end to end on this CPU, and where the time goes.

End to end is ``Detector.detect``: decode the image bytes (JPEGs at a reduced scale), turn upright, letterbox
to 416², normalise, run the network (onnxruntime), decode the boxes, NMS per class, map back to original pixels.
"Decode + letterbox" times ``load_image`` alone; the rest is the network and the box decoding. Images: Kolam's
six demo photographs (JPEG, 640×427 to 2560×1600) and, when scikit-image is installed, its seven bundled
photographs (mostly PNG, 300–741 px).

    python benchmarks/bench_detector.py                # ~1 minute on 2 busy cores
    python benchmarks/bench_detector.py --threads 1    # onnxruntime intra-op threads (default: its own)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import loadavg, machine, record, say

from kolam.models.detector import Detector, load_image

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "src" / "kolam" / "demo" / "data" / "photos"
SKIMAGE_PHOTOS = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "horse.png", "motorcycle_left.png"]


def image_sets() -> dict[str, list[bytes]]:
    sets = {"demo JPEGs (640–2560 px)": [p.read_bytes() for p in sorted(DEMO.glob("*.jpg"))]}
    if find_spec("skimage") is not None:
        data = Path(str(files("skimage") / "data"))
        sets["scikit-image photos (300–741 px)"] = [(data / n).read_bytes() for n in [*SKIMAGE_PHOTOS, "rocket.jpg"]]
    return sets


def rate(images: Sequence[bytes], rounds: int, work: Callable[[bytes], Any]) -> float:
    """Images per second over ``rounds`` passes (after one warm-up pass)."""
    for data in images:
        work(data)
    start = time.perf_counter()
    for _ in range(rounds):
        for data in images:
            work(data)
    return rounds * len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over each image set")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
    parser.add_argument("--threshold", type=float, default=0.35)
    args = parser.parse_args()

    env = machine()
    load_before = loadavg()
    start = time.perf_counter()
    detector = Detector(threads=args.threads)
    load_s = time.perf_counter() - start
    say(f"model loaded (sha256 checked) in {load_s:.2f} s; load average {load_before}")

    rows = []
    for name, images in image_sets().items():
        boxes = sum(len(b) for b in detector.detect(images, threshold=args.threshold))
        e2e = rate(images, args.rounds, lambda d: detector.detect([d], threshold=args.threshold))
        prep = rate(images, args.rounds, load_image)
        model_ms = 1000 / e2e - 1000 / prep
        rows.append((name, len(images), boxes, e2e, prep, model_ms))
        record(
            "detector",
            {
                "images": name,
                "n": len(images),
                "boxes": boxes,
                "images_per_s": round(e2e, 2),
                "decode_letterbox_per_s": round(prep, 1),
                "network_and_boxes_ms": round(model_ms, 1),
                "threads": args.threads,
                "threshold": args.threshold,
                "rounds": args.rounds,
                "model_load_s": round(load_s, 2),
                "loadavg_before": load_before,
                **env,
            },
            quiet=True,
        )

    threads = args.threads if args.threads is not None else "onnxruntime default"
    print(f"\n### Box pre-labelling: NanoDet-m on onnxruntime ({env['cores']} cores, threads: {threads})\n")
    head = f"| images | n | boxes ≥ {args.threshold:.2f} | end to end, images/s | decode + letterbox, images/s |"
    print(head + " network + boxes, ms |")
    print("|---|---|---|---|---|---|")
    for name, n, boxes, e2e, prep, model_ms in rows:
        print(f"| {name} | {n} | {boxes} | {e2e:.1f} | {prep:.0f} | {model_ms:.0f} |")
    print(
        f"\nModel load {load_s:.2f} s. Load average before {load_before}, after {loadavg()}; "
        f"CPU calibration {env['cpu_calibration_s']} s (see common.cpu_calibration); Kolam {env['kolam_rev']}."
    )


if __name__ == "__main__":
    main()
