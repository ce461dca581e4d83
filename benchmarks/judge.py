"""Measure a teacher where best-of-N and test-time optimization need it: within one instance.

For `--per-family` instances of every built-in family (development seeds by default, never
evaluation seeds unless `--seed` says so), N reasoner samples plus the ground truth and its near
misses are scored by the rule-based scorer and judged by the teacher. Prints, per family and
overall, the within-instance Spearman of the teacher's loss against the true score, the AUROC per
query kind and the selection efficiency at N (see vlmteach/bench/judge.py for the definitions).

Run: `python benchmarks/judge.py [--per-family 8] [--n 8] [--seed 900000] [--weights DIR] [--save FILE.json]`
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from tqdm import tqdm

from vlmteach import reasoners, teachers
from vlmteach.bench.groups import family_groups
from vlmteach.bench.judge import WIDE, JudgedInstance, JudgeSummary, judge_instance, summarize
from vlmteach.tasks import all_families
from vlmteach.train.seeds import DEV_SEEDS

HEAD = (f"{'':<22}{'inst':>5}{'rho':>7}{'rho_all':>8}{'goal_rho':>9}{'AUC_goal':>9}{'AUC_proc':>9}"
        f"{'vanilla':>8}{'best':>7}{'oracle':>7}{'effic':>7}")


def row(name: str, s: JudgeSummary) -> str:
    return (f"{name:<22}{s.instances:>5}{s.rho:>7.3f}{s.rho_all:>8.3f}{s.goal_rho:>9.3f}{s.auroc_goal:>9.3f}"
            f"{s.auroc_process:>9.3f}{s.vanilla:>8.3f}{s.best_of_n:>7.3f}{s.pass_at_n:>7.3f}{s.efficiency:>7.2f}")


def report(insts: list[JudgedInstance], n: int) -> None:
    print(HEAD)
    for name, sub in family_groups(insts, lambda i: (i.family, i.split)):
        print(row(name, summarize(sub, n)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-family", type=int, default=8)
    ap.add_argument("--n", type=int, default=8, help="reasoner samples per instance (N of best-of-N)")
    ap.add_argument("--seed", type=int, default=DEV_SEEDS[0], help="first instance seed (default: development seeds)")
    ap.add_argument("--weights", default=None, help="folder with tiny_{reasoner,teacher} files (default: shipped)")
    ap.add_argument("--teacher-weights", default=None, help="teacher folder, if not --weights")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save", default=None, help="write every judged video as JSON here")
    ap.add_argument("--load", default=None, help="summarise a file written by --save instead of judging")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.load:
        with open(args.load) as f:
            insts = [JudgedInstance.from_json(d) for d in json.load(f)]
    else:
        reasoner = reasoners.load("tiny", args.weights)
        teacher = teachers.load("tiny", args.teacher_weights or args.weights)
        todo = [(f, args.seed + i) for f in all_families() for i in range(args.per_family)]
        start, insts = time.time(), []
        for fam, seed in tqdm(todo, desc="instances", unit="inst"):
            insts.append(judge_instance(reasoner, teacher, fam.generate(seed), args.n))
        print(f"judged {len(insts)} instances x {args.n} samples + edits in {time.time() - start:.0f} s "
              f"(seeds {args.seed:,}-{args.seed + args.per_family - 1:,})")
        if args.save:
            with open(args.save, "w") as f:
                json.dump([i.to_json() for i in insts], f)
    report(insts, args.n)
    s = summarize(insts, args.n)
    print(f"\nwithin-instance Spearman {s.rho:.3f} ({s.rho_n} instances with differing samples); "
          f"selection efficiency at N={args.n}: {s.efficiency:.2f} "
          f"(vanilla {s.vanilla:.3f}, teacher pick {s.best_of_n:.3f}, oracle pick {s.pass_at_n:.3f})")
    print(f"Spearman where the samples' scores span more than {WIDE} (secondary): {s.rho_wide:.3f} "
          f"({s.rho_wide_n} instances)")


if __name__ == "__main__":
    main()
