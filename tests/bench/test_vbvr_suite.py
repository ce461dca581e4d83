"""Benchmarking a VBVR-layout folder as the official data has it: videos conformed to the sample
(first_frame.png's size, the ground truth's fps, frame 0 the conditioning image), sample folders with
any name, the scorer and faculty on every line, generators' raw output imported into the layout,
and the official kit's scores imported into the report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from vlmteach.cli.main import main
from vlmteach.tasks.vbvr import conform, read_sample
from vlmteach.video import Video, read_image, read_video, write_image, write_video
from vlmteach.video.io import probe_video

G174 = "G-174_arrange_circles_by_circumference_data-generator"
O47 = "O-47_sliding_puzzle_data-generator"
PROMPT = "Line up the circles in one row, from the largest to the smallest circumference."


def picture(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A smooth picture with a few discs, like a generator's first frame."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    img = torch.stack([0.8 * x + 0.1, 0.8 * y + 0.1, torch.full_like(x, 0.6)])
    for _ in range(4):
        cy, cx, r = (torch.rand(3, generator=g) * torch.tensor([1.0, 1.0, 0.2])).tolist()
        mask = ((y - cy) ** 2 + (x - cx) ** 2) < (r + 0.05) ** 2
        img[:, mask] = torch.rand(3, 1, generator=g)
    return img


def sample(folder, h: int, w: int, gt_frames: int | None = 60, seed: int = 0) -> None:
    folder.mkdir(parents=True)
    first = picture(h, w, seed)
    write_image(first, folder / "first_frame.png")
    write_image(picture(h, w, seed + 1), folder / "final_frame.png")
    (folder / "prompt.txt").write_text(PROMPT + "\n")
    if gt_frames:
        write_video(Video(first[None].repeat(gt_frames, 1, 1, 1), fps=16.0), folder / "ground_truth.mp4")


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("vbvr")
    ood = root / "Out-of-Domain_50" / G174
    sample(ood / "circles_00000001", 1024, 1024, seed=1)  # generator-style names, not 5 digits
    sample(ood / "circles_00000000", 1024, 1024, seed=0)
    sample(root / "In-Domain_50" / O47 / "00000", 240, 320, gt_frames=None, seed=2)  # non-square, no video
    return root


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float((a - b).square().mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def lines(run) -> list[dict]:
    return [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def run(suite, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    assert main(["bench", "--suite", str(suite), "--methods", "vanilla", "--out", str(out)]) == 0
    return out


def test_videos_follow_the_sample(run, suite):
    by_sample = {r["sample"]: r for r in lines(run)}
    assert set(by_sample) == {"circles_00000000", "circles_00000001", "00000"}
    big = by_sample["circles_00000000"]
    assert (big["index"], by_sample["circles_00000001"]["index"]) == (0, 1)  # sorted by name
    assert big["video"].endswith(f"Out-of-Domain_50/{G174}/00000.mp4")  # the kit's NNNNN.mp4 names
    video = read_video(run / big["video"])
    first = read_image(suite / "Out-of-Domain_50" / G174 / "circles_00000000" / "first_frame.png")
    assert video.size == (1024, 1024) and video.fps == pytest.approx(16.0)
    assert psnr(video.frames[0], first) >= 35
    small = read_video(run / by_sample["00000"]["video"])
    assert small.size == (240, 320) and small.fps == pytest.approx(16.0)  # no ground truth: the benchmark's 16
    assert psnr(small.frames[0], read_image(suite / "In-Domain_50" / O47 / "00000" / "first_frame.png")) >= 35


def test_lines_name_scorer_sample_and_faculty(run):
    for r in lines(run):
        assert r["status"] == "ok" and r["scorer"] == "generic-gt-comparison"
    faculty = {r["family"]: r["faculty"] for r in lines(run)}
    assert faculty == {G174: "perception", O47: "abstraction"}
    report = (run / "report.md").read_text()
    assert "generic comparison" in report and "not the benchmark's metric" in report
    assert "VBVR-Bench convention" not in report
    assert "Perception" in report and "unknown" not in report.split("## Appendix")[1]


def test_frames_can_follow_the_ground_truth_and_frame_0_the_model(suite, tmp_path):
    out = tmp_path / "run"
    assert main(["bench", "--suite", str(suite), "--families", G174, "--n-per-family", "1", "--methods", "vanilla",
                 "--export-frames", "gt", "--export-first", "model", "--out", str(out), "--no-report"]) == 0
    (line,) = lines(out)
    count, fps = probe_video(out / line["video"])
    assert count == 60 and fps == pytest.approx(16.0)
    first = read_image(suite / "Out-of-Domain_50" / G174 / "circles_00000000" / "first_frame.png")
    assert psnr(read_video(out / line["video"]).frames[0], first) < 30  # the tiny model's own frame 0
    config = json.loads((out / "config.json").read_text())
    assert config["export"] == {"frames": "gt", "first": "model"}


def test_conform_resizes_resamples_and_replaces_frame_0(suite):
    s = read_sample(suite / "Out-of-Domain_50" / G174 / "circles_00000000")
    clip = torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    out = conform(Video(clip, fps=8.0), s, frames="gt")
    assert out.frames.shape == (60, 3, 1024, 1024) and out.fps == 16.0
    torch.testing.assert_close(out.frames[0], s.first_frame)
    # a whole-number upscale is by nearest neighbour: each 32x32 block repeats one pixel of the model's frame
    torch.testing.assert_close(out.frames[-1, :, ::32, ::32], clip[-1])
    torch.testing.assert_close(out.frames[30, :, 5, 7], clip[round(30 * 15 / 59), :, 0, 0])
    kept = conform(Video(clip, fps=8.0), s, first="model")
    assert kept.frames.shape[0] == 16
    torch.testing.assert_close(kept.frames[0, :, ::32, ::32], clip[0])


def test_odd_sizes_become_even_for_h264(tmp_path):
    sample(tmp_path / "In-Domain_50" / O47 / "00000", 101, 151, gt_frames=None)
    s = read_sample(tmp_path / "In-Domain_50" / O47 / "00000")
    out = conform(Video(torch.rand(4, 3, 32, 32)), s)
    assert out.frames.shape[-2:] == (102, 152)


def _generator_output(root, domain: str, n: int, metadata: bool = True, start: int = 0):
    for i in range(start, n):
        folder = root / f"{domain}_task" / f"{domain}_{i:08d}"
        sample(folder, 64, 64, gt_frames=8, seed=i)
        if metadata:
            (folder / "metadata.json").write_text(json.dumps({"task_id": folder.name, "generator": domain}))


def test_import_vbvr_lays_out_generator_output(tmp_path, capsys):
    src, dst = tmp_path / "raw", tmp_path / "bench"
    _generator_output(src, "arrange_circles_by_circumference", 3)
    _generator_output(src, "sliding_puzzle", 1, metadata=False)  # told by its <domain>_task folder
    assert main(["tasks", "import-vbvr", str(src), "--out", str(dst)]) == 0
    ood = dst / "Out-of-Domain_50" / G174
    assert sorted(p.name for p in ood.iterdir()) == ["00000", "00001", "00002"]
    source = json.loads((ood / "00002" / "source.json").read_text())
    assert source["name"] == "arrange_circles_by_circumference_00000002"
    assert sorted(p.name for p in (ood / "00000").iterdir()) == sorted(
        ["first_frame.png", "final_frame.png", "prompt.txt", "ground_truth.mp4", "metadata.json", "source.json"])
    assert (dst / "In-Domain_50" / O47 / "00000" / "prompt.txt").is_file()
    capsys.readouterr()
    assert main(["tasks", "import-vbvr", str(src), "--out", str(dst)]) == 0  # again: nothing new
    assert "nothing new" in capsys.readouterr().out
    assert sorted(p.name for p in ood.iterdir()) == ["00000", "00001", "00002"]
    _generator_output(src, "arrange_circles_by_circumference", 4, start=3)  # one more sample: the next index
    assert main(["tasks", "import-vbvr", str(src), "--out", str(dst)]) == 0
    assert json.loads((ood / "00003" / "source.json").read_text())["name"].endswith("00000003")


def test_import_vbvr_needs_a_known_task(tmp_path, capsys):
    src = tmp_path / "raw"
    _generator_output(src, "paint_a_sunset", 1)
    assert main(["tasks", "import-vbvr", str(src), "--out", str(tmp_path / "bench")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--task" in err[0]
    assert main(["tasks", "import-vbvr", str(src), "--out", str(tmp_path / "bench"), "--task", "G-5"]) == 0
    assert (tmp_path / "bench" / "In-Domain_50" / "G-5_multi_object_placement_data-generator" / "00000").is_dir()
    assert main(["tasks", "import-vbvr", str(src), "--out", str(tmp_path / "b2"), "--task", "G-9999"]) == 2


def _kit_json(run, path, bad: bool = False) -> None:
    """A results file as the kit's run_evaluation.py writes it for RUN/videos/vanilla."""
    samples = []
    for r in lines(run):
        folder, task, name = r["video"].split("/")[-3:]
        samples.append({"video_path": str(run / r["video"]), "video_file": name, "task_name": task,
                        "split": "In_Domain" if folder.startswith("In") else "Out_of_Domain", "category": "x",
                        "folder": folder, "score": 0.2 + 0.5 * (task == G174), "dimensions": {}, "error": None})
    samples.append({**samples[0], "video_path": "/elsewhere/x/00000.mp4", "folder": "Nowhere"})
    path.write_text(json.dumps({"model_name": "vanilla", "samples": samples, "summary": {}}))


