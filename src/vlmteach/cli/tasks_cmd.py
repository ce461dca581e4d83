"""`vlmteach tasks list|make|import-vbvr`: the task catalog, instance folders in the VBVR-Bench layout,
and the import of VBVR generators' raw output into that layout."""

from __future__ import annotations

import argparse
import json
import sys

from pathlib import Path

import vlmteach
from vlmteach.cli.paths import check_output_folder
from vlmteach.errors import TaskError

# the families' catalog as tasks/registry.py writes it: read, not imported, so `tasks list` needs no torch
CATALOG = Path(vlmteach.__file__).parent / "tasks" / "catalog.json"


def register(sub: argparse._SubParsersAction) -> None:
    tasks = sub.add_parser("tasks", help="list task families or make instance folders")
    tsub = tasks.add_subparsers(dest="tasks_command", metavar="ACTION", parser_class=type(tasks))
    tsub.required = True

    ls = tsub.add_parser("list", help="families with faculty, split and difficulty range")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(run=run_list)

    mk = tsub.add_parser("make", help="write instances in the VBVR-Bench layout")
    mk.add_argument("--family", required=True, help="a family name, or 'all'")
    mk.add_argument("--n", type=int, default=1, help="instances per family (default 1)")
    mk.add_argument("--seed", type=int, default=1_000_000,
                    help="first seed; seeds S..S+N-1 (default 1,000,000, the first evaluation seed)")
    mk.add_argument("--difficulty", type=int, default=None, help="difficulty level (default: the family's)")
    mk.add_argument("--out", required=True, help="root folder of the VBVR layout")
    mk.set_defaults(run=run_make)

    imp = tsub.add_parser("import-vbvr", help="copy VBVR data generators' output into the benchmark's layout")
    imp.add_argument("src", help="a generator's output folder (<domain>_task/<domain>_NNNNNNNN/ sample folders)")
    imp.add_argument("--out", required=True, help="root of the VBVR-Bench layout to add the samples to")
    imp.add_argument("--task", default=None, metavar="ID",
                     help="the VBVR task of every sample (e.g. G-174), when metadata.json and folder names do not say")
    imp.set_defaults(run=run_import)


def catalog() -> list[dict]:
    """One record per family, as `tasks list --json` prints it."""
    if CATALOG.is_file():
        return json.loads(CATALOG.read_text())
    from vlmteach.tasks.registry import catalog as live  # a source tree without the file: ask the families

    return live()


def run_list(args: argparse.Namespace) -> int:
    rows = catalog()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'family':<22}{'faculty':<16}{'split':<7}{'difficulty':<12}summary")
    for r in rows:
        d = r["difficulty"]
        print(f"{r['name']:<22}{r['faculty']:<16}{r['split']:<7}{d['min']}..{d['max']} ({d['default']})"
              f"{'':<4}{r['summary']}")
    return 0


def _warn_training_seeds(first: int, last: int) -> None:
    """Instances of training or development seeds are fine to look at, misleading to evaluate on."""
    from vlmteach.train.seeds import EVAL_SEED_MIN, reserved_overlaps

    for name, lo, hi in reserved_overlaps(first, last):
        print(f"vlmteach: warning: seeds {first:,}..{last:,} overlap {name} seeds [{lo:,}, {hi:,}); "
              f"fine to look at, but evaluate on seeds >= {EVAL_SEED_MIN:,} (solve and bench refuse these)",
              file=sys.stderr)


def run_make(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise TaskError(f"--n must be at least 1, got {args.n}")
    if args.seed < 0:
        raise TaskError(f"--seed must be non-negative, got {args.seed}")
    from vlmteach.tasks import family_names, get_family
    from vlmteach.tasks.vbvr import write_sample

    check_output_folder(args.out)
    _warn_training_seeds(args.seed, args.seed + args.n - 1)
    names = family_names() if args.family == "all" else [args.family]
    families = [get_family(n) for n in names]  # fails early, with the known names, on a typo
    for family in families:
        family.check_difficulty(args.difficulty)
    for family in families:
        for seed in range(args.seed, args.seed + args.n):
            print(write_sample(family.generate(seed, args.difficulty), args.out))
    return 0


def run_import(args: argparse.Namespace) -> int:
    from vlmteach.tasks.vbvr_import import import_vbvr

    check_output_folder(args.out)
    done = import_vbvr(args.src, args.out, args.task)
    if not done:
        print(f"nothing new to import from {args.src} (every sample was imported into {args.out} before)")
    for item in done:
        print(f"{item.source} -> {item.dest}")
    tasks = sorted({(i.task, i.split) for i in done})
    for task, split in tasks:
        n = sum(i.task == task for i in done)
        print(f"imported {n} sample(s) of {task} ({'in-domain' if split == 'in' else 'out-of-domain'})")
    return 0
