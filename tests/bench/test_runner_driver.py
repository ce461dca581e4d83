"""The bench driver (bench/runner.py) with a scripted executor instead of models: what it plans, what
it blocks, which budget it hands out, what it writes and refuses. Fast, so mutation testing runs it."""

from __future__ import annotations

import json

import pytest

from vlmteach.bench.executors import Executor, Hooks
from vlmteach.bench.jobs import base_line
from vlmteach.bench.runner import (
    CONFIG,
    BenchConfig,
    budget_for,
    job_order,
    load_models,
    plan,
    prepare,
    run_bench,
    split_spec,
    torch_facts,
)
from vlmteach.bench.store import ResultStore, job_key
from vlmteach.bench.suites import make_suite
from vlmteach.errors import VlmteachError

AUTO = "best_of_n[n=auto]"


class Scripted(Executor):
    """Runs nothing: each job 'takes' wall_s[label] seconds; records what the driver said of it."""

    def __init__(self, wall_s=None, status="ok", facts=None, last_first=False):
        self.wall_s = wall_s or {}
        self.status, self.facts = status, facts or {}
        self.last_first = last_first  # try the jobs from the end: only `blocked` keeps a budget job waiting
        self.seen: list[tuple[str, bool, float | None]] = []  # (job key, blocked before, budget)

    def run(self, jobs, rundir, load_models, budget, blocked, sink, hooks):
        pending = list(jobs)
        while pending:
            job = next(j for j in (reversed(pending) if self.last_first else pending) if not blocked(j))
            pending.remove(job)
            job.budget_s = budget(job)
            self.seen.append((job.key, any(blocked(j) for j in pending), job.budget_s))
            line = {**base_line(job), "status": self.status, "score": 0.5,
                    "cost": {"wall_s": self.wall_s.get(job.method, 1.0)}}
            sink(job, line)
        return self.facts


def cfg(tmp_path, **kw) -> BenchConfig:
    base = dict(suite="builtin", methods=["vanilla", "teacher_tto", AUTO], out=str(tmp_path / "run"),
                n_per_family=1, families=["maze", "counting"])
    return BenchConfig(**{**base, **kw})


def results(tmp_path):
    return [json.loads(x) for x in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]


def test_budget_methods_wait_for_teacher_tto_and_get_its_wall_time(tmp_path):
    ex = Scripted(wall_s={"teacher_tto": 7.5})
    started = []
    rundir = run_bench(cfg(tmp_path), Hooks(start=lambda todo, total: started.append((todo, total))), executor=ex)
    assert started == [(6, 6)] and rundir == tmp_path / "run"
    order = [key for key, _, _ in ex.seen]
    for fam in ("in/maze/00000", "ood/counting/00000"):
        assert order.index(job_key(fam, "teacher_tto")) < order.index(job_key(fam, AUTO))
    budgets = {key: b for key, _, b in ex.seen}
    assert budgets[job_key("in/maze/00000", AUTO)] == 7.5
    assert budgets[job_key("in/maze/00000", "vanilla")] is None and budgets[job_key("in/maze/00000", "teacher_tto")] is None
    assert len(results(tmp_path)) == 6


def test_a_failed_budget_job_gives_no_budget(tmp_path):
    run_bench(cfg(tmp_path, methods=["teacher_tto", AUTO]), executor=Scripted(status="failed"))
    store = ResultStore(tmp_path / "run")
    job = next(plan(make_suite("builtin", 1, 1_000_000, ["maze"]), [AUTO], ResultStore(tmp_path / "empty"),
                    cfg(tmp_path, methods=["teacher_tto", AUTO])))
    assert budget_for(job, ["teacher_tto", AUTO], store) is None


def test_budget_for_reads_the_plain_teacher_tto_line(tmp_path):
    store = ResultStore(tmp_path)
    item = "in/maze/00000"
    store.append({"split": "in", "family": "maze", "index": 0, "method": "teacher_tto", "status": "ok",
                  "cost": {"wall_s": 3.0}})
    job = next(plan(make_suite("builtin", 1, 1_000_000, ["maze"]), [AUTO], ResultStore(tmp_path / "x"),
                    cfg(tmp_path, methods=["teacher_tto", AUTO])))
    assert job.item_key == item and budget_for(job, ["teacher_tto", AUTO], store) == 3.0
    assert budget_for(job, ["teacher_tto[lr=1]", AUTO], store) is None  # the variant's line is missing
    vanilla = next(plan(make_suite("builtin", 1, 1_000_000, ["maze"]), ["vanilla"], ResultStore(tmp_path / "y"),
                        cfg(tmp_path, methods=["vanilla"])))
    assert budget_for(vanilla, ["teacher_tto", "vanilla"], store) is None


