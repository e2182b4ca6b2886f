"""Auto-accept on Fashion-MNIST: precision of the labels the model gives alone, measured against truth, and the
share of items it takes over — for several calibrations and threshold rules, with 5 % audits.

The model: ``SoftmaxHead`` (PCA 256, C 0.05) on EfficientNet-Lite0 embeddings, trained on ``--train`` labelled
pool images. A calibration slice of ``--slice`` further pool images is human-settled (its true labels stand
for the settled answers); calibration (none, temperature, or isotonic on the top-class confidence) and the
auto-accept thresholds (``auto_accept_thresholds``: one-sided Clopper–Pearson lower bound of precision ≥ 0.99
at 95 %, per class or pooled) come from it. The 10,000 test images then arrive in batches of 1,000: items
above their class's threshold are auto-accepted, 5 % of those are audited (people see the truth), and
``audits.audit_classes`` switches a class off once its audited precision's upper bound is below 0.99.

    python benchmarks/bench_auto_accept.py         # ~2 minutes once embeddings are cached
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import loadavg, machine, record, say
from fashion_embeddings import embeddings, embeddings_prefix, labels

from kolam.learning.audits import audit_classes, switch_off
from kolam.learning.auto_accept import ThresholdTable, auto_accept_thresholds
from kolam.learning.calibration import IsotonicCalibration, TemperatureScaling, softmax
from kolam.learning.heads import SoftmaxHead

K = 10


def confidences(kind: str, cal_logits: np.ndarray, cal_y: np.ndarray, logits: np.ndarray) -> tuple[Any, Any]:
    """(calibration-slice confidence, stream confidence) under calibration ``kind``."""
    if kind == "temperature":
        scaler = TemperatureScaling().fit(cal_logits, cal_y)
        return scaler.transform(cal_logits).max(axis=1), scaler.transform(logits).max(axis=1)
    raw_cal, raw = softmax(cal_logits).max(axis=1), softmax(logits).max(axis=1)
    if kind == "isotonic":
        iso = IsotonicCalibration().fit(raw_cal, cal_logits.argmax(axis=1) == cal_y)
        return iso.predict(raw_cal), iso.predict(raw)
    return raw_cal, raw


def stream(
    table: ThresholdTable, conf: np.ndarray, pred: np.ndarray, truth: np.ndarray, audits: bool, seed: int
) -> dict[str, Any]:
    """Batches of 1,000 arriving items; with ``audits``, 5 % of the accepted are checked and classes switched off."""
    rng = np.random.default_rng(seed)
    accepted = np.zeros(truth.size, dtype=bool)
    audited = np.zeros(truth.size, dtype=bool)
    off: list[int] = []
    for begin in range(0, truth.size, 1000):
        rows = np.arange(begin, min(truth.size, begin + 1000))
        take = rows[table.accepts(conf[rows], pred[rows])]
        accepted[take] = True
        if audits:
            audited[take[rng.random(take.size) < 0.05]] = True
            report = audit_classes(pred[audited], pred[audited] == truth[audited], K, target=table.target)
            table = switch_off(table, report.below_target)
            off = [int(c) for c in np.flatnonzero(report.below_target)]
    unchecked = accepted & ~audited  # audited items carry the auditor's (true) label
    hit = pred[accepted] == truth[accepted]
    return {
        "share": accepted.mean(),
        "precision": hit.mean() if hit.size else math.nan,
        "errors_left": int((pred[unchecked] != truth[unchecked]).sum()),
        "audits": int(audited.sum()),
        "switched_off": off,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=20_000, help="labelled pool images the head learns from")
    parser.add_argument("--slice", type=int, default=5_000, help="human-settled calibration slice")
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--components", type=int, default=256)
    parser.add_argument("--c", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    started, load_before = time.perf_counter(), loadavg()
    n_pool = args.train + args.slice
    x_pool, y_pool = embeddings_prefix("train", n_pool), labels("train")[:n_pool]
    x_test, y_test = embeddings("t10k"), labels("t10k")
    head = SoftmaxHead(n_components=args.components, c=args.c, seed=args.seed)
    head.fit(x_pool[: args.train], y_pool[: args.train], K, unlabelled=x_test)
    cal_logits, cal_y = head.logits(x_pool[args.train :]), y_pool[args.train :]
    logits = head.logits(x_test)
    pred = logits.argmax(axis=1)
    say(f"head on {args.train} labels: test accuracy {(pred == y_test).mean():.4f}")
    rows = []
    for kind in ("none", "temperature", "isotonic"):
        cal_conf, conf = confidences(kind, cal_logits, cal_y, logits)
        cal_pred = cal_logits.argmax(axis=1)
        for pooled in (False, True):
            for target, audits in ((args.target, False), (args.target, True), (0.95, True)):
                if target != args.target and (kind != "none" or not pooled):
                    continue  # the loose-threshold row exists to show audits catching a bad promise
                table = auto_accept_thresholds(cal_conf, cal_pred, cal_pred == cal_y, K, target=target, pooled=pooled)
                if target != args.target:  # thresholds promise 95 %, audits hold them to the real target
                    table = ThresholdTable(**{**table.__dict__, "target": args.target})
                result = stream(table, conf, pred, y_test, audits, args.seed)
                name = f"{kind}, {'pooled' if pooled else 'per class'}" + (
                    f", thresholds for {target:.0%}" if target != args.target else ""
                )
                rows.append({"calibration": name, "audits": audits, **result})
                say(name, "audits" if audits else "", f"share {result['share']:.3f} prec {result['precision']:.4f}")
    print(
        f"\nhead on {args.train:,} labels, test accuracy {100 * (pred == y_test).mean():.2f} %; "
        f"calibration slice {args.slice:,}; target {args.target:.0%} (CP lower bound, 95 %)\n"
    )
    print(
        "| calibration, thresholds | audits 5 % | share auto-accepted | precision vs truth | errors left "
        "| audits | classes switched off |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['calibration']} | {'yes' if r['audits'] else 'no'} | {100 * r['share']:.1f} % "
            f"| {100 * r['precision']:.2f} % | {r['errors_left']} | {r['audits']} | {r['switched_off'] or '—'} |"
        )
    seconds = round(time.perf_counter() - started, 1)
    print(f"\n{seconds} s, loadavg {load_before} → {loadavg()}")
    clean = [{k: (round(float(v), 4) if isinstance(v, float | np.floating) else v) for k, v in r.items()} for r in rows]
    record("auto_accept", {"args": vars(args), "rows": clean, "seconds": seconds, "machine": machine()}, quiet=True)


if __name__ == "__main__":
    main()
