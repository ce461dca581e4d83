"""The benchmark runner: a run folder with config.json (everything needed to rerun), results.jsonl
(one line per instance x method), videos/ and instances/. Resumable: done jobs are skipped, a
crash or Ctrl-C loses at most the job in flight."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vlmteach import __version__
from vlmteach.bench.executors import EXECUTORS, Executor, Hooks, make_executor
from vlmteach.bench.jobs import Job, parse_method_list
from vlmteach.bench.store import ResultStore, job_key
from vlmteach.bench.suites import Item, make_suite
from vlmteach.errors import VlmteachError
from vlmteach.methods.registry import budget_label, build_method, method_class, method_names, needs_budget, split_label
from vlmteach.reasoners import backend_class, check_lora_targets
from vlmteach.tasks.vbvr import check_export

CONFIG = "config.json"
# Keys that define the jobs and how they run; a resumed run must agree on all of them.
IDENTITY = ("suite", "n_per_family", "seed", "families", "difficulty", "sets", "reasoner", "teacher", "query_writer",
            "export")
DEFAULT_EXPORT = {"frames": "model", "first": "condition"}
# What a run that predates a key holds for it (so that it still resumes).
IDENTITY_DEFAULTS = {"export": DEFAULT_EXPORT}


@dataclass
class BenchConfig:
    suite: str = "builtin"
    methods: list[str] = field(default_factory=lambda: ["vanilla", "best_of_n", "teacher_tto"])
    out: str = "vlmteach-run"
    n_per_family: int | None = 3
    seed: int = 1_000_000
    families: list[str] | None = None
    difficulty: int | None = None
    sets: dict[str, dict[str, str]] = field(default_factory=dict)
    reasoner: str = "tiny"  # NAME or NAME:PATH
    teacher: str = "tiny"
    query_writer: str | None = None  # NAME:SPEC of a generating teacher that writes the queries (openai_chat)
    resume: bool = False
    retry_failed: bool = False
    executor: str = "local"  # local | ray
    executor_options: dict[str, Any] = field(default_factory=dict)  # see bench/executors.make_executor
    export: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EXPORT))  # folder suites' video files

    def __post_init__(self) -> None:
        self.export = {**DEFAULT_EXPORT, **self.export}
        check_export(**self.export)
        if self.n_per_family is not None and self.n_per_family < 1:
            raise VlmteachError(f"--n-per-family must be >= 1, got {self.n_per_family}")
        if self.executor not in EXECUTORS:
            raise VlmteachError(f"unknown executor {self.executor!r}; valid: {', '.join(EXECUTORS)}")
        if isinstance(self.methods, str):
            self.methods = parse_method_list(self.methods)
        backend = split_spec(self.reasoner)[0]
        for label in self.methods:  # validate every label and option before anything runs
            config = build_method(label, self.sets).config
            check_lora_targets(backend, getattr(config, "targets", None))
            check_against_defaults(label, config, backend)
        names = sorted({split_label(label)[0] for label in self.methods})
        stray = sorted(set(self.sets) - set(names))
        if stray:
            raise VlmteachError(f"--set {stray[0]}.…: {stray[0]} is not among the run's methods ({', '.join(names)}); "
                                "drop the --set or add the method to --methods")
        auto = [label for label in self.methods if needs_budget(label, self.sets)]
        if auto and budget_label(self.methods) is None:
            p = ", ".join(n for n in method_names() if method_class(n).provides_budget)
            raise VlmteachError(f"{auto[0]} spends {p}'s wall time per instance, but {p} is not in "
                                f"--methods; add it (e.g. --methods {p},{auto[0]}) or give n a number")

    def identity(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in IDENTITY}


def check_against_defaults(label: str, config: Any, backend: str) -> None:
    """Resolve a loop method's config against the reasoner backend's recommendations (its class
    attributes, so no model loads) to refuse now what every job would fail on, e.g. init_k where the
    backend's default loop is rolling. Backends without a registered class are checked per job."""
    cls = backend_class(backend)
    if cls is None or not hasattr(config, "noises"):
        return
    from vlmteach.methods.teacher_tto import step_budget

    step_budget(config, cls, label)  # resolves as the run will, naming `label` in its error


def split_spec(spec: str) -> tuple[str, str | None]:
    name, _, path = spec.partition(":")
    return name, path or None


def load_models(cfg: BenchConfig):
    """The reasoner and teacher a run uses, by spec (NAME or NAME:PATH)."""
    from vlmteach import reasoners, teachers

    r_name, r_path = split_spec(cfg.reasoner)
    t_name, t_path = split_spec(cfg.teacher)
    teacher = teachers.load(t_name, t_path)
    if cfg.query_writer:
        from vlmteach.teachers.compose import WriterJudge

        teacher = WriterJudge(teachers.load(*split_spec(cfg.query_writer)), teacher)
    return reasoners.load(r_name, r_path), teacher


def method_configs(cfg: BenchConfig) -> dict[str, dict[str, Any]]:
    return {label: asdict(build_method(label, cfg.sets).config) for label in cfg.methods}


