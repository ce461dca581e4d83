"""The generic ground-truth comparison (tasks/generic.py), used for VBVR tasks we have no rules for:
a video that breaks the task's rules never outscores the ground truth, even when the ground truth
pauses (the generators hold their first and last frames)."""

import pytest
import torch

from vlmteach.tasks import get_family
from vlmteach.tasks.corruptions import corrupt
from vlmteach.tasks.generic import generic_score, path_agreement, temporal_smoothness
from vlmteach.tasks.vbvr import read_sample, score_sample, view_scale, write_sample
from vlmteach.video import Video, read_video, write_video

FAMILIES = ["maze", "grid_shortest_path", "grid_avoid_obstacles", "key_door", "object_to_marker", "sliding_puzzle"]


def foreign(tmp_path, family: str, seed: int):
    """A sample folder of one of our tasks without instance.json: scored as a foreign task."""
    fam = get_family(family)
    inst = fam.generate(seed)
    folder = write_sample(inst, tmp_path / family)
    (folder / "instance.json").unlink()
    return fam, inst, read_sample(folder)


def as_file(video: Video, tmp_path) -> Video:
    path = tmp_path / "v.mp4"
    write_video(video, path, view_scale(video.size))
    return read_video(path)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_ground_truth_outscores_every_corruption(tmp_path, family):
    for seed in (1_000_000, 1_000_001):
        fam, inst, sample = foreign(tmp_path, family, seed)
        gt = score_sample(read_video(sample.folder / "ground_truth.mp4"), sample)
        assert gt.scorer == "generic-gt-comparison" and gt.total > 0.99
        for name in fam.corruptions:
            bad = score_sample(as_file(corrupt(fam, inst, name), tmp_path), sample).total
            assert bad < gt.total, (family, seed, name, bad, gt.total)


def test_holds_in_the_ground_truth_are_not_held_against_it(tmp_path):
    """The generators hold the first and last frames for a while; a rule-breaking video that moves at
    every frame used to score above such a ground truth (pauses made it look less smooth)."""
    fam, inst, sample = foreign(tmp_path, "maze", 1_000_002)
    frames = inst.ground_truth.frames
    held = torch.cat([frames[:1].repeat(4, 1, 1, 1), frames, frames[-1:].repeat(4, 1, 1, 1)])
    write_video(Video(held, 16.0), sample.folder / "ground_truth.mp4", view_scale(inst.ground_truth.size))
    gt = score_sample(read_video(sample.folder / "ground_truth.mp4"), sample).total
    crossing = score_sample(as_file(corrupt(fam, inst, "wall_cross"), tmp_path), sample).total
    assert gt > 0.99 and crossing < gt
    assert temporal_smoothness(held) == pytest.approx(1.0)  # pauses are not jumps


def test_without_a_ground_truth_video_a_cut_still_costs_smoothness():
    still = torch.zeros(6, 3, 16, 16)
    cut = still.clone()
    cut[3:, :, 4:8, 4:8] = 1.0  # everything changes in one transition
    steps = still.clone()
    for t in range(1, 6):
        steps[t:, :, 2 * t: 2 * t + 2, 4:8] = 1.0  # the same kind of change, spread over the video
    assert temporal_smoothness(cut) == 0.0
    assert temporal_smoothness(steps) == pytest.approx(1.0)
    no_gt = generic_score(cut, cut[0], cut[-1])
    assert "path_agreement" not in no_gt.parts and no_gt.parts["temporal_smoothness"] == 0.0


def test_path_agreement_sees_a_single_wrong_frame():
    ref = torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    off = ref.clone()
    off[1] = 1 - off[1]
    assert path_agreement(ref, ref) == 1.0
    assert path_agreement(off, ref) < 1.0
    slow = ref.repeat_interleave(2, dim=0)  # the same route at half speed: matching moments still agree
    assert path_agreement(slow, ref) > 0.9


def test_only_roughness_beyond_the_ground_truths_counts():
    """A ground truth whose whole change is one transition (a one-move task) is as smooth as such a
    task can be: the same video scores full smoothness against it, a rougher one does not."""
    gt = torch.zeros(6, 3, 16, 16)
    gt[3:, :, 4:8, 4:8] = 1.0
    assert temporal_smoothness(gt) == 0.0  # on its own it looks like a cut
    same = generic_score(gt, gt[0], gt[-1], ground_truth=gt)
    assert same.parts["temporal_smoothness"] == 1.0 and same.total == 1.0
    smooth_gt = torch.zeros(6, 3, 16, 16)
    for t in range(1, 6):
        smooth_gt[t:, :, 2 * t: 2 * t + 2, 4:8] = 1.0
    assert generic_score(gt, gt[0], smooth_gt[-1], ground_truth=smooth_gt).parts["temporal_smoothness"] == 0.0
