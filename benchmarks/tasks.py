"""Throughput of the task suite: instances generated + ground truth rendered and scored per second.

Target (issue 2): 1,000 instances generated and their ground truth scored in under 20 s on one core,
all families together. Run: `python benchmarks/tasks.py [--total 1000] [--threads 1]`.
"""

from __future__ import annotations

import argparse
import time

import torch

from vlmteach.tasks import all_families


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=1000, help="instances over all families")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = one core)")
    parser.add_argument("--seed", type=int, default=1_000_000, help="first seed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    families = all_families()
    per = -(-args.total // len(families))
    print(f"{'family':<22}{'instances':>10}{'gen/s':>10}{'gen+score/s':>13}{'min GT score':>14}")
    grand, count = 0.0, 0
    for fam in families:
        t0 = time.perf_counter()
        insts = [fam.generate(args.seed + i) for i in range(per)]
        t1 = time.perf_counter()
        scores = [fam.score(inst.ground_truth, inst).total for inst in insts]
        t2 = time.perf_counter()
        grand += t2 - t0
        count += per
        print(f"{fam.name:<22}{per:>10}{per / (t1 - t0):>10.0f}{per / (t2 - t0):>13.0f}{min(scores):>14.3f}")
    print(f"\n{count} instances generated + ground truth scored in {grand:.2f} s "
          f"({count / grand:.0f}/s) with {args.threads} thread(s); target < 20 s for 1,000")


if __name__ == "__main__":
    main()
