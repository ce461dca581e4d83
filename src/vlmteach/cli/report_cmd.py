"""`vlmteach report`: write the tables, plots and html page of a benchmark run folder."""

from __future__ import annotations

import argparse

from vlmteach.cli.paths import check_output_folder
from vlmteach.errors import VlmteachError

MAX_INSTANCES = 60  # bench/report/write.py's DEFAULT_MAX_INSTANCES, here so that --help need not import the report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write report.md, report.html and plots of a benchmark run")
    p.add_argument("rundir", help="run folder made by `vlmteach bench` (holds results.jsonl)")
    p.add_argument("--max-instances", type=int, default=MAX_INSTANCES, metavar="N",
                   help=f"instances shown with their videos in report.html (default {MAX_INSTANCES})")
    p.add_argument("--official", default=None, metavar="SCORES.json",
                   help="import the VBVR-Bench kit's per-sample scores (the <model>_vbvr_results.json its "
                        "run_evaluation.py writes for RUNDIR/videos/<method>) as an Official column")
    p.add_argument("--official-method", default=None, metavar="METHOD",
                   help="the run method the kit scored, when its video paths do not say (they do when the kit "
                        "was given RUNDIR/videos/<method> as --model_path)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vlmteach.bench.report import load_config, load_results, summarize, summary_table, write_report

    check_output_folder(args.rundir, "RUNDIR")
    if args.official_method and not args.official:
        raise VlmteachError("--official-method needs --official SCORES.json")
    if args.official:
        from vlmteach.bench.official import import_official

        results = load_results(args.rundir)
        methods = list(dict.fromkeys([*(load_config(args.rundir).get("methods") or ()), *(r["method"] for r in results)]))
        matched, unmatched = import_official(args.rundir, args.official, results, methods, args.official_method)
        print(f"imported {matched} official score(s) from {args.official}")
        for line in unmatched[:10]:
            print(f"  not imported: {line}")
        if len(unmatched) > 10:
            print(f"  ... and {len(unmatched) - 10} more not imported")
        if not matched:
            raise VlmteachError(f"no sample of {args.official} matches a result of {args.rundir}; "
                                "see the lines above")
    paths = write_report(args.rundir, max_instances=args.max_instances)
    rows = summarize(load_results(args.rundir), load_config(args.rundir).get("methods") or ())
    print(summary_table(rows))
    print()
    for path in paths.all():
        print(f"wrote {path}")
    return 0
