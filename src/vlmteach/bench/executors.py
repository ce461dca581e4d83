"""Executors run benchmark jobs and hand each result line back to the driver, which alone appends
to results.jsonl. `local` runs them one by one in this process; `ray` (the `ray` extra) spreads them
over long-lived Ray actors that load the reasoner and teacher once and reuse them across jobs."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vlmteach.bench.jobs import Job, execute, failed_line
from vlmteach.errors import VlmteachError

EXECUTORS = ("local", "ray")

# Called by the driver for every finished job, in completion order; `budget` fills in a job's
# cost-matching budget from lines already stored, just before it is dispatched.
Sink = Callable[[Job, dict[str, Any]], None]


@dataclass
class Hooks:
    """Callbacks for a progress display: the run starts (jobs to do, jobs in all), a job starts,
    an optimizing method reports (step, loss), a job ends with its result line; `running` reports
    how many jobs are in flight (ray)."""

    start: Callable[[int, int], None] | None = None
    job_start: Callable[[Job], None] | None = None
    progress: Callable[[int, float], None] | None = None
    job_done: Callable[[Job, dict], None] | None = None
    running: Callable[[int], None] | None = None


class Executor(ABC):
    @abstractmethod
    def run(self, jobs: list[Job], rundir: Path, load_models: Callable[[], tuple[Any, Any]],
            budget: Callable[[Job], float | None], blocked: Callable[[Job], bool], sink: Sink,
            hooks: Hooks) -> dict[str, Any]:
        """Run every job; `blocked(job)` is true while a job must wait for another (its budget).
        Returns facts for config.json (e.g. the weight digests)."""


def weights_digest(model) -> str | None:
    """A short hash of a model's weights, recorded in config.json so a rerun can check them."""
    import hashlib

    net = getattr(model, "net", None)
    if net is None:
        return None
    h = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())  # bf16 too
    return h.hexdigest()[:16]


class LocalExecutor(Executor):
    """One job after another in this process (jobs are ordered so budgets are ready in time)."""

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def run(self, jobs, rundir, load_models, budget, blocked, sink, hooks):
        before = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:  # the thread count is the caller's again afterwards, whatever happened
            reasoner, teacher = load_models()
            for job in jobs:
                job.budget_s = budget(job)
                if hooks.job_start is not None:
                    hooks.job_start(job)
                sink(job, execute(job, reasoner, teacher, rundir, hooks.progress))
            return {"weights": {"reasoner": weights_digest(reasoner), "teacher": weights_digest(teacher)}}
        finally:
            torch.set_num_threads(before)


class _Worker:
    """A Ray actor: loads the models once, then runs jobs. Plain class; made remote on demand so
    that importing this module needs no ray."""

    def __init__(self, load_models: Callable[[], tuple[Any, Any]], rundir: str, threads: int):
        torch.set_num_threads(max(1, threads))
        self.reasoner, self.teacher = load_models()
        self.rundir = rundir

    def pid(self) -> int:
        return os.getpid()

    def digests(self) -> dict[str, str | None]:
        return {"reasoner": weights_digest(self.reasoner), "teacher": weights_digest(self.teacher)}

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        return execute(Job(**job), self.reasoner, self.teacher, self.rundir)