def test_a_finished_run_does_not_start_the_executor(tmp_path):
    run_bench(cfg(tmp_path, methods=["vanilla"]), executor=Scripted())

    class Refuse(Scripted):
        def run(self, *args):
            raise AssertionError("nothing was left to run")

    started = []
    run_bench(cfg(tmp_path, methods=["vanilla"], resume=True), Hooks(start=lambda a, b: started.append((a, b))),
              executor=Refuse())
    assert started == [(0, 2)]


def test_weights_facts_are_recorded_once(tmp_path):
    run_bench(cfg(tmp_path, methods=["vanilla"]), executor=Scripted(facts={"weights": {"reasoner": "abc"}}))
    config = json.loads((tmp_path / "run" / CONFIG).read_text())
    assert config["weights"] == {"reasoner": "abc"}
    run_bench(cfg(tmp_path, methods=["vanilla", "tpo"], resume=True), executor=Scripted(facts={"weights": {"x": 1}}))
    config = json.loads((tmp_path / "run" / CONFIG).read_text())
    assert config["weights"] == {"reasoner": "abc"} and config["methods"] == ["vanilla", "tpo"]
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_plan_skips_done_jobs_and_retries_failed_ones_when_asked(tmp_path):
    items = make_suite("builtin", 1, 1_000_000, ["maze", "counting"])
    store = ResultStore(tmp_path)
    store.append({"split": "in", "family": "maze", "index": 0, "method": "vanilla", "status": "ok"})
    store.append({"split": "ood", "family": "counting", "index": 0, "method": "vanilla", "status": "failed"})
    c = cfg(tmp_path, methods=["vanilla", "tpo"])
    keys = [j.key for j in plan(items, ["vanilla", "tpo"], store, c)]
    assert keys == ["tpo|in/maze/00000", "tpo|ood/counting/00000"]
    c.retry_failed = True
    keys = [j.key for j in plan(items, ["vanilla", "tpo"], store, c)]
    assert keys == ["tpo|in/maze/00000", "vanilla|ood/counting/00000", "tpo|ood/counting/00000"]
    job = next(plan(items, ["tpo"], store, c))
    assert job.sets == c.sets and job.export == c.export and job.method == "tpo"


def test_job_order_puts_budget_methods_last():
    assert job_order([AUTO, "vanilla", "teacher_tto", "tpo"]) == ["vanilla", "teacher_tto", "tpo", AUTO]
    assert job_order(["best_of_n", "vanilla"], {"best_of_n": {"n": "auto"}}) == ["vanilla", "best_of_n"]
    assert job_order(["best_of_n", "vanilla"]) == ["best_of_n", "vanilla"]


@pytest.mark.parametrize("kw, message", [
    ({"n_per_family": 0}, "--n-per-family must be >= 1, got 0"),
    ({"executor": "slurm"}, "unknown executor 'slurm'; valid: local, ray"),
    ({"sets": {"tpo": {"rounds": "2"}}}, "--set tpo.…: tpo is not among the run's methods (best_of_n, teacher_tto, vanilla)"),
    ({"methods": ["vanilla", AUTO]}, f"{AUTO} spends teacher_tto's wall time per instance, but teacher_tto is not in "
                                     f"--methods; add it (e.g. --methods teacher_tto,{AUTO}) or give n a number"),
    ({"methods": ["vanilla", "tpo[rounds=0]"]}, "tpo.rounds: tpo.rounds must be >= 1, got 0"),
])
def test_bench_config_refuses_bad_runs(tmp_path, kw, message):
    with pytest.raises(VlmteachError) as err:
        cfg(tmp_path, **kw)
    assert message in str(err.value)


def test_bench_config_accepts_a_method_string_and_a_teacher_tto_variant_as_budget(tmp_path):
    c = cfg(tmp_path, methods="vanilla,teacher_tto[lr=1e-3],best_of_n[n=auto]", n_per_family=1)
    assert c.methods == ["vanilla", "teacher_tto[lr=1e-3]", AUTO]
    assert c.export == {"frames": "model", "first": "condition"}