def job_order(labels: list[str], sets: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Methods that need a budget (best_of_n n=auto) run after teacher_tto on the same instance."""
    needs = [x for x in labels if needs_budget(x, sets)]
    return [x for x in labels if x not in needs] + needs


def torch_facts(cfg: BenchConfig) -> dict[str, Any]:
    """What bit-reproducibility depends on (README, Reproducibility): torch's version, the threads each
    job runs with, and whether a GPU was there to be used."""
    import torch

    if cfg.executor == "ray":
        threads = max(1, int(cfg.executor_options.get("cpus_per_job") or 1))
    else:
        threads = cfg.executor_options.get("threads") or torch.get_num_threads()
    return {"version": torch.__version__, "threads": threads, "cuda": torch.cuda.is_available(),
            "bit_reproducible": threads == 1 and not torch.cuda.is_available()}


def write_config(rundir: Path, config: dict[str, Any]) -> None:
    """Replace config.json atomically (a crash leaves the old one or the new one, never half)."""
    tmp = rundir / f".{CONFIG}.tmp"
    tmp.write_text(json.dumps(config, indent=2))
    os.replace(tmp, rundir / CONFIG)


def prepare(cfg: BenchConfig) -> tuple[Path, ResultStore, dict[str, Any]]:
    """Create or reopen the run folder; refuse to mix runs or overwrite results."""
    rundir = Path(cfg.out)
    rundir.mkdir(parents=True, exist_ok=True)
    store = ResultStore(rundir)
    path = rundir / CONFIG
    old = json.loads(path.read_text()) if path.exists() else None
    resolved = method_configs(cfg)
    if old is not None or len(store):
        if not cfg.resume:
            raise VlmteachError(f"{rundir} already holds a run; pass --resume to continue it, or choose a new --out")
        if old is not None:
            now = {k: json.loads(json.dumps(getattr(cfg, k))) for k in IDENTITY}  # compared as JSON stores them
            diff = [f"{k}: started {old.get(k, IDENTITY_DEFAULTS.get(k))!r}, now {now[k]!r}"
                    for k in IDENTITY if old.get(k, IDENTITY_DEFAULTS.get(k)) != now[k]]
            if diff:
                raise VlmteachError(f"{rundir}: --resume with other settings than the run was started with "
                                    f"({'; '.join(diff)}); leave them out to use the run's, or choose a new --out")
            for label in cfg.methods:
                if label in old.get("method_configs", {}) and old["method_configs"][label] != resolved[label]:
                    raise VlmteachError(f"{rundir}: method {label!r} resolves to other options than when the run "
                                        "started (a changed default?); use a new --out")
    methods = list(dict.fromkeys((old or {}).get("methods", []) + cfg.methods))
    config = {**(old or {}), **cfg.identity(), "methods": methods,
              "method_configs": {**(old or {}).get("method_configs", {}), **resolved},
              "vlmteach": __version__, "python": platform.python_version(), "torch": torch_facts(cfg)}
    config.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    write_config(rundir, config)
    return rundir, store, config


def plan(items: list[Item], labels: list[str], store: ResultStore, cfg: BenchConfig) -> Iterator[Job]:
    """Jobs not yet done, instance by instance, in job_order (budgets are filled in at run time)."""
    for item in items:
        for label in job_order(labels, cfg.sets):
            if not store.done(job_key(item.key, label), cfg.retry_failed):
                yield Job(item.to_ref(), item.key, label, cfg.sets, export=dict(cfg.export))


def budget_for(job: Job, labels: list[str], store: ResultStore) -> float | None:
    """The wall time of the budget method (teacher_tto) on the job's instance, if it ran and succeeded."""
    provider = budget_label(labels)
    if not needs_budget(job.method, job.sets) or provider is None:
        return None
    ref = store.get(job_key(job.item_key, provider))
    return ref["cost"]["wall_s"] if ref and ref.get("status") == "ok" else None


def run_bench(cfg: BenchConfig, hooks: Hooks | None = None, executor: Executor | None = None) -> Path:
    """Run (or resume) a benchmark; returns the run folder. The executor (default: from cfg) runs
    the jobs; this driver alone appends their lines to results.jsonl."""
    hooks = hooks or Hooks()
    items = make_suite(cfg.suite, cfg.n_per_family, cfg.seed, cfg.families, cfg.difficulty)
    rundir, store, config = prepare(cfg)
    todo = list(plan(items, cfg.methods, store, cfg))
    if hooks.start is not None:
        hooks.start(len(todo), len(items) * len(cfg.methods))
    if not todo:
        return rundir
    executor = executor or make_executor(cfg.executor, **cfg.executor_options)
    open_keys = {job.key for job in todo}
    provider = budget_label(cfg.methods)

    def blocked(job: Job) -> bool:
        if not needs_budget(job.method, job.sets) or provider is None:
            return False
        key = job_key(job.item_key, provider)
        return key in open_keys and store.get(key) is None

    def sink(job: Job, line: dict) -> None:
        store.append(line)
        open_keys.discard(job.key)
        if hooks.job_done is not None:
            hooks.job_done(job, line)

    facts = executor.run(todo, rundir, lambda: load_models(cfg), lambda job: budget_for(job, cfg.methods, store),
                         blocked, sink, hooks)
    if "weights" not in config and facts.get("weights"):
        config["weights"] = facts["weights"]
        write_config(rundir, config)
    return rundir
