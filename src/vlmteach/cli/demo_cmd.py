"""`vlmteach demo`: a small built-in benchmark (vanilla, best_of_n, teacher_tto on a few instances
of every family) on the tiny world, with a report; a few minutes on 2 CPU cores."""

from __future__ import annotations

import argparse

from vlmteach.cli.bench_cmd import DEFAULT_METHODS, run_and_report
from vlmteach.cli.paths import check_output_folder

DEMO_OUT = "vlmteach-demo"
DEMO_N = 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a small built-in benchmark on the tiny world and write a report")
    p.add_argument("--out", default=DEMO_OUT, help=f"run folder (default {DEMO_OUT}); an existing one is resumed")
    p.add_argument("--n-per-family", type=int, default=DEMO_N, metavar="N",
                   help=f"instances per family (default {DEMO_N})")
    p.set_defaults(run=run, resume_hint=lambda a: f"vlmteach demo --out {a.out}")


def run(args: argparse.Namespace) -> int:
    from vlmteach.bench.runner import BenchConfig

    out = check_output_folder(args.out)
    resume = (out / "config.json").exists()
    print(f"vlmteach demo: {DEFAULT_METHODS} on {args.n_per_family} instance(s) of each built-in family, "
          f"tiny reasoner and teacher, into {out}/" + (" (resuming)" if resume else ""))
    cfg = BenchConfig(suite="builtin", methods=DEFAULT_METHODS, out=str(out), n_per_family=args.n_per_family,
                      resume=resume)
    return run_and_report(cfg)
