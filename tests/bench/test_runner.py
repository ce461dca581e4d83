import json

import pytest

from vlmteach.bench.jobs import parse_method_list
from vlmteach.methods import split_label
from vlmteach.bench.runner import BenchConfig, Hooks, run_bench
from vlmteach.bench.store import ResultStore
from vlmteach.bench.suites import builtin_suite, make_suite
from vlmteach.errors import VlmteachError
from vlmteach.tasks import get_family
from vlmteach.tasks.vbvr import write_sample

KEYS = {"family", "seed", "split", "faculty", "method", "score", "parts", "cost", "steps", "status", "trace"}
METHODS = "vanilla,teacher_tto[max_steps=2;lr=1e-3]"


def config(out, **kw):
    base = dict(suite="builtin", methods=METHODS, out=str(out), n_per_family=1,
                families=["maze", "counting"])
    return BenchConfig(**{**base, **kw})


def lines(rundir):
    return [json.loads(x) for x in (rundir / "results.jsonl").read_text().splitlines()]


def test_a_run_writes_lines_videos_and_config(tmp_path):
    rundir = run_bench(config(tmp_path / "run"))
    got = lines(rundir)
    assert len(got) == 4 and all(set(x) >= KEYS and x["status"] == "ok" for x in got)
    assert {x["split"] for x in got} == {"in", "ood"}
    tto = [x for x in got if x["method"].startswith("teacher_tto")]
    assert all(x["steps"] <= 2 and x["trace"]["losses"] for x in tto)
    assert all(x["cost"]["wall_s"] > 0 for x in got)
    assert (rundir / "videos/vanilla/In-Domain_50/maze/00000.mp4").exists()
    assert (rundir / "videos/vanilla/Out-of-Domain_50/counting/00000.mp4").exists()
    assert (rundir / "videos/teacher_tto-max_steps=2-lr=1e-3/In-Domain_50/maze/00000.mp4").exists()
    cfg = json.loads((rundir / "config.json").read_text())
    assert cfg["method_configs"]["teacher_tto[max_steps=2;lr=1e-3]"]["max_steps"] == 2


def test_an_interrupted_run_resumes_without_loss_or_duplicates(tmp_path):
    out = tmp_path / "run"
    done = []

    def stop_after_two(job, line):
        done.append(job.key)
        if len(done) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bench(config(out), Hooks(job_done=stop_after_two))
    first = lines(out)
    assert len(first) == 2
    with pytest.raises(VlmteachError, match="--resume"):
        run_bench(config(out))
    with pytest.raises(VlmteachError, match="other settings .*seed: started"):
        run_bench(config(out, resume=True, seed=1_000_500))
    started = []
    run_bench(config(out, resume=True), Hooks(start=lambda todo, total: started.append((todo, total))))
    assert started == [(2, 4)]
    final = lines(out)
    assert final[:2] == first and len(final) == 4
    keys = [(x["method"], x["family"], x["index"]) for x in final]
    assert len(set(keys)) == 4
    run_bench(config(out, resume=True), Hooks(start=lambda todo, total: started.append((todo, total))))
    assert started[-1] == (0, 4) and len(lines(out)) == 4


def test_a_failing_job_is_recorded_not_raised(tmp_path):
    cfg = config(tmp_path / "run", methods="vanilla,best_of_n", families=["maze"])
    cfg.methods = ["vanilla", "best_of_n[n=auto]"]  # past the start-time check: a job that fails when it runs
    rundir = run_bench(cfg)
    got = {x["method"]: x for x in lines(rundir)}
    assert got["vanilla"]["status"] == "ok"
    assert got["best_of_n[n=auto]"]["status"] == "failed" and "budget" in got["best_of_n[n=auto]"]["error"]


def test_n_auto_without_teacher_tto_is_refused_before_any_job(tmp_path):
    with pytest.raises(VlmteachError, match="teacher_tto is not in --methods"):
        config(tmp_path / "run", methods="vanilla,best_of_n[n=auto]", families=["maze"])
    with pytest.raises(VlmteachError, match="teacher_tto is not in --methods"):
        config(tmp_path / "run", methods="vanilla,best_of_n", sets={"best_of_n": {"n": "auto"}})
    assert not (tmp_path / "run").exists()


def test_unknown_lora_targets_are_refused_before_any_job(tmp_path):
    with pytest.raises(VlmteachError, match="'early' are unknown; valid: late, all"):
        config(tmp_path / "run", methods="vanilla,teacher_tto[targets=early]", families=["maze"])
    with pytest.raises(VlmteachError, match="'early' are unknown"):
        config(tmp_path / "run", methods="oracle_tto", sets={"oracle_tto": {"targets": "early"}})
    assert not (tmp_path / "run").exists()
    config(tmp_path / "run", methods="teacher_tto[targets=all]", families=["maze"])
    # Wan takes any module suffixes: nothing to refuse before its model is loaded
    config(tmp_path / "run", methods="teacher_tto[targets=attn1.to_q]", reasoner="wan_tiny", families=["maze"])


