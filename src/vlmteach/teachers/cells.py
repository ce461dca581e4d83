"""How the tiny teacher nets read a grid cell: softly and differentiably, as the scorers read it
hard (tasks/grid.py), so a teacher's gradient says which colour a cell should move towards."""

from __future__ import annotations

import torch

from vlmteach.tasks.grid import CELL


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
