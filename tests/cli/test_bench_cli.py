import json

from vlmteach.cli.main import main


def test_solve_shows_queries_loss_and_stop_reason(tmp_path, capsys):
    out = tmp_path / "maze.mp4"
    args = ["solve", "--family", "maze", "--seed", "1000005", "--set", "teacher_tto.max_steps=2",
            "--set", "teacher_tto.lr=1e-3", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "goal" in text and "process" in text and "stopped:" in text and "score:" in text
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["steps"] <= 2 and record["trace"]["losses"]
    # the tiny default rolls through noises and keeps the sample the teacher scores best, and says which
    losses, kept = record["trace"]["iterate_losses"], record["trace"]["chosen_iterate"]
    assert kept == losses.index(min(losses)) and record["trace"]["noises"] == "rolling"
    assert 0 < kept < record["steps"]  # this seed keeps a middle sample, so the lines below are not first or last
    assert f"kept iterate {kept} of {record['steps']}: of the samples the loop judged, one per noise" in text
    # its losses are different samples', so the stop line gives the first sample's and the kept one's
    assert (f"steps, a new sample at each (teacher loss of the first {losses[0]:.3f}, of the kept one "
            f"{losses[kept]:.3f}, tau") in text
    assert out.exists() and out.with_suffix(".loss.png").exists()
    assert main(args) == 2  # never overwrites without --force
    assert "--force" in capsys.readouterr().err
    # the fixed-noise loop searches first: the kept candidate is the one with the lowest teacher loss
    fixed = ["solve", "--family", "maze", "--seed", "1000005", "--set", "teacher_tto.max_steps=2", "--set",
             "teacher_tto.noises=fixed", "--set", "teacher_tto.select=judge", "--out", str(tmp_path / "f.mp4")]
    assert main(fixed) == 0
    text = capsys.readouterr().out
    trace = json.loads((tmp_path / "f.json").read_text())["trace"]
    losses = trace["search_losses"]
    assert f"searched {len(losses)} noises first: kept candidate {losses.index(min(losses))} " in text
    assert f"kept iterate {trace['chosen_iterate']} of {len(trace['iterate_losses']) - 1}: the finished sample" in text
    assert f"(loss {trace['losses'][0]:.3f} -> {trace['losses'][-1]:.3f}, tau" in text and "a new sample at each" not in text


def test_solve_from_an_image_and_prompt(tmp_path, capsys):
    from vlmteach.tasks import get_family
    from vlmteach.video import write_image

    inst = get_family("gravity").generate(1_000_000)
    write_image(inst.first_frame, tmp_path / "first.png", 8)
    assert main(["solve", "--image", str(tmp_path / "first.png"), "--prompt", inst.prompt, "--method", "vanilla",
                 "--out", str(tmp_path / "v.mp4")]) == 0
    assert (tmp_path / "v.mp4").exists() and "score:" not in capsys.readouterr().out
    assert main(["solve", "--image", str(tmp_path / "first.png"), "--out", str(tmp_path / "w.mp4")]) == 2
    assert "--image needs --prompt" in capsys.readouterr().err


def test_bench_then_report(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["bench", "--families", "light_sequence", "--n-per-family", "1", "--methods", "vanilla,pass_at_n",
                 "--set", "pass_at_n.n=2", "--out", str(run)]) == 0
    text = capsys.readouterr().out
    assert "pass_at_n" in text and "report.html" in text
    assert (run / "report.html").exists() and (run / "report.md").exists()
    assert main(["bench", "--families", "light_sequence", "--n-per-family", "1", "--out", str(run)]) == 2
    assert main(["bench", "--methods", "vanilla", "--seed", "5", "--out", str(tmp_path / "x")]) == 2
    assert "training seed range" in capsys.readouterr().err
    assert main(["report", str(run)]) == 0


def test_bench_on_the_real_backends_code_paths(tmp_path, capsys):
    """A random tiny Wan reasoner and a random tiny Qwen3-VL teacher through every method family and the
    report: the real backends' code path end to end (scores are meaningless with random weights)."""
    run = tmp_path / "run"
    methods = "vanilla,best_of_n[n=2],prompt_rewrite,tpo[rounds=1],teacher_tto[fixed_steps=2]"
    assert main(["bench", "--families", "maze", "--n-per-family", "1", "--methods", methods, "--reasoner", "wan_tiny",
                 "--teacher", "qwen_vl_tiny:qwen3_vl,max_new_tokens=8", "--out", str(run)]) == 0
    lines = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 5 and all(x["status"] == "ok" for x in lines), [x.get("error") for x in lines]
    tto = next(x for x in lines if x["method"].startswith("teacher_tto"))
    assert tto["steps"] == 2 and tto["trace"]["query_source"] == "generic-fallback"  # random weights write no JSON
    config = json.loads((run / "config.json").read_text())
    assert config["reasoner"] == "wan_tiny" and config["teacher"].startswith("qwen_vl_tiny")
    assert (run / "report.html").exists()
