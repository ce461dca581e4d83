"""`vlmteach report`: write the tables, plots and html page of a benchmark run folder."""

from __future__ import annotations

import argparse

from vlmteach.bench.report import (
    DEFAULT_MAX_INSTANCES,
    load_config,
    load_results,
    summarize,
    summary_table,
    write_report,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write report.md, report.html and plots of a benchmark run")
    p.add_argument("rundir", help="run folder made by `vlmteach bench` (holds results.jsonl)")
    p.add_argument("--max-instances", type=int, default=DEFAULT_MAX_INSTANCES, metavar="N",
                   help=f"instances shown with their videos in report.html (default {DEFAULT_MAX_INSTANCES})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    paths = write_report(args.rundir, max_instances=args.max_instances)
    rows = summarize(load_results(args.rundir), load_config(args.rundir).get("methods") or ())
    print(summary_table(rows))
    print()
    for path in paths.all():
        print(f"wrote {path}")
    return 0
