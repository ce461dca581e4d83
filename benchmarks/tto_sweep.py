"""Sweep teacher_tto's learning rate x step budget on development instances, to choose the tiny
reasoner's recommended setting (docs/methods.md) without touching evaluation seeds.

Instances: `--per-family` of each built-in family with seeds 990,000, 990,001, ... (inside the
teacher's training range, never evaluation seeds >= 1,000,000). Each setting runs the same
instances and noise seeds as vanilla and prints its mean score, the paired difference from vanilla
with its standard error, the mean number of steps taken and the seconds per instance.

Run: `python benchmarks/tto_sweep.py [--lr 1e-4,3e-4,1e-3] [--max-steps 2,4,8] [--per-family 4]`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from vlmteach import reasoners, teachers
from vlmteach.methods import Problem, make_method
from vlmteach.tasks import all_families

DEV_SEED = 990_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lr", default="1e-4,3e-4,1e-3")
    ap.add_argument("--max-steps", default="2,4,8")
    ap.add_argument("--per-family", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    reasoner, teacher = reasoners.load("tiny"), teachers.load("tiny")
    insts = [(fam, fam.generate(DEV_SEED + i), DEV_SEED + i) for fam in all_families() for i in range(args.per_family)]

    def run(method: str, opts: dict) -> tuple[np.ndarray, float, float]:
        m, scores, steps, start = make_method(method, opts), [], [], time.time()
        for fam, inst, seed in insts:
            result = m.run(reasoner, teacher, Problem(inst.first_frame, inst.prompt, seed))
            scores.append(fam.score(result.video, inst).total)
            steps.append(result.steps)
        return np.array(scores), float(np.mean(steps)), (time.time() - start) / len(insts)

    vanilla, _, _ = run("vanilla", {})
    print(f"{len(insts)} instances, seeds {DEV_SEED:,}-{DEV_SEED + args.per_family - 1:,}; vanilla {vanilla.mean():.4f}")
    print(f"{'lr':>8} {'steps':>5} {'score':>7} {'diff':>8} {'se':>7} {'taken':>6} {'s/inst':>7}")
    for lr in args.lr.split(","):
        for max_steps in args.max_steps.split(","):
            scores, taken, secs = run("teacher_tto", {"lr": lr, "max_steps": max_steps})
            diff = scores - vanilla
            se = diff.std(ddof=1) / np.sqrt(len(diff))
            print(f"{lr:>8} {max_steps:>5} {scores.mean():7.4f} {diff.mean():+8.4f} {se:7.4f} {taken:6.1f} {secs:7.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
