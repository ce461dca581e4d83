import argparse
import html
import json
import re
import shutil

import pytest

from vlmteach.bench.report import load_results, paired, summarize, summary_table, write_report
from vlmteach.cli import report_cmd
from vlmteach.errors import VlmteachError
from vlmteach.tasks import get_family
from vlmteach.video import write_image, write_video

FAMILIES = {"maze": ("in", "In-Domain_50"), "rotation": ("ood", "Out-of-Domain_50")}
# (family, index) -> method -> score; None marks the one failed result.
SCORES = {
    ("maze", 0): {"vanilla": 0.2, "teacher_tto": 0.6},
    ("maze", 1): {"vanilla": 0.4, "teacher_tto": 0.8},
    ("rotation", 0): {"vanilla": 0.1, "teacher_tto": 0.9},
    ("rotation", 1): {"vanilla": 0.5, "teacher_tto": None},
}
# Hand-computed: per split the mean of family means, overall the mean of the two splits; the
# failed result is left out (counted as 0 it would make teacher_tto's OOD 0.450).
EXPECTED = {"vanilla": ("0.300", "0.300", "0.300"), "teacher_tto": ("0.800", "0.700", "0.900")}
QUERIES = ["Does the ball end on the green square?", "Does the ball stay off the grey walls?"]


