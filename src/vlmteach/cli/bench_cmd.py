"""`vlmteach bench`: run methods over a suite into a resumable run folder, then report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vlmteach import reasoners, teachers
from vlmteach.cli.paths import check_output_folder
from vlmteach.errors import VlmteachError
from vlmteach.methods.registry import method_names

DEFAULT_METHODS = "vanilla,best_of_n,teacher_tto"
EXIT_FAILED_JOBS = 3
# bench options that define a run: not given with --resume, they are read from the run's config.json
RUN_DEFAULTS = {"suite": "builtin", "methods": DEFAULT_METHODS, "seed": 1_000_000, "reasoner": "tiny", "teacher": "tiny"}


def add_model_args(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    p.add_argument("--reasoner", default="tiny" if defaults else None,
                   help=f"reasoner as NAME or NAME:PATH, NAME one of {', '.join(reasoners.names())} "
                        "(default: the built-in tiny one)")
    p.add_argument("--teacher", default="tiny" if defaults else None,
                   help=f"teacher as NAME or NAME:PATH, NAME one of {', '.join(teachers.names())} "
                        "(default: the built-in tiny one)")
    p.add_argument("--query-writer", default=None, metavar="NAME:SPEC",
                   help="a generating teacher that writes the queries, rewrites and critiques, e.g. "
                        "openai_chat:http://127.0.0.1:8000/v1,model=Qwen3-VL-8B (API key from $OPENAI_API_KEY); "
                        "--teacher then only judges")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="a method option, repeatable, e.g. --set teacher_tto.lr=1e-3 --set best_of_n.n=auto")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="compare methods on a benchmark suite (resumable run folder)")
    p.add_argument("--suite", default=None,
                   help="builtin | builtin-id | builtin-ood | a VBVR-layout folder (default builtin)")
    p.add_argument("--methods", default=None,
                   help=f"comma list; a variant as NAME[KEY=VALUE;...] (default {DEFAULT_METHODS}); names: "
                        f"{', '.join(method_names())}")
    p.add_argument("--n-per-family", type=int, default=None, metavar="N",
                   help="instances per family (default 3 for built-in suites, all for a folder)")
    p.add_argument("--seed", type=int, default=None, help="first instance seed (>= 1,000,000; default 1,000,000)")
    p.add_argument("--families", default=None, help="comma list of families/tasks to keep (default all)")
    p.add_argument("--difficulty", type=int, default=None, help="difficulty level for built-in families (default each family's)")
    p.add_argument("--out", required=True, metavar="RUNDIR", help="run folder (config.json, results.jsonl, videos/)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in RUNDIR, skipping finished jobs; options not given are read from its "
                        "config.json, options given must agree with it")
    p.add_argument("--retry-failed", action="store_true", help="with --resume: run failed jobs again")
    p.add_argument("--no-report", action="store_true", help="skip writing the report at the end")
    p.add_argument("--executor", default="local", choices=("local", "ray"),
                   help="local: one job after another here; ray: spread over Ray workers (pip install 'vlmteach[ray]')")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="Ray cluster to join (e.g. auto or ray://head:10001); default: start a local one")
    p.add_argument("--gpus-per-job", type=float, default=0.0, metavar="F",
                   help="GPUs each Ray worker reserves (fractions share a GPU); default 0 (CPU)")
    p.add_argument("--cpus-per-job", type=float, default=1.0, metavar="F", help="CPUs each Ray worker reserves (default 1)")
    p.add_argument("--workers", type=int, default=None,
                   help="Ray workers (default: as many as the cluster's GPUs or CPUs allow)")
    p.add_argument("--threads", type=int, default=None, help="torch threads of the local executor (default torch's)")
    p.add_argument("--export-frames", default=None, choices=("model", "gt"),
                   help="folder suites: keep the reasoner's frame count in the video files, or resample to the "
                        "ground truth's (default model); files are always at first_frame.png's size and the "
                        "ground truth's fps")
    p.add_argument("--export-first", default=None, choices=("condition", "model"),
                   help="folder suites: frame 0 of the video files is the conditioning image, as image-to-video "
                        "pipelines return it, or the reasoner's own (default condition)")
    add_model_args(p, defaults=False)
    p.set_defaults(run=run, resume_hint=lambda a: f"vlmteach bench --out {a.out} --resume")


def executor_options(args: argparse.Namespace) -> dict:
    for name in ("threads", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise VlmteachError(f"--{name} must be >= 1, got {value}")
    if args.executor == "local":
        return {"threads": args.threads} if args.threads else {}
    return {"address": args.ray_address, "workers": args.workers, "gpus_per_job": args.gpus_per_job,
            "cpus_per_job": args.cpus_per_job}


def _started_with(args: argparse.Namespace) -> dict:
    """The config.json of the run --resume continues ({} when there is none yet)."""
    path = Path(args.out) / "config.json"
    if not args.resume or not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise VlmteachError(f"{path}: not valid JSON ({exc}); the run cannot be resumed from it") from None
    return config if isinstance(config, dict) else {}


def bench_config(args: argparse.Namespace, **override):
    """The run's configuration: options given, else (with --resume) the run's config.json, else defaults."""
    from vlmteach.bench.runner import BenchConfig
    from vlmteach.methods import parse_sets

    old = _started_with(args)

    def pick(given, key: str):
        return given if given is not None else old.get(key, RUN_DEFAULTS.get(key))

    # export keys not given or recorded get BenchConfig's defaults
    export = {**(old.get("export") or {}),
              **{k: v for k, v in (("frames", args.export_frames), ("first", args.export_first)) if v is not None}}
    fields = {"suite": pick(args.suite, "suite"), "methods": pick(args.methods, "methods"), "out": args.out,
              "n_per_family": pick(args.n_per_family, "n_per_family"), "seed": pick(args.seed, "seed"),
              "families": pick(args.families.split(",") if args.families else None, "families"),
              "difficulty": pick(args.difficulty, "difficulty"),
              "sets": parse_sets(args.sets) if args.sets else old.get("sets", {}),
              "reasoner": pick(args.reasoner, "reasoner"), "teacher": pick(args.teacher, "teacher"),
              "query_writer": pick(args.query_writer, "query_writer"),
              "resume": args.resume, "retry_failed": args.retry_failed,
              "executor": args.executor, "executor_options": executor_options(args), "export": export}
    fields.update(override)
    return BenchConfig(**fields)


def run_and_report(cfg, report: bool = True) -> int:
    """Run the benchmark with a progress bar; print the summary table and where the report is."""
    from vlmteach.bench.report import (
        load_config,
        load_results,
        summarize,
        summary_table,
        write_report,
    )
    from vlmteach.bench.runner import Hooks, run_bench
    from vlmteach.cli.progress import JobBar

    bar: JobBar | None = None

    def start(todo: int, total: int) -> None:
        nonlocal bar
        if todo < total:
            print(f"resuming: {total - todo} of {total} jobs already done")
        bar = JobBar(todo)

    hooks = Hooks(start=start, job_start=lambda job: bar.start(f"{job.method} {job.item_key}"),
                  progress=lambda step, loss: bar.loss(step, loss), job_done=lambda job, line: bar.done(line),
                  running=lambda n: bar.running(n))
    try:
        rundir = run_bench(cfg, hooks)
    finally:
        if bar is not None:
            bar.close()
    results = load_results(rundir)
    rows = summarize(results, load_config(rundir).get("methods") or ())
    print(summary_table(rows))
    if report:
        paths = write_report(rundir)
        print(f"report: {paths.html}\n        {paths.markdown}")
    failed = [r for r in results if r.get("status") != "ok"]
    if failed:
        print(f"{len(failed)} job(s) failed (all in {rundir / 'results.jsonl'}); the first:")
        for r in failed[:5]:
            print(f"  {r['method']} {r['split']}/{r['family']}/{int(r['index']):05d}: {r.get('error')}")
        print(f"to run them again: vlmteach bench --out {rundir} --resume --retry-failed")
        return EXIT_FAILED_JOBS
    return 0


def run(args: argparse.Namespace) -> int:
    if args.retry_failed and not args.resume:
        raise VlmteachError("--retry-failed goes with --resume (it reruns the failed jobs of an existing run)")
    check_output_folder(args.out)
    return run_and_report(bench_config(args), report=not args.no_report)
