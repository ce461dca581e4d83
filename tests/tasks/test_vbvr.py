import json

import pytest
import torch

from vlmteach.errors import TaskError
from vlmteach.tasks import get_family
from vlmteach.tasks.vbvr import (
    export_video, iter_samples, output_path, read_sample, score_sample, write_sample,
)
from vlmteach.video import Video, read_video, write_image, write_video


def test_write_sample_lays_out_the_official_files(tmp_path):
    inst = get_family("maze").generate(3)
    folder = write_sample(inst, tmp_path)
    assert folder == tmp_path / "In-Domain_50" / "maze" / "00000"
    assert sorted(p.name for p in folder.iterdir()) == [
        "final_frame.png", "first_frame.png", "ground_truth.mp4", "instance.json", "prompt.txt"]
    assert (folder / "prompt.txt").read_text().strip() == inst.prompt
    data = json.loads((folder / "instance.json").read_text())
    assert (data["family"], data["seed"]) == ("maze", 3)
    sample = read_sample(folder)
    assert sample.split == "in" and sample.task == "maze" and sample.index == "00000"
    assert (sample.instance.states == inst.states).all()
    assert score_sample(read_video(folder / "ground_truth.mp4"), sample).total >= 0.99


def test_write_sample_never_overwrites(tmp_path):
    fam = get_family("maze")
    a = write_sample(fam.generate(1), tmp_path)
    b = write_sample(fam.generate(2), tmp_path)
    again = write_sample(fam.generate(1), tmp_path)
    assert (a.name, b.name, again.name) == ("00000", "00001", "00000")
    assert len(iter_samples(tmp_path)) == 2


def _official_sample(root, task="G-3_maze_data-generator", split="Out-of-Domain_50"):
    """A sample folder as official VBVR-Bench data has it: no instance.json."""
    folder = root / split / task / "00000"
    frames = torch.zeros(9, 3, 64, 64)
    for t in range(9):
        frames[t, 0, 20:30, 5 + 5 * t: 15 + 5 * t] = 1.0  # a red block sliding right
    gt = Video(frames)
    write_image(frames[0], folder / "first_frame.png")
    write_image(frames[-1], folder / "final_frame.png")
    write_video(gt, folder / "ground_truth.mp4")
    (folder / "prompt.txt").write_text("Slide the red block to the right edge.\n")
    return folder, gt


def test_official_folder_gets_a_labelled_generic_score(tmp_path):
    folder, gt = _official_sample(tmp_path)
    sample = read_sample(folder)
    assert sample.instance is None and sample.split == "ood" and sample.task == "G-3_maze_data-generator"
    good = score_sample(gt, sample)
    assert good.scorer == "generic-gt-comparison"
    assert set(good.parts) == {"first_frame", "final_frame_accuracy", "temporal_smoothness", "path_agreement"}
    assert good.total > 0.9
    static = score_sample(Video(gt.frames[:1].repeat(9, 1, 1, 1)), sample)
    assert static.parts["final_frame_accuracy"] < 0.5 and static.total < good.total - 0.3
    jumpy = Video(torch.cat([gt.frames[:1].repeat(5, 1, 1, 1), gt.frames[-1:].repeat(4, 1, 1, 1)]))
    assert score_sample(jumpy, sample).parts["temporal_smoothness"] < 0.5
    assert [s.folder for s in iter_samples(tmp_path)] == [folder]


def test_bad_sample_folders_are_named(tmp_path):
    with pytest.raises(TaskError, match="not a sample folder"):
        read_sample(tmp_path / "nowhere")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "prompt.txt").write_text("x")
    with pytest.raises(TaskError, match="missing first_frame.png"):
        read_sample(tmp_path / "half")
    with pytest.raises(TaskError, match="not a VBVR-Bench layout"):
        iter_samples(tmp_path)


def test_export_uses_the_kit_output_layout(tmp_path):
    inst = get_family("light_sequence").generate(0)
    path = export_video(inst.ground_truth, tmp_path, inst.split, inst.family, 7)
    assert path == output_path(tmp_path, "in", "light_sequence", 7)
    assert path == tmp_path / "In-Domain_50" / "light_sequence" / "00007.mp4"
    back = read_video(path)
    assert back.size == (256, 256)
    assert get_family("light_sequence").score(back, inst).total >= 0.99