def test_prepare_refuses_to_mix_runs(tmp_path):
    run_bench(cfg(tmp_path, methods=["vanilla"]), executor=Scripted())
    with pytest.raises(VlmteachError, match="already holds a run; pass --resume to continue it"):
        prepare(cfg(tmp_path, methods=["vanilla"]))
    with pytest.raises(VlmteachError) as err:
        prepare(cfg(tmp_path, methods=["vanilla"], resume=True, seed=1_000_500, n_per_family=2))
    text = str(err.value)
    assert "--resume with other settings than the run was started with" in text
    assert "n_per_family: started 1, now 2" in text and "seed: started 1000000, now 1000500" in text
    config = json.loads((tmp_path / "run" / CONFIG).read_text())
    config["method_configs"]["vanilla"]["steps"] = 9  # as if a default had changed since
    (tmp_path / "run" / CONFIG).write_text(json.dumps(config))
    with pytest.raises(VlmteachError, match="method 'vanilla' resolves to other options than when the run started"):
        prepare(cfg(tmp_path, methods=["vanilla"], resume=True))


def test_prepare_writes_the_config(tmp_path):
    rundir, store, config = prepare(cfg(tmp_path, methods=["vanilla", "teacher_tto[lr=1e-3]"]))
    on_disk = json.loads((rundir / CONFIG).read_text())
    assert on_disk == config and len(store) == 0
    assert config["methods"] == ["vanilla", "teacher_tto[lr=1e-3]"] and config["seed"] == 1_000_000
    assert config["method_configs"]["teacher_tto[lr=1e-3]"]["lr"] == 1e-3 and "created" in config
    assert config["families"] == ["maze", "counting"] and config["reasoner"] == "tiny"


def test_torch_facts(tmp_path):
    import torch

    gpu = torch.cuda.is_available()
    assert torch_facts(cfg(tmp_path, executor_options={"threads": 1})) == {
        "version": torch.__version__, "threads": 1, "cuda": gpu, "bit_reproducible": not gpu}
    assert torch_facts(cfg(tmp_path, executor_options={"threads": 3}))["bit_reproducible"] is False
    assert torch_facts(cfg(tmp_path))["threads"] == torch.get_num_threads()
    ray = cfg(tmp_path, executor="ray", executor_options={"cpus_per_job": 2.0})
    assert torch_facts(ray)["threads"] == 2
    assert torch_facts(cfg(tmp_path, executor="ray", executor_options={"cpus_per_job": 0.5}))["threads"] == 1
    assert torch_facts(cfg(tmp_path, executor="ray"))["threads"] == 1


def test_split_spec_and_load_models(tmp_path, monkeypatch):
    assert split_spec("tiny") == ("tiny", None)
    assert split_spec("wan:/m/w,steps=2") == ("wan", "/m/w,steps=2")
    assert split_spec("openai_chat:http://h:1/v1") == ("openai_chat", "http://h:1/v1")
    from vlmteach import reasoners, teachers

    from types import SimpleNamespace

    calls = []

    def fake(kind):
        def load(name, path):
            calls.append((kind, name, path))
            return SimpleNamespace(name=name, can_generate=True, cost=None)
        return load

    monkeypatch.setattr(reasoners, "load", fake("r"))
    monkeypatch.setattr(teachers, "load", fake("t"))
    r, t = load_models(cfg(tmp_path, reasoner="wan:/w", teacher="tiny"))
    assert (r.name, t.name) == ("wan", "tiny") and calls == [("t", "tiny", None), ("r", "wan", "/w")]
    r, t = load_models(cfg(tmp_path, query_writer="openai_chat:http://h/v1"))
    from vlmteach.teachers.compose import WriterJudge

    assert isinstance(t, WriterJudge) and t.name == "openai_chat+tiny"
    assert calls[-3:] == [("t", "tiny", None), ("t", "openai_chat", "http://h/v1"), ("r", "tiny", None)]


def test_blocking_holds_a_budget_job_back_whatever_order_the_executor_tries(tmp_path):
    ex = Scripted(wall_s={"teacher_tto": 4.0}, last_first=True)
    run_bench(cfg(tmp_path, families=["maze"]), executor=ex)
    order = [key for key, _, _ in ex.seen]
    assert order.index(job_key("in/maze/00000", "teacher_tto")) < order.index(job_key("in/maze/00000", AUTO))
    assert dict((k, b) for k, _, b in ex.seen)[job_key("in/maze/00000", AUTO)] == 4.0


