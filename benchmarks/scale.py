"""Throughput of the Ray executor against the local one on the tiny world (CPU).

Runs the same 40-job benchmark (20 built-in instances x vanilla + teacher_tto with 8 fixed steps)
with the local executor (one process, torch's default threads, then one thread) and with the Ray executor
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

import torch

from vlmteach.bench.executors import LocalExecutor, RayExecutor
from vlmteach.bench.runner import BenchConfig, Hooks, run_bench
from vlmteach.tasks import family_names


def config(out: Path, jobs: int) -> BenchConfig:
    """2 methods x 2 instances per family x jobs/4 families (at most all 13)."""
    families = family_names()[: max(1, min(len(family_names()), jobs // 4))]
    return BenchConfig(suite="builtin", methods="vanilla,teacher_tto[fixed_steps=8;lr=1e-3]", out=str(out),
                       n_per_family=2, families=families)


class Clock:
    """Times of finished jobs, for the steady-state throughput (start-up excluded)."""

    def __init__(self):
        self.times: list[float] = []

    def hooks(self) -> Hooks:
        return Hooks(job_done=lambda job, line: self.times.append(time.perf_counter()))

    def steady(self) -> float:
        """Jobs per second between the first and the last finished job."""
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])


def scores(rundir: Path) -> dict:
    lines = [json.loads(x) for x in (rundir / "results.jsonl").read_text().splitlines()]
    return {(x["method"], x["family"], x["index"]): x["score"] for x in lines}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=40)
    args = ap.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clocks = {k: Clock() for k in ("local", "local1", "ray")}
        t0 = time.perf_counter()
        local_dir = run_bench(config(tmp / "local", args.jobs), clocks["local"].hooks(), executor=LocalExecutor())
        local_s = time.perf_counter() - t0
        jobs = len(scores(local_dir))
        t0 = time.perf_counter()
        run_bench(config(tmp / "local1", args.jobs), clocks["local1"].hooks(), executor=LocalExecutor(threads=1))
        local1_s = time.perf_counter() - t0
        ray_exec = RayExecutor(workers=args.workers, init_kwargs={
            "num_cpus": args.workers, "include_dashboard": False, "log_to_driver": False,
            "_temp_dir": str(tmp / "ray")})
        t0 = time.perf_counter()
        ray_dir = run_bench(config(tmp / "ray", args.jobs), clocks["ray"].hooks(), executor=ray_exec)
        ray_s = time.perf_counter() - t0
        same = scores(local_dir) == scores(ray_dir)
    print(f"jobs: {jobs} (tiny world, CPU, {os.cpu_count()} cores)")
    print("end to end (loading the models, and starting Ray and its workers, included); steady state (first to last result)")
    for name, label, wall in (("local", f"local executor ({threads} threads)", local_s),
                              ("local1", "local executor (1 thread)", local1_s),
                              ("ray", f"ray, {args.workers} workers", ray_s)):
        print(f"  {label:<28}{wall:7.1f} s {jobs / wall:6.2f} jobs/s   steady {clocks[name].steady():5.2f} jobs/s")
    print(f"speed-up of ray over the local executor: end to end {local_s / ray_s:.2f}x, "
          f"steady state {clocks['ray'].steady() / clocks['local'].steady():.2f}x")
    print(f"driver time per job (outside waiting on workers): {1000 * ray_exec.driver_s / jobs:.1f} ms")
    print(f"same scores as the local executor: {same}")


if __name__ == "__main__":
    main()
