"""Mutation testing of the core (issue 21): run mutmut with the fast test selection configured in
pyproject.toml ([tool.mutmut]) and print the kill rate per module.

    pip install -e '.[test]' mutmut      # mutmut is not a test dependency: the run takes a while
    python benchmarks/mutation.py        # mutmut run, then the table (about an hour on 2 cores)
    python benchmarks/mutation.py --report-only [--survivors]
    python benchmarks/mutation.py --recheck      # after new tests: check the survivors again

A mutant counts as killed when a test failed or it ran out of time (an endless loop); "no tests"
(no selected test runs the mutated function) and "survived" count against the rate. mutmut keeps
its results in mutants/, so a second run only checks what changed since. The target is >= 80% per
module; docs/testing.md lists the survivors left and why they are equivalent or accepted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The modules the issue names, as groups of files (a folder is one group).
GROUPS = {"optim/": "src/vlmteach/optim/", "methods/": "src/vlmteach/methods/",
          "bench/runner.py": "src/vlmteach/bench/runner.py", "bench/store.py": "src/vlmteach/bench/store.py",
          "tasks/base.py": "src/vlmteach/tasks/base.py"}
KILLED = {1: "killed", 3: "killed", 36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout"}
LABELS = {0: "survived", 5: "no tests", 33: "no tests", None: "not checked"}


def status(code: int | None) -> str:
    return KILLED.get(code) or LABELS.get(code, "suspicious")


def read_results(root: Path = ROOT) -> dict[str, dict[str, str]]:
    """{source file: {mutant name: status}} from mutmut's .meta files under mutants/."""
    out: dict[str, dict[str, str]] = {}
    for meta in sorted((root / "mutants" / "src").rglob("*.py.meta")):
        source = str(meta.relative_to(root / "mutants"))[: -len(".meta")]
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if codes:
            out[source] = {name: status(code) for name, code in codes.items()}
    return out


def forget_survivors(root: Path = ROOT) -> int:
    """Mark every mutant not killed as not checked, and drop mutmut's record of which tests cover what,
    so that the next run checks the survivors again against the tests as they are now. mutmut alone
    keeps a survivor's verdict until the mutated function changes."""
    n = 0
    for meta in (root / "mutants" / "src").rglob("*.py.meta"):
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        for name, code in codes.items():
            if code is not None and status(code) not in ("killed", "timeout"):
                codes[name] = None
                n += 1
        meta.write_text(json.dumps(data))
    (root / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    return n


def table(results: dict[str, dict[str, str]]) -> list[tuple[str, int, int, Counter]]:
    """(group, killed, total, counts by status) per group of GROUPS."""
    rows = []
    for group, prefix in GROUPS.items():
        counts: Counter = Counter()
        for source, mutants in results.items():
            if source.startswith(prefix):
                counts.update(mutants.values())
        killed = counts["killed"] + counts["timeout"]
        rows.append((group, killed, sum(counts.values()), counts))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--report-only", action="store_true", help="print the table from the last run; run nothing")
    ap.add_argument("--survivors", action="store_true", help="also list every mutant not killed")
    ap.add_argument("--recheck", action="store_true", help="check the survivors again (after adding tests)")
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    if args.recheck:
        print(f"{forget_survivors()} survivors to check again")
    if not args.report_only:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}  # forked workers: no thread pools to inherit
        run = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)],
                             cwd=ROOT, env=env)
        if run.returncode not in (0, 1):  # mutmut exits 1 when mutants survive
            return run.returncode
    results = read_results()
    if not results:
        print("no mutmut results under mutants/; run without --report-only first", file=sys.stderr)
        return 2
    print(f"{'module':<18}{'mutants':>8}{'checked':>8}{'killed':>8}{'rate':>7}  survived  no tests  timeout")
    for group, killed, total, c in table(results):
        checked = total - c["not checked"]
        rate = f"{killed / checked:.0%}" if checked else "-"  # of the mutants checked so far
        print(f"{group:<18}{total:>8}{checked:>8}{killed:>8}{rate:>7}  {c['survived']:>8}  {c['no tests']:>8}  "
              f"{c['timeout']:>7}")
    if args.survivors:
        for mutants in results.values():
            for name, s in mutants.items():
                if s not in ("killed", "timeout"):
                    print(f"{s:<12} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