def test_run_bench_passes_difficulty_and_executor_options(tmp_path, monkeypatch):
    import vlmteach.bench.runner as runner

    made = []
    monkeypatch.setattr(runner, "make_executor", lambda name, **kw: made.append((name, kw)) or Scripted())
    run_bench(cfg(tmp_path, methods=["vanilla"], difficulty=3, executor_options={"threads": 1}))
    assert made == [("local", {"threads": 1})]
    assert {x["difficulty"] for x in results(tmp_path)} == {3}


def test_the_config_file_and_what_a_resume_keeps(tmp_path):
    import platform
    import re

    import vlmteach

    out = tmp_path / "deep" / "er" / "run"  # parents are made
    rundir, _, config = prepare(BenchConfig(methods=["vanilla", "teacher_tto"], out=str(out), n_per_family=1,
                                            families=["maze"], sets={"teacher_tto": {"lr": "0.5"}}))
    text = (rundir / CONFIG).read_text()
    assert text == json.dumps(config, indent=2)
    assert config["method_configs"]["teacher_tto"]["lr"] == 0.5  # --set options are resolved in
    assert config["vlmteach"] == vlmteach.__version__ and config["python"] == platform.python_version()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", config["created"])
    # a resume with fewer methods keeps the others' records and the creation time
    _, _, again = prepare(BenchConfig(methods=["teacher_tto"], out=str(out), n_per_family=1, families=["maze"],
                                      sets={"teacher_tto": {"lr": "0.5"}}, resume=True))
    assert again["methods"] == ["vanilla", "teacher_tto"] and set(again["method_configs"]) == {"vanilla", "teacher_tto"}
    assert again["created"] == config["created"]


def test_a_config_from_before_a_key_existed_still_resumes(tmp_path):
    rundir, _, config = prepare(cfg(tmp_path, methods=["vanilla"]))
    for key in ("export", "method_configs"):
        del config[key]
    (rundir / CONFIG).write_text(json.dumps(config))
    prepare(cfg(tmp_path, methods=["vanilla"], resume=True))  # export: the default then; no method records


def test_results_without_a_config_are_not_overwritten(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.jsonl").write_text(json.dumps({"split": "in", "family": "maze", "index": 0,
                                                   "method": "vanilla", "status": "ok"}) + "\n")
    with pytest.raises(VlmteachError, match="already holds a run"):
        prepare(cfg(tmp_path, methods=["vanilla"]))


def test_every_changed_setting_is_named_in_one_message(tmp_path):
    prepare(cfg(tmp_path, methods=["vanilla"]))
    with pytest.raises(VlmteachError) as err:
        prepare(cfg(tmp_path, methods=["vanilla"], resume=True, seed=1_000_500, n_per_family=2))
    assert "(n_per_family: started 1, now 2; seed: started 1000000, now 1000500)" in str(err.value)


def test_load_models_passes_the_teacher_spec(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from vlmteach import reasoners, teachers

    seen = []
    monkeypatch.setattr(reasoners, "load", lambda name, path: SimpleNamespace(name=name))
    monkeypatch.setattr(teachers, "load", lambda name, path: seen.append((name, path)) or SimpleNamespace(name=name))
    load_models(cfg(tmp_path, teacher="tiny:/my/weights"))
    assert seen == [("tiny", "/my/weights")]


def test_a_budget_set_with_set_is_honoured_like_one_in_the_label(tmp_path):
    ex = Scripted(wall_s={"teacher_tto": 5.0}, last_first=True)
    done = []
    run_bench(cfg(tmp_path, methods=["best_of_n", "vanilla", "teacher_tto"], families=["maze"],
                  sets={"best_of_n": {"n": "auto"}}), Hooks(job_done=lambda job, line: done.append(line)),
              executor=ex)
    order = [key for key, _, _ in ex.seen]
    assert order.index(job_key("in/maze/00000", "teacher_tto")) < order.index(job_key("in/maze/00000", "best_of_n"))
    assert dict((k, b) for k, _, b in ex.seen)[job_key("in/maze/00000", "best_of_n")] == 5.0
    assert [x["method"] for x in done] == [k.split("|")[0] for k in order]  # job_done gets each line


def test_a_stray_set_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(VlmteachError) as err:
        cfg(tmp_path, methods=["vanilla"], sets={"tpo": {"rounds": "2"}})
    assert str(err.value) == ("--set tpo.…: tpo is not among the run's methods (vanilla); "
                              "drop the --set or add the method to --methods")
    with pytest.raises(VlmteachError, match="tpo.rounds must be >= 1"):
        cfg(tmp_path, methods=["tpo"], sets={"tpo": {"rounds": "0"}})  # --set options are validated too
