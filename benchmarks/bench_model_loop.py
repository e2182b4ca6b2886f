"""The whole model-in-the-loop on a simulated crowd: human answers per item and final dataset accuracy.

The dataset is Fashion-MNIST's 10,000 test images, or with ``--items N`` the first N training images (truth
known, never shown to the loop), answered by the crowd of ``bench_adaptive_overlap`` (100 annotators, look-alike
confusions among shirt / T-shirt / pullover / coat, per-image difficulty); skills are estimated, never given.
A ``--gold`` share of random items is labelled first by an expert (one human answer each, taken as right): as in
the service it is held out of training, calibrates the deployed head (temperature on its gold logits) and judges the
auto-accept thresholds, and is never auto-accepted (``--gold-trains`` instead trains on it and judges it out of
fold, as this benchmark did before 2026-11-28). Each round:

1. Dawid–Skene EM on all crowd answers, with the calibrated out-of-fold model prediction as the prior of each
   answered item (one answer per item has no overlap to estimate skills from; the model is the second
   opinion); gives each item's posterior with the model prior;
2. the head (``SoftmaxHead`` on EfficientNet-Lite0 embeddings, PCA 256 fitted once on every item) is trained
   on the answered items (those posteriors as soft labels) and the audited ones (the reviewer's label, settled
   as in the service) — ``--folds`` times for out-of-fold logits (5, as
   the service), once on all for the open items and gold;
3. temperature scaling on gold (the deployed head's logits, as the service when gold reaches ``min_support``);
4. each answered item's posterior = calibrated model prediction as its PRIOR × its answers' likelihood
   (``quality.overlap.posteriors`` with a per-item prior); ``decide_many`` says done / more / review; further
   answers wait until every item has been seen once (the prior is then at its strongest);
5. pooled Clopper–Pearson thresholds (``auto_accept_thresholds``, 0.99 at 95 %) from gold and audits, minus
   classes the audits switched off (``audits.audit_classes``); open items above them are labelled by the
   model, 5 % of those reviewed by a person (one answer each); ``--revoke`` re-predicts the auto-accepted
   items each round and sends back those no longer above the threshold;
6. the next batch of open items by margin of the calibrated model (``--random-share`` of it may instead be
   drawn at random and settled by the crowd alone, as extra calibration items), one answer each.

    python benchmarks/bench_model_loop.py                                        # 10k items, ~5 min
    python benchmarks/bench_model_loop.py --items 30000 --batch 2000 --gold 0.05 --revoke --audit-window 3 \
        --target 0.96 --seed S                                                   # 30k items, 2–4 min
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_adaptive_overlap import TOPS, Crowd, adaptive, fixed, flat, simulate
from common import loadavg, machine, record, say
from fashion_embeddings import embeddings, labels

from kolam.learning.audits import audit_classes
from kolam.learning.auto_accept import auto_accept_thresholds
from kolam.learning.calibration import TemperatureScaling
from kolam.learning.crossfit import stratified_folds
from kolam.learning.heads import SoftmaxHead
from kolam.learning.sampling import cold_start, margin
from kolam.learning.semi_supervised import neighbour_graph, refit_with_pseudo_labels
from kolam.quality.overlap import OverlapPolicy, decide_many, posteriors

K = 10


@dataclass
class Loop:
    """Where every item stands: answers drawn, auto-accepted (with the model's label), audited, gold."""

    n: int
    gold: np.ndarray
    counts: np.ndarray = field(init=False)
    auto: np.ndarray = field(init=False)
    auto_label: np.ndarray = field(init=False)
    audit: np.ndarray = field(init=False)
    random_share: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.n, dtype=np.int64)
        self.auto = np.zeros(self.n, dtype=bool)
        self.auto_label = np.full(self.n, -1)
        self.audit = np.zeros(self.n, dtype=bool)
        self.random_share = np.zeros(self.n, dtype=bool)

    @property
    def open(self) -> np.ndarray:
        waiting: np.ndarray = (self.counts == 0) & ~self.auto & ~self.gold
        return waiting


@dataclass
class Settings:
    batch: int
    random_share: float
    gold_share: float
    policy: OverlapPolicy
    audit_policy: OverlapPolicy
    target: float
    audit_rate: float
    components: int
    c: float
    min_support: int
    revoke: bool
    pseudo_labels: bool = False
    accept_when_due: bool = False
    revoke_below_threshold: bool = True
    audit_window: int = 0
    folds: int = 5
    gold_trains: bool = False
    consensus_judges: bool = False


