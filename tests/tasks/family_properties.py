"""Properties every registered task family must have (the issue's contract for scorers), one check per
property, each taking the name of a registered family: test_family_properties.py runs them on every family
in the registry, test_new_family.py on a family registered at test time."""

import tempfile
from pathlib import Path

import numpy as np
import torch

from vlmteach.tasks.base import FACULTIES, NATIVE_FRAMES, SPLITS
from vlmteach.tasks.corruptions import corrupt
from vlmteach.tasks.registry import get_family
from vlmteach.video import Video, read_video, sample_frames, upscale, write_video

SEEDS = (0, 1, 2, 3, 1_000_000)


def _levels(family):
    lo, hi = family.difficulty_range
    return sorted({lo, family.default_difficulty, hi})


def check_metadata(name):
    f = get_family(name)
    assert f.name == name
    assert f.faculty in FACULTIES
    assert f.split in SPLITS
    lo, hi = f.difficulty_range
    assert lo <= f.default_difficulty <= hi
    assert f.summary


def check_ground_truth_scores_high_and_static_video_fails_goal(name):
    f = get_family(name)
    for d in _levels(f):
        for seed in SEEDS:
            inst = f.generate(seed, d)
            assert inst.states.shape[0] == NATIVE_FRAMES and inst.states.shape[1:] == (8, 8)
            assert inst.solve_frame >= 2, "the solution must unfold over several frames"
            gt = f.score(inst.ground_truth, inst)
            assert gt.total >= 0.99, (seed, d, gt)
            static = f.score(Video(inst.ground_truth.frames[:1].repeat(NATIVE_FRAMES, 1, 1, 1)), inst)
            assert static.parts["goal"] <= 0.5, (seed, d, static)
            assert static.total < gt.total - 0.2


def check_every_corruption_lowers_the_score(name):
    f = get_family(name)
    for seed in SEEDS[:3]:
        for d in _levels(f):
            inst = f.generate(seed, d)
            gt = f.score(inst.ground_truth, inst).total
            for c in f.corruptions:
                bad = f.score(corrupt(f, inst, c), inst)
                assert bad.total < gt - 0.03, (c, seed, d, bad)


def check_slightly_noisy_or_resized_ground_truth_still_scores_high(name):
    f = get_family(name)
    inst = f.generate(7)
    frames = inst.ground_truth.frames
    g = torch.Generator().manual_seed(0)
    noisy = Video((frames + 0.05 * torch.randn(frames.shape, generator=g)).clamp(0, 1))
    assert f.score(noisy, inst).total >= 0.95
    big = upscale(inst.ground_truth, 5)  # 160 x 160, not a multiple of the native cell grid scale 8
    assert f.score(big, inst).total >= 0.99
    slow = Video(frames.repeat_interleave(3, dim=0))  # 48 frames
    assert f.score(slow, inst).total >= 0.99
    fast = Video(sample_frames(frames, 8))  # 8 frames, last included: objects move farther per frame
    assert f.score(fast, inst).total >= 0.95


def check_mp4_round_trip_keeps_the_score(name):
    f = get_family(name)
    inst = f.generate(11)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_video(inst.ground_truth, Path(tmp) / "gt.mp4", scale=8)
        assert f.score(read_video(path), inst).total >= 0.99


def check_determinism_and_variety(name):
    f = get_family(name)
    a, b = f.generate(5), f.generate(5)
    assert a.prompt == b.prompt and np.array_equal(a.states, b.states) and a.meta == b.meta
    insts = [f.generate(s) for s in range(12)]
    assert len({i.states.tobytes() for i in insts}) >= 10, "seeds must give different instances"
    assert len({i.prompt for i in insts}) >= 2, "prompts must vary with the seed"


# every check, for a test that runs them all on one family
CHECKS = (check_metadata, check_ground_truth_scores_high_and_static_video_fails_goal,
          check_every_corruption_lowers_the_score, check_slightly_noisy_or_resized_ground_truth_still_scores_high,
          check_mp4_round_trip_keeps_the_score, check_determinism_and_variety)
