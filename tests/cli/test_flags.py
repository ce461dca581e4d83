"""The command line's documented flags, each checked for what it promises: --force, --retry-failed,
--no-report, --threads, the builtin-id suite, the Ray executor's options, and `demo`."""

from __future__ import annotations

import json


from vlmteach.cli.main import main

ONE = ["--families", "maze", "--n-per-family", "1"]


def lines(run) -> list[dict]:
    return [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]


def test_solve_force_overwrites(tmp_path, capsys):
    out = tmp_path / "o.mp4"
    base = ["solve", "--family", "maze", "--seed", "1000004", "--out", str(out)]
    assert main([*base, "--method", "vanilla"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["method"] == "vanilla"
    assert main([*base, "--method", "best_of_n[n=2]"]) == 2  # refused without --force: nothing changed
    assert json.loads(out.with_suffix(".json").read_text())["method"] == "vanilla"
    assert main([*base, "--method", "best_of_n[n=2]", "--force"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["method"] == "best_of_n[n=2]"


def test_retry_failed_reruns_only_with_the_flag(tmp_path, capsys, monkeypatch):
    from vlmteach.methods.vanilla import Vanilla

    run = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(Vanilla, "run", lambda self, *a, **k: (_ for _ in ()).throw(RuntimeError("flaky")))
        assert main(["bench", *ONE, "--methods", "vanilla", "--out", str(run), "--no-report"]) == 3
    assert main(["bench", "--out", str(run), "--resume", "--no-report"]) == 3  # done jobs are not rerun
    assert [x["status"] for x in lines(run)] == ["failed"]
    assert main(["bench", "--out", str(run), "--resume", "--retry-failed", "--no-report"]) == 0
    assert [x["status"] for x in lines(run)] == ["failed", "ok"]  # appended; the latest line wins


def test_no_report_threads_and_builtin_id(tmp_path):
    run = tmp_path / "run"
    assert main(["bench", "--suite", "builtin-id", "--n-per-family", "1", "--methods", "vanilla", "--threads", "1",
                 "--out", str(run), "--no-report"]) == 0
    assert not (run / "report.md").exists() and not (run / "report.html").exists()
    assert {x["split"] for x in lines(run)} == {"in"} and len(lines(run)) == 10  # the in-domain families
    assert json.loads((run / "config.json").read_text())["torch"]["threads"] == 1


def test_the_ray_executor_flags_reach_the_executor(tmp_path, monkeypatch):
    """--executor ray and its options build the Ray executor they name (tests/bench/test_ray.py runs
    one on a local Ray instance; here nothing starts)."""
    from vlmteach.bench import executors

    built = {}

    def fake_run(self, jobs, *args, **kwargs):
        built.update(address=self.address, workers=self.workers, gpus=self.gpus, cpus=self.cpus, jobs=len(jobs))
        return {}

    monkeypatch.setattr(executors.RayExecutor, "run", fake_run)
    run = tmp_path / "run"
    main(["bench", *ONE, "--methods", "vanilla", "--executor", "ray", "--workers", "3", "--cpus-per-job", "2",
          "--gpus-per-job", "0.5", "--ray-address", "auto", "--out", str(run), "--no-report"])
    assert built == {"address": "auto", "workers": 3, "gpus": 0.5, "cpus": 2.0, "jobs": 1}
    config = json.loads((run / "config.json").read_text())
    assert config["torch"]["threads"] == 2  # threads per job: --cpus-per-job


def test_demo_runs_and_reports(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--n-per-family", "1"]) == 0
    assert len(lines(out)) == 13 * 3 and (out / "report.html").exists()
    assert main(["demo", "--out", str(out), "--n-per-family", "1"]) == 0  # a second run resumes: nothing to do
    assert "resuming: 39 of 39 jobs already done" in capsys.readouterr().out