class RayExecutor(Executor):
    """Jobs on long-lived Ray actors, one job in flight per actor.

    A job whose worker dies is retried on a fresh worker, at most `max_retries` times, then recorded
    as failed with the reason; a job that fails by itself is recorded as failed at once (execute()
    catches it in the worker). Ctrl-C cancels what is in flight and stops the workers; every line
    already returned is in results.jsonl, so `--resume` does only the rest."""

    def __init__(self, address: str | None = None, workers: int | None = None, gpus_per_job: float = 0.0,
                 cpus_per_job: float = 1.0, max_retries: int = 2, init_kwargs: dict[str, Any] | None = None):
        self.address, self.workers, self.gpus, self.cpus = address, workers, gpus_per_job, cpus_per_job
        self.max_retries = max_retries
        self.init_kwargs = init_kwargs or {}
        self.actors: list[Any] = []
        self.pids: list[int] = []  # process ids of the first workers (tests kill one to check recovery)
        self.worker_deaths = 0
        self.driver_s = 0.0  # time the driver's loop spent outside ray.wait (dispatch, store, hooks)

    def _ray(self):
        try:
            import ray
        except ImportError:
            raise VlmteachError("--executor ray needs Ray: pip install 'vlmteach[ray]'") from None
        return ray

    def _count(self, ray) -> int:
        if self.workers:
            return self.workers
        res = ray.cluster_resources()
        n = res.get("GPU", 0) / self.gpus if self.gpus > 0 else res.get("CPU", 1) / max(self.cpus, 1e-9)
        if n < 1:
            raise VlmteachError(f"the Ray cluster has {res.get('GPU', 0):g} GPU(s) and {res.get('CPU', 0):g} CPU(s): "
                                f"not enough for one job of {self.gpus:g} GPU and {self.cpus:g} CPU")
        return int(n)

    def run(self, jobs, rundir, load_models, budget, blocked, sink, hooks):
        ray = self._ray()
        started_ray = not ray.is_initialized()
        if started_ray:
            ray.init(address=self.address, **self.init_kwargs)
        remote = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_restarts=0)(_Worker)
        threads = max(1, int(self.cpus))

        def new_actor():
            return remote.remote(load_models, str(rundir), threads)

        try:
            self.actors = [new_actor() for _ in range(min(self._count(ray), max(1, len(jobs))))]
            self.pids = ray.get([a.pid.remote() for a in self.actors])
            digests = ray.get(self.actors[0].digests.remote())
            self._loop(ray, deque(jobs), budget, blocked, sink, hooks, new_actor)
        except KeyboardInterrupt:
            for actor in self.actors:
                ray.kill(actor, no_restart=True)
            raise
        finally:
            self.actors = []
            if started_ray:
                ray.shutdown()
        return {"weights": digests}

    def _loop(self, ray, pending: deque, budget, blocked, sink, hooks, new_actor) -> None:
        from ray.exceptions import RayActorError, RayTaskError

        idle, inflight, deaths = list(self.actors), {}, {}
        t_loop, waited = time.perf_counter(), 0.0
        while pending or inflight:
            while idle and pending:
                job = next((j for j in pending if not blocked(j)), None)
                if job is None:
                    break
                pending.remove(job)
                job.budget_s = budget(job)
                actor = idle.pop()
                inflight[actor.run.remote(job.to_dict())] = (job, actor)
                if hooks.job_start is not None:
                    hooks.job_start(job)
            if hooks.running is not None:
                hooks.running(len(inflight))
            if not inflight:  # everything left waits on something that will never come
                for job in list(pending):
                    pending.remove(job)
                    sink(job, failed_line(job, "its budget job did not run"))
                break
            t_wait = time.perf_counter()
            done, _ = ray.wait(list(inflight), num_returns=1)
            waited += time.perf_counter() - t_wait
            for ref in done:
                job, actor = inflight.pop(ref)
                try:
                    line = ray.get(ref)
                except RayActorError as exc:  # the worker died (killed, out of memory, node lost)
                    self.worker_deaths += 1
                    self.actors.remove(actor)
                    replacement = new_actor()
                    self.actors.append(replacement)
                    idle.append(replacement)
                    deaths[job.key] = deaths.get(job.key, 0) + 1
                    if deaths[job.key] <= self.max_retries:
                        pending.appendleft(job)
                        continue
                    line = failed_line(job, f"worker died {deaths[job.key]} times ({type(exc).__name__})")
                except RayTaskError as exc:  # an error outside execute() (it catches its own)
                    line = failed_line(job, f"{type(exc).__name__}: {exc}".splitlines()[0])
                    idle.append(actor)
                else:
                    idle.append(actor)
                sink(job, line)
        self.driver_s = time.perf_counter() - t_loop - waited


def make_executor(name: str, **options: Any) -> Executor:
    if name == "local":
        return LocalExecutor(options.get("threads"))
    if name == "ray":
        return RayExecutor(options.get("address"), options.get("workers"), options.get("gpus_per_job", 0.0),
                           options.get("cpus_per_job", 1.0), options.get("max_retries", 2), options.get("init_kwargs"))
    raise VlmteachError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")

