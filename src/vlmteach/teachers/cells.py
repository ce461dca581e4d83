"""What the tiny teacher nets (transformer and probe) share: how they take frames in, how they read
a grid cell (softly and differentiably, as the scorers read it hard, tasks/grid.py, so a teacher's
gradient says which colour a cell should move towards), and which video each question reads."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vlmteach.errors import VlmteachError
from vlmteach.tasks.grid import CELL


def frames_at(frames: torch.Tensor, size: int) -> tuple[torch.Tensor, int, int]:
    """(K, 3, H, W) or (B, K, 3, H, W) in [0, 1] -> (B * K, 3, size, size) (area-resized when
    needed), B and K."""
    if frames.ndim == 4:
        frames = frames[None]
    b, k = frames.shape[:2]
    x = frames.flatten(0, 1)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="area")
    return x, b, k


def question_owners(videos: int, questions: int, owner, device: torch.device) -> torch.Tensor:
    """The index of the video each question reads: `owner` as given, else the one video for every
    question (one video) or video i for question i (as many videos as questions)."""
    if owner is None:
        if videos not in (1, questions):
            raise VlmteachError(f"{videos} videos for {questions} questions: pass `owner`, "
                                "the index of the video each question reads")
        owner = torch.arange(questions) if videos > 1 else torch.zeros(questions, dtype=torch.long)
    return torch.as_tensor(owner, dtype=torch.long, device=device)


def cell_colours(x: torch.Tensor, palette: torch.Tensor, temp: float) -> tuple[torch.Tensor, ...]:
    """Frames (N, 3, S, S) in [0, 1] -> per cell, row by row (N, cells, .): the soft palette
    assignment of its ring (softmax of minus the squared RGB distance / `temp`) and the ring's mean
    RGB, then the same for its centre."""
    n, _, h, w = x.shape
    cells = x.reshape(n, 3, h // CELL, CELL, w // CELL, CELL).permute(0, 2, 4, 1, 3, 5).flatten(1, 2)
    total = cells.sum((-1, -2))
    inner = cells[..., 1:-1, 1:-1].sum((-1, -2))
    inner, outer = inner / (CELL - 2) ** 2, (total - inner) / (CELL ** 2 - (CELL - 2) ** 2)
    out = []
    for rgb in (outer, inner):
        d2 = ((rgb[..., None, :] - palette) ** 2).sum(-1)
        out += [torch.softmax(-d2 / temp, dim=-1), rgb]
    return tuple(out)