def _line(family, index, method, score, rundir, clip, frame):
    split, folder = FAMILIES[family]
    inst = get_family(family).generate(1_000_000 + index)
    video = f"videos/{method}/{folder}/{family}/{index:05d}.mp4"
    first = f"instances/{folder}/{family}/{index:05d}.png"
    (rundir / first).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(frame, rundir / first)
    failed = score is None
    if not failed:
        (rundir / video).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(clip, rundir / video)
    trace = {}
    if method == "teacher_tto" and not failed:
        trace = {"queries": QUERIES, "query_kinds": ["goal", "process"], "losses": [0.9, 0.5, 0.2],
                 "per_query": [[0.9, 0.9], [0.5, 0.5], [0.2, 0.2]], "stop_reason": "tau"}
    return {
        "family": family, "seed": inst.seed, "difficulty": inst.difficulty, "index": index, "split": split,
        "faculty": inst.faculty, "method": method, "prompt": inst.prompt, "score": score,
        "parts": {} if failed else {"goal": score}, "steps": 2 if trace else 0,
        "cost": {"wall_s": 2.0 if method == "teacher_tto" else 0.5, "reasoner_forwards": 4,
                 "reasoner_backwards": 2 if trace else 0, "teacher_forwards": 3 if trace else 0,
                 "teacher_backwards": 2 if trace else 0, "peak_mem_mb": 300.0, "peak_mem_kind": "process-rss"},
        "status": "failed" if failed else "ok", "error": "RuntimeError: out of memory" if failed else None,
        "trace": trace, "video": None if failed else video, "first_frame": first,
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    rundir = tmp_path_factory.mktemp("run")
    inst = get_family("maze").generate(1_000_000)
    clip = write_video(inst.ground_truth, rundir / "clip.mp4")
    frame = write_image(inst.first_frame, rundir / "frame.png")
    lines = [_line(f, i, m, s, rundir, clip, frame) for (f, i), scores in SCORES.items() for m, s in scores.items()]
    (rundir / "config.json").write_text(json.dumps({
        "suite": "builtin", "methods": ["vanilla", "teacher_tto"],
        "method_configs": {"vanilla": {}, "teacher_tto": {"tau": 0.25}},
    }))
    text = "".join(json.dumps(x) + "\n" for x in lines) + '{"family": "maze", "se'  # torn last line
    (rundir / "results.jsonl").write_text(text)
    return rundir, lines, write_report(rundir)


def _md_row(markdown, method):
    lines = markdown.splitlines()
    header = next(line for line in lines if line.startswith("| Method | Overall"))
    row = next(line for line in lines[lines.index(header):] if line.startswith(f"| {method} |"))
    return dict(zip([c.strip() for c in header.split("|")], [c.strip().strip("*") for c in row.split("|")]))


def test_files_exist_and_results_skip_the_torn_line(run):
    rundir, lines, paths = run
    for path in paths.all():
        assert path.parent == rundir and path.stat().st_size > 0
    assert len(load_results(rundir)) == len(lines)


def test_markdown_numbers_match_hand_computed_and_failed_is_counted(run):
    _, _, paths = run
    markdown = paths.markdown.read_text()
    for method, (overall, in_domain, ood) in EXPECTED.items():
        row = _md_row(markdown, method)
        assert (row["Overall"], row["In-domain"], row["Out-of-domain"]) == (overall, in_domain, ood)
    tto = _md_row(markdown, "teacher_tto")
    assert (tto["n"], tto["Failed"], tto["Spatiality"], tto["Transformation"]) == ("3", "1", "0.700", "0.900")
    assert (_md_row(markdown, "vanilla")["n"], _md_row(markdown, "vanilla")["Failed"]) == ("4", "0")
    assert "](cost_vs_score.png)" in markdown and "](loss_curves.png)" in markdown
    assert "Appendix: per family" in markdown


def test_html_is_self_contained_and_shows_every_method_and_prompt(run):
    _, lines, paths = run
    page = paths.html.read_text()
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:") for s in sources)
    assert sum(s.startswith("data:image/gif") for s in sources) == 7  # every ok result's video
    assert "http" not in "".join(re.findall(r'(?:src|href)="([^"]*)"', page))
    assert "<script" not in page and "<link" not in page
    for text in ("vanilla", "teacher_tto", *QUERIES, "out of memory", *{x["prompt"] for x in lines}):
        assert html.escape(text) in page


def test_summary_table_names_every_method():
    rows = summarize([
        {"split": "in", "family": "a", "index": i, "method": "vanilla", "score": 0.0, "status": "ok"}
        for i in range(3)
    ] + [{"split": "in", "family": "b", "index": 0, "method": "vanilla", "score": 1.0, "status": "ok"},
         {"split": "in", "family": "b", "index": 0, "method": "tpo", "score": None, "status": "failed"}],
        methods=["tpo", "vanilla"])
    assert [r.method for r in rows] == ["tpo", "vanilla"]
    assert rows[1].in_domain == rows[1].overall == 0.5  # mean of family means, not of instances
    assert rows[0].overall is None and rows[0].failed == 1
    table = summary_table(rows)
    assert "tpo" in table and "vanilla" in table and "0.500" in table


def test_run_without_losses_gets_a_placeholder_figure(tmp_path):
    line = {"split": "in", "family": "maze", "index": 0, "method": "vanilla", "score": 0.5, "status": "ok",
            "prompt": "p", "video": None, "first_frame": None}
    (tmp_path / "results.jsonl").write_text(json.dumps(line) + "\n")
    paths = write_report(tmp_path)
    assert paths.loss_curves.stat().st_size > 0
    assert "placeholder" in paths.markdown.read_text()


def test_missing_results_names_the_file_and_the_command(tmp_path):
    with pytest.raises(VlmteachError, match=r"results\.jsonl.*vlmteach bench"):
        write_report(tmp_path)


def test_cli_prints_the_table_and_paths(run, tmp_path, capsys):
    rundir = shutil.copytree(run[0], tmp_path / "run")  # a copy: the other tests read the shared report
    parser = argparse.ArgumentParser()
    report_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["report", str(rundir), "--max-instances", "1"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "teacher_tto" in out and "vanilla" in out and "report.html" in out
    assert "Showing the first 1 of 4 instances" in (rundir / "report.html").read_text()


def test_paired_difference_matches_a_hand_count(run):
    rundir, _, paths = run
    # instances both scored: maze 0 (+0.4), maze 1 (+0.4), rotation 0 (+0.8); rotation 1 failed for
    # teacher_tto. Overall convention: maze instances weigh 1/(2 splits x 1 family x 2) = 0.25 each,
    # rotation 0 weighs 0.5: 0.1 + 0.1 + 0.4 = 0.6. Variance of the differences (n - 1): 0.06;
    # sum of squared weights 0.375; standard error sqrt(0.0225) = 0.15.
    p = paired(load_results(rundir), "teacher_tto", "vanilla")
    assert (p.diff, p.se, p.better, p.worse, p.n) == pytest.approx((0.6, 0.15, 3, 0, 3))
    assert "| teacher_tto | vanilla | +0.600 | 0.150 | 3 / 0 / 3 |" in paths.markdown.read_text()


def test_upper_bounds_are_labelled_and_wall_time_is_a_multiple_of_pass_at_n(tmp_path, run):
    rundir, lines, _ = run
    extra = [{**x, "method": "pass_at_n", "cost": {**x["cost"], "wall_s": 1.0}, "trace": {}}
             for x in lines if x["method"] == "vanilla"]
    extra += [{**x, "method": "oracle_tto[lr=1e-3]", "trace": {"losses": [5.0, 1.0], "upper_bound": True}}
              for x in lines if x["method"] == "vanilla"]
    new = tmp_path / "run"
    shutil.copytree(rundir, new)
    (new / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines + extra))
    markdown = write_report(new).markdown.read_text()
    assert "| pass_at_n (upper bound) |" in markdown and "| oracle_tto[lr=1e-3] (upper bound) |" in markdown
    assert "Wall time / pass_at_n's" in markdown
    tto = next(line for line in markdown.splitlines() if line.startswith("| teacher_tto |") and line.endswith("x |"))
    assert tto.split("|")[-2].strip() == "2.00x"  # 2.0 s against pass_at_n's 1.0 s


def test_a_rolling_loops_loss_is_labelled_a_new_sample_per_step(tmp_path, run):
    rundir, lines, paths = run
    assert "rolling loop" not in paths.markdown.read_text()
    assert "a new sample each" not in paths.html.read_text()
    rolled = [{**x, "trace": {**x["trace"], "noises": "rolling"}} if x["trace"] else x for x in lines]
    new = tmp_path / "run"
    shutil.copytree(rundir, new)
    (new / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rolled))
    out = write_report(new)
    assert "teacher_tto: a rolling loop (noises=rolling), so step i judged a new sample" in out.markdown.read_text()
    titles = [t for t in re.findall(r"<title>([^<]*)</title>", out.html.read_text()) if t.startswith("teacher loss")]
    assert len(titles) == 3 and all(t.startswith("teacher loss per step, a new sample each:") for t in titles)