def test_a_search_the_reasoners_rolling_default_cannot_take_is_refused_before_any_job(tmp_path):
    # the tiny reasoner's loop is rolling by default, which draws a new noise per step: no noise to search for
    with pytest.raises(VlmteachError, match=r"^teacher_tto\[init_k=4\]: noises=rolling draws"):
        config(tmp_path / "run", methods="vanilla,teacher_tto[init_k=4]")
    with pytest.raises(VlmteachError, match=r"^teacher_tto: noises=rolling .*stall_samples 2"):
        config(tmp_path / "run", methods="teacher_tto", sets={"teacher_tto": {"stall_samples": "2"}})
    assert not (tmp_path / "run").exists()
    config(tmp_path / "run", methods="teacher_tto[noises=fixed;init_k=4]")  # the fixed loop searches first
    config(tmp_path / "run", methods="teacher_tto[init_k=4]", reasoner="wan_tiny")  # Wan's loop is the fixed one


def test_cost_matched_best_of_n_gets_teacher_tto_budget(tmp_path):
    rundir = run_bench(config(tmp_path / "run", methods="best_of_n[n=auto],teacher_tto", families=["maze"],
                              sets={"teacher_tto": {"fixed_steps": "3", "lr": "1e-3"}}))
    got = lines(rundir)
    assert [x["method"] for x in got] == ["teacher_tto", "best_of_n[n=auto]"]  # the budget runs first
    assert got[1]["status"] == "ok" and got[1]["trace"]["budget_s"] == got[0]["cost"]["wall_s"]


def test_evaluation_seeds_never_overlap_training(tmp_path):
    with pytest.raises(VlmteachError, match="training seed range"):
        builtin_suite("builtin", 2, seed=600_000)
    with pytest.raises(VlmteachError, match="training seed range"):
        run_bench(config(tmp_path / "run", seed=10))


def test_suites_and_method_lists():
    assert {i.split for i in builtin_suite("builtin-ood", 1)} == {"ood"}
    assert len(builtin_suite("builtin", 2, families=["maze"])) == 2
    with pytest.raises(VlmteachError, match="unknown families nope"):
        builtin_suite("builtin", 1, families=["nope"])
    with pytest.raises(VlmteachError, match="not one of builtin"):
        make_suite("no-such-suite", 1)
    assert parse_method_list("vanilla,teacher_tto[grad=last-step,lam=1]") == ["vanilla", "teacher_tto[grad=last-step,lam=1]"]
    assert split_label("teacher_tto[grad=last-step;lam=1]") == ("teacher_tto", {"grad": "last-step", "lam": "1"})
    with pytest.raises(VlmteachError, match="unknown option"):
        BenchConfig(methods="teacher_tto[speed=3]")


def test_folder_suite_is_scored_by_its_instances(tmp_path):
    for seed in (1_000_001, 1_000_002):
        write_sample(get_family("key_door").generate(seed), tmp_path / "data")
    rundir = run_bench(config(tmp_path / "run", suite=str(tmp_path / "data"), methods="vanilla", families=None,
                              n_per_family=None))
    got = lines(rundir)
    assert [x["index"] for x in got] == [0, 1] and all(x["family"] == "key_door" for x in got)
    assert (rundir / "videos/vanilla/In-Domain_50/key_door/00001.mp4").exists()


def test_store_cuts_a_torn_line(tmp_path):
    path = tmp_path / "results.jsonl"
    good = {"split": "in", "family": "maze", "index": 0, "method": "vanilla", "status": "ok"}
    path.write_text(json.dumps(good) + "\n" + '{"split": "in", "fam')
    store = ResultStore(tmp_path)
    assert len(store) == 1 and path.read_text().endswith("\n")
    store.append({**good, "index": 1})
    assert [json.loads(x)["index"] for x in path.read_text().splitlines()] == [0, 1]


def test_config_records_what_reproducibility_depends_on(tmp_path):
    import torch

    rundir = run_bench(config(tmp_path / "one", methods="vanilla", families=["maze"],
                              executor_options={"threads": 1}))
    facts = json.loads((rundir / "config.json").read_text())["torch"]
    assert facts["threads"] == 1 and facts["version"] == torch.__version__
    assert facts["bit_reproducible"] is (not torch.cuda.is_available())
    rundir = run_bench(config(tmp_path / "two", methods="vanilla", families=["maze"],
                              executor_options={"threads": 2}))
    facts = json.loads((rundir / "config.json").read_text())["torch"]
    assert facts["threads"] == 2 and facts["bit_reproducible"] is False
