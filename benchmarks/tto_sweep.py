"""Sweep teacher_tto's learning rate x step budget on development instances, to choose the tiny
reasoner's recommended setting (docs/methods.md) without touching evaluation seeds.

Instances: `--per-family` of each built-in family from the start of the development seed range
(vlmteach/train/seeds.py). Each setting runs the same instances and noise seeds as vanilla and prints
its overall score, the paired difference from vanilla with its standard error, the mean number of
steps taken and the seconds per instance (benchmarks/dev_compare.py does the running).

Run: `python benchmarks/tto_sweep.py [--lr 3e-4,1e-3,3e-3] [--max-steps 4,8,16] [--extra 'grad=last-step;select=judge']`
"""

from __future__ import annotations

import argparse
import sys

import dev_compare


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lr", default="3e-4,1e-3,3e-3")
    ap.add_argument("--max-steps", default="4,8,16")
    ap.add_argument("--extra", default="", help="more teacher_tto options for every setting, KEY=VALUE;...")
    ap.add_argument("--per-family", type=int, default=4)
    args, rest = ap.parse_known_args()
    extra = f";{args.extra}" if args.extra else ""
    labels = ["vanilla"] + [f"teacher_tto[lr={lr};max_steps={s}{extra}]"
                            for lr in args.lr.split(",") for s in args.max_steps.split(",")]
    sys.argv = [sys.argv[0], "--methods", ",".join(labels), "--per-family", str(args.per_family), *rest]
    dev_compare.main()


if __name__ == "__main__":
    main()
