import json
import subprocess
import sys

from vlmteach.cli.main import main
from vlmteach.tasks import family_names


def _run(*args):
    return subprocess.run([sys.executable, "-m", "vlmteach", *args], capture_output=True, text=True)


def test_tasks_list_json_names_every_family(capsys):
    assert main(["tasks", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == family_names()
    assert {r["split"] for r in rows} == {"in", "ood"}
    assert sum(r["split"] == "ood" for r in rows) >= 3
    for r in rows:
        assert r["difficulty"]["min"] <= r["difficulty"]["default"] <= r["difficulty"]["max"]


def test_make_then_score_json(tmp_path, capsys):
    assert main(["tasks", "make", "--family", "maze", "--n", "2", "--seed", "10", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "In-Domain_50" / "maze" / f"0000{i}") for i in range(2)]
    a, b = printed
    assert main(["score", "--instance", a, "--video", f"{a}/ground_truth.mp4", "--json"]) == 0
    right = json.loads(capsys.readouterr().out)
    assert right["score"] >= 0.99 and right["parts"]["goal"] == 1.0
    assert main(["score", "--instance", a, "--video", f"{b}/ground_truth.mp4", "--json"]) == 0
    wrong = json.loads(capsys.readouterr().out)
    assert wrong["score"] < 0.5


def test_make_all_writes_every_family(tmp_path):
    r = _run("tasks", "make", "--family", "all", "--n", "1", "--seed", "4", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.split()) == len(family_names())


def test_user_errors_exit_2_with_one_line_and_no_traceback(tmp_path):
    cases = [
        ("tasks", "make", "--family", "mazes", "--out", str(tmp_path)),
        ("tasks", "make", "--family", "maze", "--difficulty", "99", "--out", str(tmp_path)),
        ("score", "--instance", str(tmp_path / "none"), "--video", "x.mp4"),
        ("tasks", "make", "--out", str(tmp_path)),
        ("train", "teacher", "--member", "nope", "--out", str(tmp_path / "w")),
        ("train", "reasoner", "--member", "cells", "--out", str(tmp_path / "w")),
        ("train", "reasoner", "--teacher", str(tmp_path), "--out", str(tmp_path / "w")),
        ("train", "endstate", "--member", "probe_a", "--out", str(tmp_path / "w")),
        ("train", "teacher", "--picture-mode", "add", "--out", str(tmp_path / "w")),
    ]
    for args in cases:
        r = _run(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "known: maze" in _run(*cases[0]).stderr
    assert "valid: 1..3" in _run(*cases[1]).stderr
    assert "valid: probe_a, probe_b, probe_c" in _run(*cases[4]).stderr
    assert not (tmp_path / "w").exists()  # refused before anything is written


def test_score_unreadable_video_exits_2(tmp_path, capsys):
    assert main(["tasks", "make", "--family", "maze", "--out", str(tmp_path)]) == 0
    folder = capsys.readouterr().out.strip()
    bad = tmp_path / "bad.mp4"
    bad.write_text("garbage")
    r = _run("score", "--instance", folder, "--video", str(bad))
    assert r.returncode == 2 and "bad.mp4" in r.stderr and "Traceback" not in r.stderr


def test_commands_that_need_no_model_import_no_heavy_library():
    """--help, tasks list and the help of report and score answer without torch, peft, transformers or
    diffusers (start-up time itself is measured by benchmarks/startup.py, not here)."""
    probe = ("import sys\nfrom vlmteach.cli.main import main\n"
             "for argv in (['tasks', 'list'], ['tasks', 'list', '--json']):\n    main(argv)\n"
             "for argv in (['--help'], ['report', '--help'], ['score', '--help'], ['bench', '--help']):\n"
             "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
             "print(sorted(m for m in ('torch', 'peft', 'transformers', 'diffusers', 'matplotlib') if m in sys.modules),"
             " file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "[]"


def test_report_help_default_is_the_reports():
    from vlmteach.bench.report import DEFAULT_MAX_INSTANCES
    from vlmteach.cli.report_cmd import MAX_INSTANCES

    assert MAX_INSTANCES == DEFAULT_MAX_INSTANCES
