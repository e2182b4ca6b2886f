"""Truth inference on real crowds with known answers: every Kolam method beside crowd-kit's, accuracy per data set.

The data sets are small copies under `benchmarks/data/crowd/` (sources, licences and citations in its README):
each is `<name>.labels.csv.gz` (task, worker, label) and `<name>.truth.csv.gz` (task, truth). Accuracy is over
the tasks that have a known answer and at least one label (AdultContent2 lists truth for sites nobody
labelled). crowd-kit is a benchmark dependency only (`pip install crowd-kit`);
its MajorityVote breaks ties at random, so it is seeded through NumPy's global generator.

Held out: the categorical data sets of Zheng et al., "Truth Inference in Crowdsourcing: Is the Problem Solved?"
(VLDB 2017; github.com/zhydhkcws/crowd_truth_infer: Product, Dog, Face), read at run time from a local git
mirror of that repository (it carries no licence, so Kolam keeps no copy; `--held-out PATH` names the mirror's
git directory). No hyper-parameter was fitted to them (they were in view while comparing designs, so they are a
validation set, not a pristine test); Duck is left out because it is the same crowd as BlueBirds. Without the
mirror the held-out table is skipped, with a note.

    python benchmarks/bench_quality_real.py
"""

from __future__ import annotations

import argparse
import gzip
import io
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import loadavg, machine, record, say

from kolam.quality.methods import DEFAULT_METHOD, METHODS, make_method

DATA = Path(__file__).resolve().parent / "data" / "crowd"
MIRROR = Path("/work/.mirror/zhydhkcws+crowd_truth_infer/repo")
HELD_OUT = {"product": "d_jn-product", "dog": "s4_Dog data", "face": "s4_Face Sentiment Identification"}
# Kolam's registry name → crowd-kit's class (None: crowd-kit has no such method)
CROWDKIT = {"majority": "MV", "dawid_skene": "DS", "one_coin": "OneCoin", "glad": "GLAD", "mace": "MACE"}


def read(name: str) -> tuple[Any, Any]:
    import pandas as pd

    def frame(kind: str) -> Any:
        with gzip.open(DATA / f"{name}.{kind}.csv.gz", "rb") as f:
            return pd.read_csv(io.BytesIO(f.read()), dtype=str)

    return frame("labels"), frame("truth")


def read_held_out(mirror: Path, folder: str) -> tuple[Any, Any]:
    """answer.csv (question, worker, answer) and truth.csv (question, truth) from the mirror's HEAD."""
    import pandas as pd

    def frame(file: str) -> Any:
        shown = subprocess.run(
            ["git", f"--git-dir={mirror}", "show", f"HEAD:datasets/{folder}/{file}"], capture_output=True, check=True
        )
        return pd.read_csv(io.BytesIO(shown.stdout), dtype=str)

    labels = frame("answer.csv").rename(columns={"question": "task", "answer": "label"})
    return labels[["task", "worker", "label"]], frame("truth.csv").rename(columns={"question": "task"})


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
    fitted = make_method(method).fit(
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


def evaluate(sets: dict[str, tuple[Any, Any]], methods: list[str], crowdkit: bool, kind: str) -> dict[str, Any]:
    """Accuracy of every method on every set; one record per set, and the table printed as Markdown."""
    table: dict[str, dict[str, float]] = {}
    for name, (labels, truth) in sets.items():
        data = encode(labels, truth)
        row: dict[str, Any] = {
            "dataset": name, "kind": kind, "labels": len(labels), "tasks": data["n_tasks"],
            "workers": data["n_workers"], "classes": data["n_classes"], "machine": machine(),
        }  # fmt: skip
        for method in methods:
            row[f"kolam {method}"], row[f"kolam {method} s"] = kolam_accuracy(method, data)
            if crowdkit and method in CROWDKIT:
                got = crowdkit_accuracy(CROWDKIT[method], labels, truth)
                row[f"crowd-kit {method}"], row[f"crowd-kit {method} s"] = got
        table[name] = {k: v for k, v in row.items() if isinstance(v, float) and not k.endswith(" s")}
        say(kind, name, {k: round(v, 4) for k, v in table[name].items()})
        record("quality_real", row, quiet=True)
    columns = [c for c in (f"crowd-kit {m}" for m in methods) if any(c in r for r in table.values())]
    columns += [f"kolam {m}" for m in methods]
    means = {c: float(np.mean([row[c] for row in table.values() if c in row])) for c in columns}
    print(f"\n{kind}:\n| data set | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(f"{row.get(c, float('nan')):.3f}" for c in columns) + " |")
    print("| **mean** | " + " | ".join(f"**{means[c]:.4f}**" for c in columns) + " |")
    record("quality_real_mean", {"kind": kind, "datasets": list(table), **means}, quiet=True)
    return means


def verdict(kind: str, means: dict[str, float]) -> None:
    """The goal: Kolam's default beats crowd-kit's best method on mean accuracy."""
    theirs = {c: v for c, v in means.items() if c.startswith("crowd-kit ")}
    ours = means.get(f"kolam {DEFAULT_METHOD}")
    if not theirs or ours is None:
        print(f"{kind}: no verdict (crowd-kit or the default method not run)")
        return
    best = max(theirs, key=lambda c: theirs[c])
    margin = ours - theirs[best]
    state = "met" if margin > 0 else "NOT met"
    print(f"{kind}: goal {state}: Kolam {DEFAULT_METHOD} {ours:.4f} vs {best} {theirs[best]:.4f} ({margin:+.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(METHODS), help="from: " + ", ".join(METHODS))
    parser.add_argument("--no-crowdkit", action="store_true")
    parser.add_argument("--held-out", type=Path, default=MIRROR, help="git directory of the held-out mirror")
    args = parser.parse_args()
    methods = args.methods.split(",")
    started, load = time.strftime("%H:%M:%S"), loadavg()
    names = sorted(p.name.removesuffix(".labels.csv.gz") for p in DATA.glob("*.labels.csv.gz"))
    kept = evaluate({name: read(name) for name in names}, methods, not args.no_crowdkit, "kept data sets")
    held: dict[str, float] = {}
    if (args.held_out / "HEAD").exists():
        sets = {name: read_held_out(args.held_out, folder) for name, folder in HELD_OUT.items()}
        held = evaluate(sets, methods, not args.no_crowdkit, "held-out data sets")
    else:
        print(f"\nheld-out data sets skipped: no git mirror at {args.held_out} (see this script's docstring)")
    print(f"\nstarted {started} (loadavg {load}), finished {time.strftime('%H:%M:%S')} (loadavg {loadavg()})")
    verdict("kept data sets", kept)
    if held:
        verdict("held-out data sets", held)


if __name__ == "__main__":
    main()
