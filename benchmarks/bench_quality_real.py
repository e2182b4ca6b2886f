"""Truth inference on real crowds with known answers: Kolam's methods beside crowd-kit's, accuracy per data set.

The data sets are small copies under `benchmarks/data/crowd/` (sources, licences and citations in its README):
each is `<name>.labels.csv.gz` (task, worker, label) and `<name>.truth.csv.gz` (task, truth). Accuracy is over
the tasks that have a known answer and at least one label (AdultContent2 lists truth for sites nobody
labelled). crowd-kit is a benchmark dependency only (`pip install crowd-kit`);
its MajorityVote breaks ties at random, so it is seeded through NumPy's global generator.

    python benchmarks/bench_quality_real.py
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, record, say

from kolam.quality.truth import DawidSkene, MajorityVote, OneCoinDawidSkene
from kolam.quality.truth_glad import GLAD
from kolam.quality.truth_mace import MACE

DATA = Path(__file__).resolve().parent / "data" / "crowd"
KOLAM = {"MV": MajorityVote, "DS": DawidSkene, "OneCoin": OneCoinDawidSkene, "GLAD": GLAD, "MACE": MACE}


def read(name: str) -> tuple[Any, Any]:
    import pandas as pd

    def frame(kind: str) -> Any:
        with gzip.open(DATA / f"{name}.{kind}.csv.gz", "rb") as f:
            return pd.read_csv(io.BytesIO(f.read()), dtype=str)

    return frame("labels"), frame("truth")


def encode(labels: Any, truth: Any) -> dict[str, Any]:
    """Integer codes for tasks, workers and classes (classes from answers and truth together)."""
    import pandas as pd

    classes = sorted(set(labels["label"]) | set(truth["truth"]))
    tasks = pd.Index(sorted(set(labels["task"]) | set(truth["task"])))
    workers = pd.Index(sorted(set(labels["worker"])))
    code = {c: i for i, c in enumerate(classes)}
    true = np.full(len(tasks), -1)
    true[tasks.get_indexer(truth["task"])] = truth["truth"].map(code).to_numpy()
    return {
        "tasks": tasks.get_indexer(labels["task"]),
        "workers": workers.get_indexer(labels["worker"]),
        "labels": labels["label"].map(code).to_numpy(),
        "truth": true,
        "n_classes": len(classes),
        "n_tasks": len(tasks),
        "n_workers": len(workers),
    }


def kolam_accuracy(method: str, data: dict[str, Any]) -> tuple[float, float]:
    t0 = time.perf_counter()
    fitted = KOLAM[method]().fit(
        data["tasks"], data["workers"], data["labels"], data["n_classes"],
        n_tasks=data["n_tasks"], n_workers=data["n_workers"],
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    answered = np.bincount(data["tasks"], minlength=data["n_tasks"]) > 0
    known = (data["truth"] >= 0) & answered  # as crowd-kit: tasks nobody answered have no prediction
    return float((fitted.labels_[known] == data["truth"][known]).mean()), seconds


def crowdkit_accuracy(method: str, labels: Any, truth: Any) -> tuple[float, float]:
    from crowdkit import aggregation

    make = {
        "MV": aggregation.MajorityVote,
        "DS": lambda: aggregation.DawidSkene(n_iter=100),
        "OneCoin": lambda: aggregation.OneCoinDawidSkene(n_iter=100),
        "GLAD": lambda: aggregation.GLAD(n_iter=100),
        "MACE": lambda: aggregation.MACE(n_iter=100),
    }[method]
    np.random.seed(0)
    t0 = time.perf_counter()
    predicted = make().fit_predict(labels.rename(columns={"label": "label"}))
    seconds = time.perf_counter() - t0
    truth_by_task = truth.set_index("task")["truth"]
    common = truth_by_task.index.intersection(predicted.index)
    return float((predicted.loc[common].astype(str) == truth_by_task.loc[common]).mean()), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(KOLAM))
    parser.add_argument("--no-crowdkit", action="store_true")
    args = parser.parse_args()
    names = sorted(p.name.removesuffix(".labels.csv.gz") for p in DATA.glob("*.labels.csv.gz"))
    methods = args.methods.split(",")
    table: dict[str, dict[str, float]] = {}
    for name in names:
        labels, truth = read(name)
        data = encode(labels, truth)
        row: dict[str, Any] = {
            "dataset": name, "labels": len(labels), "tasks": data["n_tasks"], "workers": data["n_workers"],
            "classes": data["n_classes"], "machine": machine(),
        }  # fmt: skip
        for method in methods:
            row[f"kolam_{method}"], row[f"kolam_{method}_s"] = kolam_accuracy(method, data)
            if not args.no_crowdkit:
                row[f"crowdkit_{method}"], row[f"crowdkit_{method}_s"] = crowdkit_accuracy(method, labels, truth)
        table[name] = {k: v for k, v in row.items() if isinstance(v, float) and not k.endswith("_s")}
        say(name, {k: round(v, 4) for k, v in table[name].items()})
        record("quality_real", row, quiet=True)
    columns = sorted({k for row in table.values() for k in row})
    print("| data set | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(f"{row.get(c, float('nan')):.3f}" for c in columns) + " |")
    means = {c: float(np.mean([row[c] for row in table.values() if c in row])) for c in columns}
    print("| **mean** | " + " | ".join(f"**{means[c]:.4f}**" for c in columns) + " |")
    record("quality_real_mean", {"datasets": names, **means}, quiet=True)


if __name__ == "__main__":
    main()