def crowd_posteriors(
    crowd: Crowd, loop: Loop, item_prior: np.ndarray | None, n_iter: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Dawid–Skene EM over the answers so far, with the model's calibrated out-of-fold prediction as each
    answered item's prior when there is one (``item_prior``): with about one answer per item there is no
    overlap to tell a good annotator from a bad one, but the model is a second opinion on every item. Returns
    the class prior, each item's crowd-only posterior q (class prior × its answers), the EM posterior (model
    prior × answers: what the next head trains and calibrates on, as in Raykar et al.'s learning from crowds)
    and (tasks, answers, confusion per answer)."""
    tasks, workers, answers = flat(crowd, loop.counts)
    n, m = loop.n, crowd.n_workers
    confusions = np.broadcast_to(0.2 / (K - 1) + np.eye(K) * (0.8 - 0.2 / (K - 1)), (m, K, K)).copy()
    class_prior = np.full(K, 1.0 / K)
    for _ in range(n_iter):
        prior = class_prior if item_prior is None else item_prior
        post = posteriors(tasks, answers, confusions[workers], prior, n)
        counts = np.full((m, K, K), 0.1) + np.eye(K)  # pseudo-counts: a little belief in competence
        for label in range(K):
            given = answers == label
            np.add.at(counts[:, :, label], workers[given], post[tasks[given]])
        confusions = counts / counts.sum(axis=2, keepdims=True)
        answered = np.bincount(tasks, minlength=n) > 0
        class_prior = (post[answered].sum(axis=0) + 1.0) / (answered.sum() + K)
    q = posteriors(tasks, answers, confusions[workers], class_prior, n)
    return class_prior, q, post, (tasks, answers, confusions[workers])


def model_logits(
    base: SoftmaxHead, x: np.ndarray, targets: np.ndarray, labelled: np.ndarray, seed: int,
    graph: np.ndarray | None = None, folds: int = 5,
) -> np.ndarray:  # fmt: skip
    """Out-of-fold logits for the labelled items (``folds`` stratified folds, as ``kolam.learning.crossfit``),
    full-head logits for the others; with ``graph`` (the items' k-NN graph) each head is refitted with agreeing
    pseudo-labels, as the service trains it."""

    def fit(rows: np.ndarray) -> SoftmaxHead:
        head = fresh(base).fit(x[rows], targets[rows], K, keep_projection=True)
        if graph is None:
            return head
        return refit_with_pseudo_labels(head, x, graph, rows, targets[rows], K).head

    logits = np.empty((x.shape[0], K))
    fold = stratified_folds(targets[labelled].argmax(axis=1), folds, seed)
    for f in range(folds):
        train, held = labelled[fold != f], labelled[fold == f]
        logits[held] = fit(train).logits(x[held])
    rest = np.setdiff1d(np.arange(x.shape[0]), labelled)
    logits[rest] = fit(labelled).logits(x[rest])
    return logits


def fresh(base: SoftmaxHead) -> SoftmaxHead:
    head = SoftmaxHead(n_components=base.n_components, c=base.c)
    head.mean_, head.scale_, head.components_ = base.mean_, base.scale_, base.components_
    return head


def temperature(logits: np.ndarray, soft: np.ndarray) -> TemperatureScaling:
    """T fitted on soft labels: every item once per class, weighted by its crowd posterior."""
    m = logits.shape[0]
    return TemperatureScaling().fit(np.repeat(logits, K, axis=0), np.tile(np.arange(K), m), soft.ravel())


def run_loop(x: np.ndarray, crowd: Crowd, s: Settings, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    truth = crowd.truth
    loop = Loop(n, np.asarray(rng.random(n) < s.gold_share))  # labelled by an expert first: one human answer each
    # the audit sample is a stable property of an item, as in the service (``consensus.in_sample``): an item
    # revoked and accepted again is audited only if it was in the sample the first time
    in_audit_sample: np.ndarray = np.asarray(rng.random(n) < s.audit_rate)
    pca = SoftmaxHead(n_components=s.components, c=s.c, seed=seed).fit_projection(x)
    z = pca.transform(x)  # projected once; the heads below learn on z (their own projection is the identity)
    base = SoftmaxHead(c=s.c).fit_projection(z)
    graph = neighbour_graph(z) if s.pseudo_labels else None
    first = cold_start(z.astype(np.float32), s.batch, seed=seed)
    loop.counts[first] = 1
    off = np.zeros(K, dtype=bool)
    audited_in = np.zeros(n, dtype=np.int64)  # the round whose version accepted (and so was audited on) an item
    rounds, log = 0, []
    p_model: np.ndarray | None = None
    settled = np.zeros(n, dtype=bool)
    revoked = 0
    class_prior = np.full(K, 1.0 / K)
    while True:
        rounds += 1
        answered = loop.counts > 0
        crowd_settled = loop.random_share  # settled by the crowd alone, to judge the model
        with_model = answered & ~crowd_settled
        model_prior = None
        if p_model is not None:
            model_prior = np.where(with_model[:, None], p_model, class_prior[None, :])
        class_prior, q, learnt, (tasks, answers, confusions) = crowd_posteriors(crowd, loop, model_prior)
        targets = learnt.copy()  # answers × last round's out-of-fold model: "learning from crowds" EM
        targets[loop.gold] = np.eye(K)[truth[loop.gold]]  # gold answers are known
        targets[loop.audit] = np.eye(K)[truth[loop.audit]]  # so are reviewed items: settled, they train the head
        learn = np.flatnonzero(answered | loop.audit | (loop.gold & s.gold_trains))  # the service holds gold out
        logits = model_logits(base, z, targets, learn, seed + rounds, graph, s.folds)
        crowd_only = decide_many(q, loop.counts, s.audit_policy)
        # the calibration slice: random items settled by people alone, judged out-of-fold
        judge = np.where(loop.gold, truth, q.argmax(axis=1))  # gold: the expert's label (truth here)
        judge[loop.audit] = truth[loop.audit]  # reviewed: audits feed the precision estimate back
        sure = q.max(axis=1) >= s.target if s.consensus_judges else loop.random_share & (crowd_only == "done")
        cal = np.flatnonzero(loop.gold | loop.audit | (answered & sure))
        if not s.gold_trains and loop.gold.sum() >= s.min_support:  # the deployed head on held-out gold
            scaler = TemperatureScaling().fit(logits[loop.gold], truth[loop.gold])
        elif cal.size >= s.min_support:
            scaler = TemperatureScaling().fit(logits[cal], judge[cal])
        else:
            scaler = temperature(logits[learn], targets[learn])
        p_model = scaler.transform(logits)
        prior = np.where(with_model[:, None], p_model, class_prior[None, :])
        post = posteriors(tasks, answers, confusions, prior, n)
        decisions = decide_many(post, loop.counts, s.policy)
        decisions[crowd_settled] = crowd_only[crowd_settled]
        # audits: a reviewer confirms or corrects the model's label (one human answer each)
        checked = np.flatnonzero(loop.audit)
        if s.audit_window:  # only audits of what the last few versions accepted judge today's; a class comes back
            checked = checked[audited_in[checked] > rounds - 1 - s.audit_window]
        report = audit_classes(loop.auto_label[checked], truth[checked] == loop.auto_label[checked], K, target=s.target)
        off = report.below_target if s.audit_window else off | report.below_target
        # thresholds from the calibration slice: the model (out-of-fold) against people alone
        accepted_now = 0
        if cal.size >= s.min_support:
            table = auto_accept_thresholds(
                p_model[cal].max(axis=1),
                p_model[cal].argmax(axis=1),
                p_model[cal].argmax(axis=1) == judge[cal],
                K,
                target=s.target,
                pooled=True,
                min_support=s.min_support,
            )
            # auto-accepted labels stay provisional: each new model version re-predicts them, and one no longer
            # above its threshold (or in a class the audits switched off) goes back to people
            provisional = np.flatnonzero(loop.auto & ~loop.audit & s.revoke)
            again = p_model[provisional].argmax(axis=1)
            keep = ~off[again]
            if s.revoke_below_threshold:  # also when today's confidence is under today's threshold
                keep &= table.accepts(p_model[provisional].max(axis=1), again)
            else:  # only when the model changed its label
                keep &= again == loop.auto_label[provisional]
            loop.auto_label[provisional] = again
            loop.auto[provisional[~keep]] = False
            revoked += int((~keep).sum())
            candidates = np.flatnonzero(loop.open)
            if s.accept_when_due:  # only the items the queue would hand to people next, judged by today's model
                candidates = candidates[np.argsort(-margin(p_model[candidates]), kind="stable")[: s.batch]]
            predicted = p_model[candidates].argmax(axis=1)
            ok = table.accepts(p_model[candidates].max(axis=1), predicted) & ~off[predicted]
            new = candidates[ok]
            loop.auto[new], loop.auto_label[new] = True, predicted[ok]
            audited = new[in_audit_sample[new]]
            loop.audit[audited] = True
            audited_in[audited] = rounds
            accepted_now = new.size
        open_items = np.flatnonzero(loop.open)
        # further answers wait until the first pass is over: the model prior is then at its strongest, and
        # most unsure items become sure without another answer; audits are crowd-only and go at once
        more = answered & (decisions == "more") & (crowd_settled | (open_items.size == 0)) & ~settled
        if open_items.size == 0:  # second pass: once an item is done it stays done (no flip-flopping tail)
            settled |= answered & (decisions != "more")
        loop.counts[more] += 1
        log.append((rounds, int(answered.sum()), int(loop.auto.sum()), accepted_now, int(more.sum())))
        say(
            "round {} answered {} auto {} (+{}) more {}".format(*log[-1]),
            f"answers {loop.counts.sum()}, T {scaler.temperature_:.2f}, calibration items {cal.size}",
        )
        if open_items.size == 0 and not more.any():
            break
        if open_items.size == 0:
            continue
        take = min(s.batch - (accepted_now if s.accept_when_due else 0), open_items.size)
        n_random = min(take, round(s.random_share * take))
        randoms = rng.choice(open_items, n_random, replace=False)
        rest = np.setdiff1d(open_items, randoms)
        scores = margin(p_model[rest])
        chosen = rest[np.argsort(-scores, kind="stable")[: take - n_random]]
        loop.counts[randoms] = 1
        loop.counts[chosen] = 1
        loop.random_share[randoms] = True
    final = post.argmax(axis=1)
    final[loop.auto & ~loop.audit] = loop.auto_label[loop.auto & ~loop.audit]
    final[loop.audit] = truth[loop.audit]  # reviewed
    final[loop.gold] = truth[loop.gold]
    right = final == truth
    review = (decisions == "review") & ~loop.auto
    human = ~loop.auto | loop.audit
    auto_only = loop.auto & ~loop.audit
    tops = np.isin(truth, TOPS)
    return {
        "policy": f"model loop, batch {s.batch}, posterior target {s.policy.target}, max {s.policy.max_answers}",
        "answers_per_item": (human_answers := loop.counts + loop.gold + loop.audit).mean(),
        "answers_tops": human_answers[tops].mean(),
        "answers_others": human_answers[~tops].mean(),
        "crowd_answers_per_item": loop.counts.mean(),
        "expert_answers_per_item": (loop.gold | loop.audit).mean(),
        "accuracy": right.mean(),
        "accuracy_reviewed": (right | review).mean(),
        "review_share": review.mean(),
        "auto_share": loop.auto.mean(),
        "auto_precision": (loop.auto_label[auto_only] == truth[auto_only]).mean() if auto_only.any() else np.nan,
        "human_accuracy": right[human & ~loop.gold].mean(),
        "audits": int(loop.audit.sum()),
        "revoked": revoked,
        "classes_switched_off": [int(c) for c in np.flatnonzero(off)],
        "rounds": rounds,
        "temperature": scaler.temperature_,
        "log": log,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, default=100)
    parser.add_argument("--items", type=int, default=0, help="dataset: the first N training images (0: the test set)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--random-share", type=float, default=0.0, help="share of a batch settled by the crowd alone")
    parser.add_argument("--gold", type=float, default=0.1, help="share of items an expert labels first (gold)")
    parser.add_argument("--target", type=float, default=0.98, help="posterior an answered item needs to be done")
    parser.add_argument("--max-answers", type=int, default=5)
    parser.add_argument(
        "--crowd-target", type=float, default=0.98, help="posterior for audits and calibration items (no model)"
    )
    parser.add_argument("--auto-target", type=float, default=0.99, help="auto-accept precision target")
    parser.add_argument("--audit-rate", type=float, default=0.05)
    parser.add_argument("--components", type=int, default=256)
    parser.add_argument("--c", type=float, default=0.05)
    parser.add_argument("--min-support", type=int, default=50)
    parser.add_argument(
        "--revoke", action="store_true", help="re-predict auto-accepted items each round; send the unsure back"
    )
    parser.add_argument(
        "--audit-window",
        type=int,
        default=0,
        help="switch a class off on the audits of the last N rounds' accepts only (0: all audits, off for good)",
    )
    parser.add_argument(
        "--revoke-on",
        choices=("threshold", "change"),
        default="threshold",
        help="with --revoke, give back an auto-accepted item when today's model is under its threshold (or its "
        "class is off), or only when the model changed its label (or its class is off)",
    )
    parser.add_argument(
        "--accept-when-due",
        action="store_true",
        help="auto-accept an item only when the queue reaches it (by margin, sure items come last), not at once",
    )
    parser.add_argument(
        "--pseudo-labels", action="store_true", help="refit each head with agreeing pseudo-labels (as the service)"
    )
    parser.add_argument("--folds", type=int, default=5, help="cross-fitting folds for out-of-fold logits")
    parser.add_argument(
        "--gold-trains",
        action="store_true",
        help="train on gold and judge it out of fold (before 2026-11-28); default: held out, as the service",
    )
    parser.add_argument(
        "--consensus-judges",
        action="store_true",
        help="judge thresholds also by answered items whose crowd-only posterior reaches the auto-accept target",
    )
    parser.add_argument("--item-difficulty", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    started, load_before = time.perf_counter(), loadavg()
    if args.items:  # the first N training images instead of the test set
        truth, x = labels("train")[: args.items], embeddings("train")[: args.items]
    else:
        truth, x = labels("t10k"), embeddings("t10k")
    crowd = simulate(truth, args.annotators, 7, args.item_difficulty, args.seed)
    settings = Settings(
        batch=args.batch,
        random_share=args.random_share,
        gold_share=args.gold,
        policy=OverlapPolicy(min_answers=1, max_answers=args.max_answers, target=args.target),
        audit_policy=OverlapPolicy(min_answers=1, max_answers=7, target=args.crowd_target),
        target=args.auto_target,
        audit_rate=args.audit_rate,
        components=args.components,
        c=args.c,
        min_support=args.min_support,
        revoke=args.revoke,
        pseudo_labels=args.pseudo_labels,
        accept_when_due=args.accept_when_due,
        revoke_below_threshold=args.revoke_on == "threshold",
        audit_window=args.audit_window,
        folds=args.folds,
        gold_trains=args.gold_trains,
        consensus_judges=args.consensus_judges,
    )
    t0 = time.perf_counter()
    result = run_loop(x, crowd, settings, args.seed)
    say("model loop", f"{time.perf_counter() - t0:.0f} s, {result['rounds']} rounds")
    baselines = [fixed(crowd, 3, "DS"), adaptive(crowd, OverlapPolicy(1, args.max_answers, args.target))]
    print(
        "| policy | human answers/item (tops / others) | accuracy | auto-accepted | auto precision |"
        " to review | accuracy, review settled |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in [*baselines, result]:
        split = f" ({r['answers_tops']:.2f} / {r['answers_others']:.2f})" if "answers_tops" in r else ""
        auto = f"{100 * r['auto_share']:.1f} %" if "auto_share" in r else "—"
        prec = f"{100 * r['auto_precision']:.2f} %" if "auto_precision" in r else "—"
        rev = f"{100 * r['review_share']:.2f} %" if "review_share" in r else "—"
        settled = f"{100 * r['accuracy_reviewed']:.2f} %" if "accuracy_reviewed" in r else "—"
        name = r["policy"] + ("" if "auto_share" in r else f" ({r.get('method', 'DS')}, no model)")
        print(
            f"| {name} | {r['answers_per_item']:.2f}{split} | {100 * r['accuracy']:.2f} % | {auto} | {prec} "
            f"| {rev} | {settled} |"
        )
    print(
        f"\ncrowd {result['crowd_answers_per_item']:.3f} + expert {result['expert_answers_per_item']:.3f} "
        "answers/item; "
        f"audits {result['audits']}, auto-accepts revoked {result['revoked']}, "
        f"classes switched off {result['classes_switched_off']}, "
        f"human-settled accuracy {100 * result['human_accuracy']:.2f} %, final T {result['temperature']:.2f}"
    )
    seconds = round(time.perf_counter() - started, 1)
    print(f"{seconds} s, loadavg {load_before} → {loadavg()}")
    clean = {k: (round(float(v), 4) if isinstance(v, float | np.floating) else v) for k, v in result.items()}
    record("model_loop", {"args": vars(args), "result": clean, "seconds": seconds, "machine": machine()}, quiet=True)


if __name__ == "__main__":
    main()
