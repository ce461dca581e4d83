"""Start-up cost of commands that need no model: wall seconds and peak memory of a fresh process.

    python benchmarks/startup.py [--repeat 5]

Prints the median wall time and the peak resident memory of each command, run as a new process
the way a user runs it (`python -m vlmteach ...`). Targets: <= 0.5 s and <= 100 MB on an idle
2-core machine. These commands must not import torch, peft, transformers or diffusers; the last
column says whether they did."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

COMMANDS = (["--help"], ["--version"], ["tasks", "list"], ["tasks", "list", "--json"], ["bench", "--help"],
            ["report", "--help"], ["score", "--help"])
HEAVY = ("torch", "peft", "transformers", "diffusers")

# one child per measurement: its own peak RSS (ru_maxrss of the children of a fresh wrapper) and wall time
PROBE = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run([sys.executable, "-m", "vlmteach", *sys.argv[1:]], stdout=subprocess.DEVNULL, check=True)
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""
IMPORTS = """
import runpy, sys
sys.argv = ["vlmteach", *sys.argv[1:]]
try:
    runpy.run_module("vlmteach", run_name="__main__")
except SystemExit:
    pass
print(",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def measure(argv: list[str], repeat: int) -> dict:
    runs = [json.loads(subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                                      check=True).stdout) for _ in range(repeat)]
    heavy = subprocess.run([sys.executable, "-c", IMPORTS.format(heavy=HEAVY), *argv], capture_output=True,
                           text=True).stderr.strip().splitlines()
    return {"wall_s": statistics.median(r["wall"] for r in runs), "rss_mb": max(r["rss_mb"] for r in runs),
            "heavy": heavy[-1] if heavy else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (default 5; the median is shown)")
    args = parser.parse_args()
    print(f"{'command':<34}{'wall s':>8}{'peak MB':>9}  heavy imports")
    for argv in COMMANDS:
        m = measure(argv, args.repeat)
        print(f"{'vlmteach ' + ' '.join(argv):<34}{m['wall_s']:>8.3f}{m['rss_mb']:>9.1f}  {m['heavy'] or 'none'}")


if __name__ == "__main__":
    main()
