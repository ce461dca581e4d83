"""The probe teacher net (teachers/probe.py): its measurements mean what their names say, it keeps
the teacher contract, and it learns from question text which object and which rule a question is about."""

from __future__ import annotations

import pytest
import torch

from tests.teachers.test_contract import check_teacher
from vlmteach.errors import VlmteachError
from vlmteach.tasks.grid import CELL
from vlmteach.tasks.palette import RGB
from vlmteach.teachers.probe import SLOT_FEATURES, outside_changes, pair_features, slot_features
from vlmteach.teachers.tiny import TinyTeacher, TinyTeacherConfig

VOCAB = ["<pad>", "<unk>", "<cls>", "is", "the", "red", "blue", "ball", "there", "always", "at", "end", "right"]


def probe_teacher(**kw) -> TinyTeacher:
    torch.manual_seed(0)
    return TinyTeacher(TinyTeacherConfig(vocab=VOCAB, kind="probe", dim=32, slots=2, text_depth=1, **kw))


def grid_coords(side: int) -> torch.Tensor:
    rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    return torch.stack([rows, cols], -1).flatten(0, 1).float()


def path_mask(path: list[tuple[int, int] | None], side: int = 4) -> torch.Tensor:
    """(1, 1, T, side*side) hard mask of a one-cell object at `path` (None: absent that frame)."""
    m = torch.zeros(1, 1, len(path), side * side)
    for t, p in enumerate(path):
        if p is not None:
            m[0, 0, t, p[0] * side + p[1]] = 1
    return m


def feature(f: torch.Tensor, name: str) -> float:
    return float(f[0, 0, SLOT_FEATURES.index(name)])


def near(x: float):
    """Centres divide by the soft count plus 1e-3 and jumps are gated by a soft "was there at first"."""
    return pytest.approx(x, abs=0.03)


def test_slot_measurements_see_a_vanishing_a_jump_and_a_drift():
    steady = slot_features(path_mask([(0, 0), (0, 1), (0, 2), (0, 3)]), grid_coords(4))
    assert feature(steady, "count_change_max") == 0 and feature(steady, "jump_max") == near(1)
    assert feature(steady, "jump_excess_mean") == pytest.approx(0)
    assert feature(steady, "drift_cols") == near(1) and feature(steady, "drift_rows") == near(0)
    assert feature(steady, "moved_cols") == near(3 / 4) and feature(steady, "end_col") == near(3 / 4)
    assert feature(steady, "lost_share_last") == pytest.approx(1 / 2)  # its one first cell lost, over (1 + 1)

    broken = slot_features(path_mask([(0, 0), (0, 1), None, (3, 3)]), grid_coords(4))
    assert feature(broken, "count_change_mean") == pytest.approx(1 / 4)  # absent in one frame of four
    assert feature(broken, "count_change_max") == pytest.approx(1) and feature(broken, "count_change_last") == 0
    assert feature(broken, "frames_count_changed") > 0.25 > feature(steady, "frames_count_changed")
    # a one-cell object changes two cells per move; a vanishing changes one, its return one more
    assert feature(broken, "step_max") == pytest.approx(2) and feature(steady, "step_mean") == pytest.approx(2)
    still = slot_features(path_mask([(1, 1)] * 4), grid_coords(4))
    assert feature(still, "step_max") == 0 and feature(still, "travel") == 0 and feature(still, "lost_max") == 0


def test_pair_measurements_say_what_landed_on_what():
    ball = path_mask([(0, 0), (0, 1), (0, 2)])
    target = path_mask([(0, 2), (0, 2), None])  # covered by the ball at the end
    f = pair_features(torch.cat([ball, target], dim=1), grid_coords(4))
    k = 2
    ends = f[0, : k * k].view(k, k)  # log1p of slot k's last cells on slot j's first cells
    assert float(ends[0, 1]) == pytest.approx(torch.log1p(torch.tensor(1.0)).item())
    assert float(ends[1, 0]) == 0
    offsets_start = f[0, 2 * k * k: 4 * k * k].view(k, k, 2)
    assert float(offsets_start[0, 1, 1]) == near(-2 / 4)  # the ball starts two columns left of the target


