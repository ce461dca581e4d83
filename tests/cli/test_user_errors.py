"""Every user error the README promises: exit 2 with one `vlmteach: error:` line and no traceback,
refused before any compute, nothing in a run folder lost; runs that resume from their folder; exit 3
for finished runs with failed jobs, 130 with the command to resume on Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vlmteach.cli.main import main
from vlmteach.video import Video, write_image

BENCH = ["bench", "--families", "maze", "--n-per-family", "1", "--methods", "vanilla", "--no-report"]


def one_error_line(capsys) -> str:
    err = [x for x in capsys.readouterr().err.strip().splitlines() if not x.startswith("vlmteach: warning:")]
    assert len(err) == 1 and err[0].startswith("vlmteach: error:") and "Traceback" not in err[0], err
    return err[0]


@pytest.fixture
def afile(tmp_path) -> Path:
    path = tmp_path / "afile"
    path.write_text("not a folder")
    return path


@pytest.fixture
def instance(tmp_path, capsys) -> str:
    assert main(["tasks", "make", "--family", "maze", "--out", str(tmp_path / "tasks")]) == 0
    return capsys.readouterr().out.strip()


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def picture(path: Path, h: int, w: int) -> str:
    write_image(torch.rand(3, h, w, generator=torch.Generator().manual_seed(0)), path)
    return str(path)


CASES = {
    # name: (argv built from tmp_path and a file, words the message must hold)
    "bench --out a file": (lambda t, f: [*BENCH, "--out", str(f)], "is a file"),
    "bench --out under a file": (lambda t, f: [*BENCH, "--out", str(f / "run")], "is a file"),
    "tasks make --out a file": (lambda t, f: ["tasks", "make", "--family", "maze", "--out", str(f)], "is a file"),
    "solve --out a folder": (lambda t, f: ["solve", "--family", "maze", "--out", str(_folder(t / "o.mp4"))],
                             "is a folder"),
    "--n-per-family 0": (lambda t, f: [*BENCH, "--n-per-family", "0", "--out", str(t / "r")], ">= 1, got 0"),
    "--n-per-family -1": (lambda t, f: [*BENCH, "--n-per-family", "-1", "--out", str(t / "r")], ">= 1, got -1"),
    "--threads 0": (lambda t, f: [*BENCH, "--threads", "0", "--out", str(t / "r")], "--threads must be >= 1"),
    "--set for a method not run": (lambda t, f: [*BENCH, "--set", "best_of_n.n=3", "--out", str(t / "r")],
                                   "not among the run's methods"),
    "n=auto without teacher_tto": (lambda t, f: [*BENCH, "--methods", "best_of_n[n=auto]", "--out", str(t / "r")],
                                   "teacher_tto is not in --methods"),
    "--retry-failed without --resume": (lambda t, f: [*BENCH, "--retry-failed", "--out", str(t / "r")], "--resume"),
    "whitespace prompt": (lambda t, f: ["solve", "--image", picture(t / "i.png", 64, 64), "--prompt", "   ",
                                        "--out", str(t / "o.mp4")], "--prompt is empty"),
    "a 1x1 image": (lambda t, f: ["solve", "--image", picture(t / "i.png", 1, 1), "--prompt", "move it",
                                  "--out", str(t / "o.mp4")], "16 to 8192"),
    "a 9000-pixel image": (lambda t, f: ["solve", "--image", picture(t / "i.png", 16, 9000), "--prompt", "move it",
                                         "--out", str(t / "o.mp4")], "16 to 8192"),
    "a corrupt video": (lambda t, f: ["score", "--instance", str(t), "--video", str(f)], ""),
    "a missing wan folder": (lambda t, f: ["solve", "--family", "maze", "--reasoner", "wan:models/nothere",
                                           "--out", str(t / "o.mp4")], "no such folder"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_user_errors_are_one_line_and_exit_2(tmp_path, afile, capsys, monkeypatch, case):
    build, words = CASES[case]
    if case == "a corrupt video":
        (tmp_path / "v.mp4").write_bytes(b"\x00" * 100)
        assert main(["tasks", "make", "--family", "maze", "--out", str(tmp_path / "t")]) == 0
        argv = ["score", "--instance", capsys.readouterr().out.strip(), "--video", str(tmp_path / "v.mp4")]
    else:
        argv = build(tmp_path, afile)
    if case != "a missing wan folder":  # refused before any model loads
        monkeypatch.setattr("vlmteach.bench.runner.load_models", _no_models)
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert words in line
    if case == "a corrupt video":
        assert "cannot decode" in line and "ffmpeg version" not in line and len(line) < 300
    assert not (tmp_path / "r").exists()


def _no_models(*args, **kwargs):
    raise AssertionError("a refused command must not load models")


def test_unwritable_outputs_are_refused_before_compute(tmp_path, capsys, monkeypatch):
    """Read-only folders (simulated: this suite may run as root, who can write anywhere)."""
    import tempfile

    def denied(*args, dir=None, **kwargs):
        raise PermissionError(13, "Permission denied", str(dir))

    monkeypatch.setattr("vlmteach.bench.runner.load_models", _no_models)
    monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    for argv in ([*BENCH, "--out", str(tmp_path / "run")],
                 ["solve", "--family", "maze", "--method", "vanilla", "--out", str(tmp_path / "x.mp4")],
                 ["tasks", "make", "--family", "maze", "--out", str(tmp_path / "t")],
                 ["report", str(tmp_path)]):
        assert main(argv) == 2, argv
        assert "cannot write in" in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_os_errors_are_one_line(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "run" / "results.jsonl"))

    monkeypatch.setattr("vlmteach.cli.bench_cmd.run_and_report", broken)
    assert main([*BENCH, "--out", str(tmp_path / "run")]) == 2
    line = one_error_line(capsys)
    assert "results.jsonl" in line and "No space left" in line


def test_resume_reads_the_run_and_refuses_a_different_one(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["bench", "--families", "maze", "--n-per-family", "2", "--methods", "vanilla", "--seed", "1000007",
                 "--out", str(run), "--no-report"]) == 0
    first = (run / "results.jsonl").read_text()
    (run / "results.jsonl").write_text(first.splitlines()[0] + "\n")  # as if interrupted after one job
    capsys.readouterr()
    assert main(["bench", "--out", str(run), "--resume", "--no-report"]) == 0
    assert "resuming: 1 of 2 jobs already done" in capsys.readouterr().out
    lines = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert [(x["seed"], x["method"]) for x in lines] == [(1000007, "vanilla"), (1000008, "vanilla")]
    assert main(["bench", "--out", str(run), "--resume", "--seed", "1000000"]) == 2
    assert "seed: started 1000007, now 1000000" in one_error_line(capsys)
    assert (run / "results.jsonl").read_text().count("\n") == 2  # nothing lost


def test_a_corrupt_middle_line_is_set_aside_and_its_job_rerun(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["bench", "--families", "maze", "--n-per-family", "3", "--methods", "vanilla", "--out", str(run),
                 "--no-report"]) == 0
    lines = (run / "results.jsonl").read_text().splitlines()
    (run / "results.jsonl").write_text("\n".join([lines[0], lines[1][:40] + "#garbage", lines[2]]) + "\n")
    capsys.readouterr()
    assert main(["report", str(run)]) == 0  # the report is built from the good lines, with a warning
    assert "skipped 1 corrupt line(s) (line 2)" in capsys.readouterr().err
    assert main(["bench", "--out", str(run), "--resume"]) == 0
    err = capsys.readouterr().err
    assert "1 corrupt line(s) (line 2) moved to results.corrupt.jsonl" in err
    side = [json.loads(x) for x in (run / "results.corrupt.jsonl").read_text().splitlines()]
    assert side == [{"line": 2, "text": lines[1][:40] + "#garbage"}]  # kept, never silently dropped
    done = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert sorted(x["index"] for x in done) == [0, 1, 2]


def test_a_run_with_failed_jobs_exits_3_and_lists_them(tmp_path, capsys, monkeypatch):
    from vlmteach.methods.vanilla import Vanilla

    def explode(self, *args, **kwargs):
        raise RuntimeError("the reasoner fell over")

    monkeypatch.setattr(Vanilla, "run", explode)
    run = tmp_path / "run"
    assert main([*BENCH, "--out", str(run)]) == 3
    out = capsys.readouterr().out
    assert "1 job(s) failed" in out and "the reasoner fell over" in out
    assert f"vlmteach bench --out {run} --resume --retry-failed" in out


def test_ctrl_c_exits_130_with_the_command_to_resume(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("vlmteach.bench.runner.run_bench", interrupted)
    assert main([*BENCH, "--out", str(tmp_path / "run")]) == 130
    assert f"to continue: vlmteach bench --out {tmp_path / 'run'} --resume" in capsys.readouterr().err


def test_tasks_make_warns_on_training_seeds(tmp_path, capsys):
    assert main(["tasks", "make", "--family", "maze", "--seed", "10", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "warning: seeds 10..10 overlap the tiny reasoner's training seeds" in err
    assert main(["tasks", "make", "--family", "maze", "--out", str(tmp_path / "e")]) == 0  # default: evaluation seeds
    assert capsys.readouterr().err == ""


def test_a_resize_that_changes_the_aspect_ratio_is_reported(tmp_path, capsys):
    image = picture(tmp_path / "wide.png", 64, 192)
    assert main(["solve", "--image", image, "--prompt", "Move the red ball to the green square.", "--method",
                 "vanilla", "--out", str(tmp_path / "o.mp4")]) == 0
    assert "192x64 image was resized to another aspect ratio" in capsys.readouterr().out
    big = picture(tmp_path / "big.png", 512, 512)
    assert main(["solve", "--image", big, "--prompt", "Move the red ball to the green square.", "--method",
                 "vanilla", "--out", str(tmp_path / "b.mp4")]) == 0
    assert "512x512 image was resized by 16x" in capsys.readouterr().out


def test_third_party_warnings_stay_quiet(tmp_path, capsys, monkeypatch):
    import warnings

    def noisy(args):
        warnings.warn("some library internals changed", FutureWarning, stacklevel=2)
        return 0

    monkeypatch.setattr("vlmteach.cli.tasks_cmd.run_list", noisy)
    monkeypatch.delenv("VLMTEACH_WARNINGS", raising=False)
    parser_run = main(["tasks", "list"])
    assert parser_run == 0 and capsys.readouterr().err == ""
    monkeypatch.setenv("VLMTEACH_WARNINGS", "1")
    assert main(["tasks", "list"]) == 0
    assert "FutureWarning: some library internals changed" in capsys.readouterr().err


def test_video_error_names_the_file(tmp_path):
    from vlmteach.errors import VideoError
    from vlmteach.video import read_video

    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="cannot decode .*empty.mp4: not a video ffmpeg can read"):
        read_video(tmp_path / "empty.mp4")
    Video(torch.zeros(1, 3, 4, 4))  # the convention itself is untouched