def test_official_scores_join_the_report(run, tmp_path, capsys):
    kit = tmp_path / "vanilla_vbvr_results.json"
    _kit_json(run, kit)
    assert main(["report", str(run), "--official", str(kit)]) == 0
    out = capsys.readouterr().out
    assert "imported 3 official score(s)" in out and "not imported" in out
    report = (run / "report.md").read_text()
    header = next(x for x in report.splitlines() if x.startswith("| Method"))
    row = next(x for x in report.splitlines() if x.startswith("| vanilla"))
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")]))
    # the Overall convention over the imported scores: in-domain O-47 0.2, out-of-domain G-174 0.7
    assert cells["Official"] == "0.450"
    assert "vanilla (official)" in report
    assert "evaluation kit" in (run / "report.html").read_text()


@pytest.mark.parametrize("content, message", [("{", "not valid JSON"), ('{"samples": 3}', 'no "samples" list'),
                                              ('{"samples": [{"score": 1}]}', "lacks task_name")])
def test_official_errors_are_one_line(run, tmp_path, capsys, content, message):
    kit = tmp_path / "kit.json"
    kit.write_text(content)
    assert main(["report", str(run), "--official", str(kit)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_generic_scorer_note_is_absent_for_rule_scored_runs(tmp_path):
    out = tmp_path / "run"
    assert main(["bench", "--families", "maze", "--n-per-family", "1", "--methods", "vanilla", "--out", str(out)]) == 0
    (line,) = lines(out)
    assert line["scorer"] == "maze" and "sample" not in line
    report = (out / "report.md").read_text()
    assert "Scorers: In-domain: rules." in report and "generic comparison" not in report


def test_numbers_in_names_do_not_reorder_indices():
    from vlmteach.bench.suites import sample_indices

    assert sample_indices(["00003", "00000"]) == {"00003": 3, "00000": 0}
    assert sample_indices(["b_2", "a_10", "00001"]) == {"00001": 0, "a_10": 1, "b_2": 2}
    assert np.array_equal(sorted(sample_indices(["x", "y"]).values()), [0, 1])