def test_outside_changes_count_flickers_outside_the_first_frames_objects_only():
    """Two red bars in columns 1-2 (rows 4-7) on black; the box they span is columns 1-2, rows 4-7."""
    net = probe_teacher(outside_changes=True).net
    frames = torch.zeros(6, 3, 8 * CELL, 8 * CELL)
    frames[:, :, 4 * CELL:, CELL:3 * CELL] = torch.from_numpy(RGB[3]).float()[:, None, None]

    def measure(video: torch.Tensor) -> list[float]:  # the soft reading leaves about 0.02 per frame
        return pytest.approx([float(v) for v in outside_changes(*net.encode_video(video), side=8)[0]], abs=0.04)

    assert measure(frames) == [0, 0, 0, 0]
    inside = frames.clone()
    inside[2:, :, 4 * CELL:5 * CELL, CELL:2 * CELL] = 0  # a bar shortened, inside the box: not counted
    assert measure(inside) == [0, 0, 0, 0]
    flicker = frames.clone()
    flicker[3, :, 0:CELL, 6 * CELL:7 * CELL] = 1  # one white cell, one frame, far from the bars
    assert measure(flicker) == [1 / 5, 1, 1 / 5, 0]  # mean, peak, share of frames, at the end
    above = frames.clone()
    above[1:, :, 3 * CELL:4 * CELL, CELL:2 * CELL] = 1  # directly above a bar (outside its rows) to the end
    assert measure(above) == [1, 1, 1, 1]
    assert probe_teacher().net.feat_norm.normalized_shape[0] + 4 == net.feat_norm.normalized_shape[0]


def test_a_probe_teacher_keeps_the_teacher_contract():
    check_teacher(probe_teacher())


def test_an_unknown_kind_is_refused_with_the_valid_ones():
    with pytest.raises(VlmteachError, match="valid: transformer, probe"):
        TinyTeacher(TinyTeacherConfig(vocab=VOCAB, kind="oracle"))


def ball_video(colour: int, cols: list[int | None], side: int = 8) -> torch.Tensor:
    """(T, 3, 32, 32): a ball of palette colour `colour` on black in row 3, at column cols[t] (None: gone)."""
    frames = torch.zeros(len(cols), 3, side * CELL, side * CELL)
    rgb = torch.from_numpy(RGB[colour]).float()
    for t, c in enumerate(cols):
        if c is not None:
            frames[t, :, 3 * CELL:4 * CELL, c * CELL:(c + 1) * CELL] = rgb[:, None, None]
    return frames


def test_a_probe_learns_from_the_question_which_object_and_which_rule():
    """Two balls; "is the red ball always there" must follow the red one's vanishing and not the blue
    one's, and "is the red ball at the right at the end" its final place. Learned from 200 small
    batches, then checked on videos it never saw."""
    red, blue = 3, 5
    assert RGB[red][0] > 0.5 and RGB[blue][2] > 0.5
    questions = ["is the red ball always there", "is the blue ball always there", "is the red ball at the right at the end"]
    gen = torch.Generator().manual_seed(0)

    def example():
        cols = {}
        for c in (red, blue):
            path = [int(x) for x in torch.randint(0, 8, (1,), generator=gen).repeat(6)]
            if torch.rand(1, generator=gen) < 0.5:
                path[int(torch.randint(1, 6, (1,), generator=gen))] = None
            cols[c] = path
        video = ball_video(red, cols[red])
        blue_video = ball_video(blue, cols[blue])
        video[:, :, 5 * CELL:6 * CELL] = blue_video[:, :, 3 * CELL:4 * CELL]  # the blue ball runs in row 5
        labels = [all(c is not None for c in cols[red]), all(c is not None for c in cols[blue]),
                  cols[red][-1] is not None and cols[red][-1] >= 4]
        return video, torch.tensor(labels, dtype=torch.float)

    teacher = probe_teacher()
    net = teacher.net.train()
    ids = teacher.tokenizer.encode(questions)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(200):
        batch = [example() for _ in range(16)]
        videos = torch.stack([v for v, _ in batch])
        owner = torch.arange(16).repeat_interleave(3)
        logits = net.logits(net.encode_video(videos), ids.repeat(16, 1), owner)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.cat([y for _, y in batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    test = [example() for _ in range(64)]
    with torch.no_grad():
        pred = torch.stack([teacher.yes_logits(v, questions) > 0 for v, _ in test]).float()
    truth = torch.stack([y for _, y in test])
    accuracy = (pred == truth).float().mean(0)
    assert bool((accuracy >= 0.9).all()), f"held-out accuracy per question {accuracy.tolist()}"
