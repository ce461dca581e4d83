"""Compare methods on development instances, to choose recipes and defaults without touching
evaluation seeds.

Instances: `--per-family` of each built-in family with seeds from `--seed` (default: the start of the
development range, vlmteach/train/seeds.py; evaluation seeds >= 1,000,000 are refused unless
`--allow-eval`). Every method runs the same instances with the same noise seeds; each row gives the
mean score overall (the mean of the in-domain and out-of-domain means, as VBVR-Bench reports), per
split, the paired difference from the first method with its standard error (the mean over instances,
each weighing the same, so not in the overall convention: 40 in-domain instances to 12), mean optimization
steps and seconds per instance. `best_of_n[n=auto]` spends, on each instance, the wall time the budget
method (plain teacher_tto if listed, else its first variant; as `vlmteach bench` chooses) took on it,
so that method must be listed before it; the row then also gives the mean N drawn.

Run: `python benchmarks/dev_compare.py --methods 'vanilla,teacher_tto,teacher_tto[lr=1e-3;max_steps=8],oracle_tto'`
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from tqdm import tqdm

from vlmteach import reasoners, teachers
from vlmteach.bench.jobs import parse_method_list
from vlmteach.methods import split_label
from vlmteach.methods import Problem, make_method
from vlmteach.methods.registry import budget_label, needs_budget
from vlmteach.tasks import all_families
from vlmteach.train.seeds import DEV_SEEDS, EVAL_SEED_MIN


def run_method(label: str, insts, reasoner, teacher, sets: dict, budgets: list[float] | None = None) -> dict:
    """Scores, mean steps, seconds per instance and each instance's wall time (the budget of cost-matched
    methods); `budgets` gives a cost-matched method its per-instance wall time."""
    name, opts = split_label(label)
    method = make_method(name, {**sets.get(name, {}), **opts})
    scores, steps, walls, drawn, start = [], [], [], [], time.time()
    for k, (fam, inst) in enumerate(tqdm(insts, desc=label, unit="inst", leave=False, disable=None)):
        problem = Problem(inst.first_frame, inst.prompt, inst.seed, scorer=lambda v, f=fam, i=inst: f.score(v, i).total,
                          reference=inst.ground_truth, budget_s=budgets[k] if budgets is not None else None)
        result = method.run(reasoner, teacher, problem)
        scores.append(fam.score(result.video, inst).total)
        steps.append(result.steps)
        walls.append(result.cost.wall_s)
        drawn.append(len(result.trace.get("values", [])))
    return {"scores": np.array(scores), "steps": float(np.mean(steps)), "s_per_inst": (time.time() - start) / len(insts),
            "walls": walls, "mean_n": float(np.mean(drawn))}


def overall(scores: np.ndarray, split: np.ndarray) -> float:
    return float(np.mean([scores[split == s].mean() for s in ("in", "ood") if (split == s).any()]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", required=True, help="method labels as for `vlmteach bench --methods`")
    ap.add_argument("--per-family", type=int, default=4)
    ap.add_argument("--seed", type=int, default=DEV_SEEDS[0])
    ap.add_argument("--allow-eval", action="store_true", help="allow evaluation seeds (a final check, never tuning)")
    ap.add_argument("--weights", default=None, help="folder with tiny_{reasoner,teacher} files (default: shipped)")
    ap.add_argument("--teacher-weights", default=None, help="teacher folder, if not --weights")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save", default=None, help="write per-instance scores as JSON here")
    args = ap.parse_args()
    if args.seed + args.per_family > EVAL_SEED_MIN and not args.allow_eval:
        raise SystemExit(f"seeds from {EVAL_SEED_MIN:,} are evaluation seeds; pass --allow-eval for a final check")
    torch.set_num_threads(args.threads)
    reasoner = reasoners.load("tiny", args.weights)
    teacher = teachers.load("tiny", args.teacher_weights or args.weights)
    insts = [(fam, fam.generate(args.seed + i)) for fam in all_families() for i in range(args.per_family)]
    split = np.array([inst.split for _, inst in insts])
    labels = parse_method_list(args.methods)
    provider = budget_label(labels)
    for label in labels:
        if needs_budget(label) and (provider is None or labels.index(provider) > labels.index(label)):
            raise SystemExit(f"{label} spends a budget method's wall time per instance: list teacher_tto (or a variant) "
                             "before it")
    print(f"{len(insts)} instances, seeds {args.seed:,}-{args.seed + args.per_family - 1:,}")
    w = max(map(len, labels)) + 2
    print(f"{'method':<{w}}{'overall':>8}{'in':>7}{'ood':>7}{'diff':>8}{'se':>7}{'steps':>6}{'s/inst':>7}")
    base, saved, walls = None, {}, {}
    for label in labels:
        r = run_method(label, insts, reasoner, teacher, {}, walls.get(provider) if needs_budget(label) else None)
        walls[label] = r["walls"]
        s = r["scores"]
        saved[label] = s.tolist()
        if base is None:
            base = s
        d = s - base
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        print(f"{label:<{w}}{overall(s, split):8.4f}{s[split == 'in'].mean():7.3f}{s[split == 'ood'].mean():7.3f}"
              f"{d.mean():+8.4f}{se:7.4f}{r['steps']:6.1f}{r['s_per_inst']:7.2f}"
              + (f"  N {r['mean_n']:.1f}" if needs_budget(label) else ""), flush=True)
    if args.save:
        with open(args.save, "w") as f:
            json.dump({"seeds": [int(i.seed) for _, i in insts], "families": [f.name for f, _ in insts], "scores": saved}, f)


if __name__ == "__main__":
    main()
