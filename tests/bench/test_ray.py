"""The Ray executor on a local Ray instance: same results as the local executor, and a worker
killed mid-run loses and duplicates nothing."""

import json
import os
import signal

import pytest

ray = pytest.importorskip("ray")

from vlmteach.bench.executors import LocalExecutor, RayExecutor  # noqa: E402
from vlmteach.bench.runner import BenchConfig, Hooks, run_bench  # noqa: E402

METHODS = "vanilla,teacher_tto[max_steps=3;lr=1e-3]"


@pytest.fixture
def ray_env(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    temp = tmp_path_factory.mktemp("r")
    return {"num_cpus": 2, "include_dashboard": False, "_temp_dir": str(temp), "log_to_driver": False}


def config(out, **kw):
    return BenchConfig(**{"suite": "builtin", "methods": METHODS, "out": str(out), "n_per_family": 2,
                          "families": ["maze", "rotation"], **kw})


def by_key(rundir):
    lines = [json.loads(x) for x in (rundir / "results.jsonl").read_text().splitlines()]
    keys = [(x["method"], x["family"], x["index"]) for x in lines]
    assert len(keys) == len(set(keys)), "a result line was duplicated"
    return {k: x for k, x in zip(keys, lines)}


def test_ray_matches_local_and_survives_a_killed_worker(tmp_path, ray_env):
    local = by_key(run_bench(config(tmp_path / "local"), executor=LocalExecutor(threads=1)))
    executor = RayExecutor(workers=2, init_kwargs=ray_env)
    killed = []

    def kill_one(job, line):  # after the first result, kill a worker that is busy with the next job
        if not killed:
            killed.append(executor.pids[0])
            os.kill(executor.pids[0], signal.SIGKILL)

    rundir = run_bench(config(tmp_path / "ray", methods=METHODS + ",best_of_n[n=auto]"), Hooks(job_done=kill_one),
                       executor=executor)
    remote = by_key(rundir)
    assert killed and executor.worker_deaths == 1 and not ray.is_initialized()
    assert len(remote) == 12  # 4 instances x 3 methods, each exactly once
    for key, line in local.items():
        assert remote[key]["status"] == "ok"
        assert remote[key]["score"] == line["score"]  # bit-identical
        assert remote[key]["steps"] == line["steps"]
        assert remote[key]["trace"].get("losses") == line["trace"].get("losses")
    auto = [x for k, x in remote.items() if k[0] == "best_of_n[n=auto]"]
    tto = {(k[1], k[2]): x["cost"]["wall_s"] for k, x in remote.items() if k[0].startswith("teacher_tto")}
    assert all(x["status"] == "ok" for x in auto)
    assert all(x["trace"]["budget_s"] == tto[(k[1], k[2])] for k, x in remote.items() if k[0] == "best_of_n[n=auto]")
    assert json.loads((rundir / "config.json").read_text())["weights"]["reasoner"]


def test_a_deterministic_failure_is_recorded_once(tmp_path, ray_env):
    cfg = config(tmp_path / "run", methods="vanilla,best_of_n", n_per_family=1, families=["maze"])
    cfg.methods = ["vanilla", "best_of_n[n=auto]"]  # past the start-time check: a job that fails in its worker
    rundir = run_bench(cfg, executor=RayExecutor(workers=1, init_kwargs=ray_env))
    got = by_key(rundir)
    failed = got[("best_of_n[n=auto]", "maze", 0)]
    assert failed["status"] == "failed" and "budget" in failed["error"] and len(got) == 2