def test_the_winner_and_the_noise_are_marked(run):
    rundir, _, paths = run
    markdown = paths.markdown.read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| Method | Overall"))
    assert "vs vanilla (SE)" in header and "Settled?" in header
    assert "| **0.800** |" in next(x for x in markdown.splitlines() if x.startswith("| teacher_tto |"))
    assert "**" not in next(x for x in markdown.splitlines() if x.startswith("| vanilla |"))
    page = paths.html.read_text()
    assert '<td class="best-cell" title="best in this column">0.800 &#9650;</td>' in page
    assert '<td class="top"' not in page  # .top lays out an instance's strip as flex; a cell with it breaks the table
    assert "<h2>Per family</h2>" in page and "Peak memory MB" not in page  # process RSS only: no column
    assert page.count("frames, first to last") == 7 and page.count("step ") >= 2  # strips; loss axes


def test_score_axis_never_exaggerates_a_tie():
    from vlmteach.bench.report import MIN_SCORE_SPAN, score_limits

    lo, hi = score_limits([(0.346, 0.002), (0.351, 0.003)])
    assert hi - lo >= MIN_SCORE_SPAN - 1e-9 and lo <= 0.344 and hi >= 0.354
    lo, hi = score_limits([(0.1, 0.05), (0.95, 0.04)])
    assert lo <= 0.05 and hi >= 0.99 and lo >= 0.0 and hi <= 1.0
    assert score_limits([(0.99, 0.0)]) == pytest.approx((0.8, 1.0))


def test_settled_says_within_noise():
    from vlmteach.bench.report.stats import Paired, _settled

    assert _settled(Paired("a", "b", 0.05, 0.03, 3, 2, 5)) == "no: within noise"
    assert _settled(Paired("a", "b", 0.07, 0.03, 4, 1, 5)) == "yes, better"
    assert _settled(Paired("a", "b", -0.07, 0.03, 1, 4, 5)) == "yes, worse"


def test_memory_is_shown_per_job_on_cuda_only():
    from vlmteach.bench.report.stats import MethodSummary
    from vlmteach.bench.report.tables import _cost_cells

    def row(kind):
        return MethodSummary("m", 0.5, 0.5, None, {}, 1.0, 0.0, 2, 0, {}, 900.0, kind)

    assert "Peak memory MB" not in _cost_cells([row("process-rss")])[0]
    header, body = _cost_cells([row("cuda-allocated")])
    assert header[-1] == "Peak memory MB" and body[0][-1] == "900 (cuda-allocated)"
