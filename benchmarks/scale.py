"""Throughput of the Ray executor against the local one on the tiny world (CPU).

Runs the same 40-job benchmark (20 built-in instances x vanilla + teacher_tto with 8 fixed steps)
with the local executor (one process, torch's default threads) and with the Ray executor
(--workers workers of one CPU each, on a local Ray instance started here), and prints wall time,
jobs per second, the speed-up, the driver's own time per job (dispatch, result store, progress:
everything outside waiting on workers), and whether both runs gave the same scores.

    python benchmarks/scale.py [--workers 2] [--jobs 40]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from vlmteach.bench.executors import LocalExecutor, RayExecutor
from vlmteach.bench.runner import BenchConfig, run_bench
from vlmteach.tasks import family_names


def config(out: Path, jobs: int) -> BenchConfig:
    families = family_names()
    n = max(1, -(-jobs // (2 * len(families))))  # instances per family so that 2 methods give >= jobs
    return BenchConfig(suite="builtin", methods="vanilla,teacher_tto[fixed_steps=8;lr=1e-3]", out=str(out),
                       n_per_family=n, families=families)


def scores(rundir: Path) -> dict:
    lines = [json.loads(x) for x in (rundir / "results.jsonl").read_text().splitlines()]
    return {(x["method"], x["family"], x["index"]): x["score"] for x in lines}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=40)
    args = ap.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        local_dir = run_bench(config(tmp / "local", args.jobs), executor=LocalExecutor())
        local_s = time.perf_counter() - t0
        jobs = len(scores(local_dir))
        ray_exec = RayExecutor(workers=args.workers, init_kwargs={
            "num_cpus": args.workers, "include_dashboard": False, "log_to_driver": False,
            "_temp_dir": str(tmp / "ray")})
        t0 = time.perf_counter()
        ray_dir = run_bench(config(tmp / "ray", args.jobs), executor=ray_exec)
        ray_s = time.perf_counter() - t0
        same = scores(local_dir) == scores(ray_dir)
    print(f"jobs: {jobs} (tiny world, CPU, {os.cpu_count()} cores)")
    print(f"local executor: {local_s:7.1f} s  {jobs / local_s:6.2f} jobs/s")
    print(f"ray, {args.workers} workers: {ray_s:7.1f} s  {jobs / ray_s:6.2f} jobs/s  (includes starting Ray and the workers)")
    print(f"speed-up: {local_s / ray_s:.2f}x")
    print(f"driver time per job (outside waiting on workers): {1000 * ray_exec.driver_s / jobs:.1f} ms")
    print(f"same scores as the local executor: {same}")


if __name__ == "__main__":
    main()
