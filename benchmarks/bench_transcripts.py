"""Transcript consensus on real crowd transcripts: Kolam's ROVER beside crowd-kit's, WER against the reference.

CrowdSpeech (Pavlichenko et al., NeurIPS 2021 Datasets and Benchmarks; CC BY 4.0): LibriSpeech dev clips, each
transcribed by about seven crowd workers, with LibriSpeech's own text as the reference. Small copies of the
dev-clean and dev-other splits are under `benchmarks/data/crowdspeech/` (source in `data/crowd/README.md`).
Both methods see the same normalised text (lower case, letters, digits and apostrophes); WER is over the whole
split (jiwer, a dev dependency). Kolam runs twice: every worker weighted alike, then weighted by skill — each
worker's agreement with the first consensus (1 − their WER to it, over all their clips), which is what the
quality service will feed it. crowd-kit's ROVER (a benchmark extra) weighs everyone alike.

    python benchmarks/bench_transcripts.py                    # both splits, ~2 minutes
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, record, say

from kolam.quality.transcripts import rover, wer

DATA = Path(__file__).resolve().parent / "data" / "crowdspeech"


def normalise(text: str) -> str:
    return " ".join("".join(ch if ch.isalnum() or ch == "'" else " " for ch in text.lower()).split())


def read(split: str) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    crowd: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with gzip.open(DATA / f"{split}.crowd.tsv.gz", "rt", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"):
            crowd[row["clip"]].append((row["worker"], normalise(row["text"] or "")))
    with gzip.open(DATA / f"{split}.truth.tsv.gz", "rt", encoding="utf-8") as f:
        truth = {row["clip"]: normalise(row["text"]) for row in csv.DictReader(f, delimiter="\t")}
    return dict(crowd), truth


def corpus_wer(truth: dict[str, str], hypotheses: dict[str, str]) -> float:
    import jiwer

    clips = sorted(set(truth) & set(hypotheses))
    return float(jiwer.wer([truth[c] or "<empty>" for c in clips], [hypotheses[c] for c in clips]))


def kolam_rover(crowd: dict[str, list[tuple[str, str]]], skill: dict[str, float] | None) -> dict[str, str]:
    out = {}
    for clip, answers in crowd.items():
        weights = [skill.get(w, 0.5) for w, _ in answers] if skill else None
        out[clip] = rover([text for _, text in answers], weights, "en", normalize_text=False).text
    return out


def skills_from(crowd: dict[str, list[tuple[str, str]]], consensus: dict[str, str]) -> dict[str, float]:
    """Each worker's 1 − WER to the consensus over all their clips (floor 0.05: nobody weighs nothing)."""
    errors: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for clip, answers in crowd.items():
        for worker, text in answers:
            errors[worker].append((consensus[clip], text))
    return {
        w: max(0.05, 1.0 - wer(" ".join(r for r, _ in pairs), " ".join(h for _, h in pairs), "en"))
        for w, pairs in errors.items()
    }


def crowdkit_rover(crowd: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    import pandas as pd
    from crowdkit.aggregation import ROVER

    frame = pd.DataFrame(
        [(clip, worker, text) for clip, answers in crowd.items() for worker, text in answers],
        columns=["task", "worker", "text"],
    )
    predicted = ROVER(tokenizer=lambda s: s.split(" "), detokenizer=lambda t: " ".join(t)).fit_predict(frame)
    return {str(k): v for k, v in predicted.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", default="dev-clean,dev-other")
    parser.add_argument("--no-crowdkit", action="store_true")
    args = parser.parse_args()
    for split in args.splits.split(","):
        crowd, truth = read(split)
        rec: dict[str, Any] = {
            "split": split, "clips": len(crowd), "transcripts": sum(len(a) for a in crowd.values()),
            "workers": len({w for a in crowd.values() for w, _ in a}), "machine": machine(),
        }  # fmt: skip
        first = {clip: answers[0][1] for clip, answers in crowd.items()}
        rec["wer_single_transcript"] = round(corpus_wer(truth, first), 4)
        t0 = time.perf_counter()
        plain = kolam_rover(crowd, None)
        rec["kolam_rover_s"] = round(time.perf_counter() - t0, 1)
        rec["wer_kolam_rover"] = round(corpus_wer(truth, plain), 4)
        t0 = time.perf_counter()
        weighted = kolam_rover(crowd, skills_from(crowd, plain))
        rec["kolam_weighted_s"] = round(time.perf_counter() - t0, 1)
        rec["wer_kolam_rover_skill_weighted"] = round(corpus_wer(truth, weighted), 4)
        if not args.no_crowdkit:
            t0 = time.perf_counter()
            rec["wer_crowdkit_rover"] = round(corpus_wer(truth, crowdkit_rover(crowd)), 4)
            rec["crowdkit_rover_s"] = round(time.perf_counter() - t0, 1)
        say(split, {k: v for k, v in rec.items() if k != "machine"})
        record("quality_transcripts", rec, quiet=True)


if __name__ == "__main__":
    main()
