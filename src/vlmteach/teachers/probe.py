"""The "probe" teacher net: soft rule measurements of a video, chosen and weighed by the question.

The transformer nets (teachers/tiny.py) must learn to count cells and notice a one-frame flicker from
data, and they rank the reasoner's own samples of one instance poorly: those samples differ by
exactly such details. This net perceives a video as measurements instead. Each cell is read softly
(its ring and centre colours' soft palette assignment, CellStem's reading); the question, encoded
by a text transformer, picks `slots` objects by colour (a soft set of ring colours and of centre
colours each); for every slot the net measures, over time, how many cells it covers, how many of its first
cells it keeps, where it appears that it was not, how much and how far it moves, and where it ends
relative to every other slot's start; plus how many cells change between frames, and (the shipped
members) how many change outside the box the first frame's objects span. An MLP on these
measurements and the question gives the logit of "Yes". Everything is a smooth function of the
pixels, so the gradient says which colours to move where. It sees no instance data: which objects
matter and what counts as right is learned from the question text.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vlmteach.errors import VlmteachError
from vlmteach.nn import TextEncoder
from vlmteach.tasks.grid import CELL
from vlmteach.tasks.palette import BLACK, RGB
from vlmteach.teachers.cells import cell_colours, frames_at, question_owners


def _soft_step(x: torch.Tensor, at: float, sharp: float = 8.0) -> torch.Tensor:
    """A smooth 0/1 step at `at`: "more than half a cell" and the like, with a gradient."""
    return torch.sigmoid((x - at) * sharp)


# What slot_features measures per slot, in its order (counts in cells; `start`, `end`, `moved` are
# the slot's centre in rows and columns over the grid side; `drift` its mean step per frame).
SLOT_FEATURES = (
    "log_count_first", "log_count_last", "count_change_mean", "count_change_max", "frames_count_changed",
    "count_change_last", "lost_mean", "lost_max", "frames_lost", "lost_share_last", "new_mean",
    "frames_new", "new_last", "step_mean", "step_max", "frames_big_step", "frames_moving", "jump_excess_mean",
    "jump_max", "travel", "start_row", "start_col", "end_row", "end_col", "moved_rows", "moved_cols",
    "drift_rows", "drift_cols",
)


def slot_features(m: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Soft masks (B, K, T, C) of K slots over T frames and C cells, cell coordinates (C, 2) ->
    (B, K, len(SLOT_FEATURES)) measurements of each slot over time."""
    n = m.sum(-1)  # (B, K, T) cells covered per frame
    n0 = n[..., :1]
    dn = (n - n0).abs()
    kept = (m[..., :1, :] * (1 - m)).sum(-1)  # first-frame cells it no longer covers
    new = (m * (1 - m[..., :1, :])).sum(-1)  # cells it covers that it did not at first
    step = (m[..., 1:, :] - m[..., :-1, :]).abs().sum(-1)  # (B, K, T-1) cells changed per transition
    centre = (m @ coords) / (n[..., None] + 1e-3)  # (B, K, T, 2)
    jump = (centre[..., 1:, :] - centre[..., :-1, :]).abs().sum(-1) * _soft_step(n0, 0.5)
    feats = [
        torch.log1p(n0[..., 0]), torch.log1p(n[..., -1]), dn.mean(-1), dn.amax(-1), _soft_step(dn, 0.5).mean(-1),
        dn[..., -1], kept.mean(-1), kept.amax(-1), _soft_step(kept, 0.5).mean(-1), kept[..., -1] / (n0[..., 0] + 1),
        new.mean(-1), _soft_step(new, 0.5).mean(-1), new[..., -1], step.mean(-1), step.amax(-1),
        _soft_step(step, 2.5, 4.0).mean(-1), _soft_step(step, 0.5).mean(-1), F.relu(jump - 1).mean(-1),
        jump.amax(-1), jump.sum(-1),
    ]
    side = coords.max() + 1
    start, end = centre[..., 0, :] / side, centre[..., -1, :] / side  # (B, K, 2), in [0, 1)
    drift = (centre[..., 1:, :] - centre[..., :-1, :]).mean(-2)  # mean step (rows, columns) per frame
    return torch.cat([torch.stack(feats, dim=-1), start, end, end - start, drift], dim=-1)


def pair_features(m: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Soft masks (B, K, T, C) -> (B, 6 K K) relations between slots: how much of slot k's last cells
    lie on slot j's first and last cells, and the offsets (rows, columns) from j's centre to k's at
    the start and at the end (which is left of which, what landed on what)."""
    n = m.sum(-1)[..., None] + 1e-3
    centre = (m @ coords) / n / (coords.max() + 1)  # (B, K, T, 2)
    ends = torch.einsum("bkc,bjc->bkj", m[:, :, -1], m[:, :, 0])
    last = torch.einsum("bkc,bjc->bkj", m[:, :, -1], m[:, :, -1])
    off0 = centre[:, :, None, 0] - centre[:, None, :, 0]  # (B, K, K, 2)
    off1 = centre[:, :, None, -1] - centre[:, None, :, -1]
    return torch.cat([torch.log1p(ends).flatten(1), torch.log1p(last).flatten(1), off0.flatten(1), off1.flatten(1)], -1)


def _same(ring_a: torch.Tensor, centre_a: torch.Tensor, ring_b: torch.Tensor, centre_b: torch.Tensor) -> torch.Tensor:
    """The soft chance that cells read the same in a and b (ring and centre colours alike): (..., C, P) -> (..., C)."""
    return (ring_a * ring_b).sum(-1) * (centre_a * centre_b).sum(-1)


def outside_changes(ring: torch.Tensor, centre: torch.Tensor, side: int) -> torch.Tensor:
    """Soft colours (B, T, C, P) -> (B, 4): cells changed from the first frame outside the box that the
    first frame's non-black cells span (mean and maximum over frames, share of frames with one, and
    at the end). "Does everything around the bars / outside the board stay unchanged?" asks about
    exactly those cells, and a one-frame flicker there is what separates samples of one instance."""
    b = ring.shape[0]
    empty = ring[:, 0, :, BLACK] * centre[:, 0, :, BLACK]
    occupied = (empty.detach() < 0.5).float().view(b, side, side)  # the given first frame: no gradient

    def spanned(v: torch.Tensor) -> torch.Tensor:  # 1 between the first and the last occupied index
        return torch.minimum(v.cummax(-1).values, v.flip(-1).cummax(-1).values.flip(-1))

    outside = 1 - (spanned(occupied.amax(-1))[:, :, None] * spanned(occupied.amax(-2))[:, None, :]).flatten(1)
    since_first = 1 - _same(ring[:, 1:], centre[:, 1:], ring[:, :1], centre[:, :1])  # (B, T-1, C)
    out = (since_first * outside[:, None]).sum(-1)  # (B, T-1)
    return torch.stack([out.mean(-1), out.amax(-1), _soft_step(out, 0.5).mean(-1), out[:, -1]], dim=-1)


class ProbeNet(nn.Module):
    """Frames + question -> "Yes" logit through soft rule measurements (module docstring)."""

    def __init__(self, cfg):
        super().__init__()
        if cfg.size % CELL or cfg.slots < 1:
            raise VlmteachError(f"probe net: size {cfg.size} must be a multiple of {CELL} and slots "
                                f"({cfg.slots}) at least 1")
        self.cfg = cfg
        p, k, d = len(RGB), cfg.slots, cfg.dim
        self.register_buffer("palette", torch.from_numpy(RGB).float(), persistent=False)
        side = cfg.size // CELL
        rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
        self.register_buffer("coords", torch.stack([rows, cols], -1).flatten(0, 1).float(), persistent=False)
        self.question = TextEncoder(len(cfg.vocab), cfg.max_text, d, cfg.text_depth, cfg.heads)
        self.pick = nn.Linear(d, 2 * k * p)  # per slot: logits over ring colours and over centre colours
        n_feat = k * len(SLOT_FEATURES) + 6 * k * k + 6 + (4 if cfg.outside_changes else 0)
        self.head = nn.Sequential(nn.Linear(n_feat + d, 2 * d), nn.GELU(), nn.Linear(2 * d, d), nn.GELU(),
                                  nn.Linear(d, 1))
        self.feat_norm = nn.LayerNorm(n_feat)

    def encode_video(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(K, 3, H, W) or (B, K, 3, H, W) in [0, 1] -> soft ring and centre colours (B, T, cells, P)."""
        x, b, t = frames_at(frames, self.cfg.size)
        ring, _, centre, _ = cell_colours(x, self.palette, self.cfg.palette_temp)
        return ring.unflatten(0, (b, t)), centre.unflatten(0, (b, t))

    def features(self, ring: torch.Tensor, centre: torch.Tensor, pick: torch.Tensor) -> torch.Tensor:
        """Soft colours (B, T, C, P) and slot picks (B, 2, K, P) in [0, 1] -> measurements (B, n_feat)."""
        m = torch.einsum("btcp,bkp->bktc", ring, pick[:, 0]) * torch.einsum("btcp,bkp->bktc", centre, pick[:, 1])
        per_slot = slot_features(m, self.coords).flatten(1)
        changed = (1 - _same(ring[:, 1:], centre[:, 1:], ring[:, :-1], centre[:, :-1])).sum(-1)  # (B, T-1)
        end_changed = (1 - _same(ring[:, -1], centre[:, -1], ring[:, 0], centre[:, 0])).sum(-1)
        glob = torch.stack([changed.mean(-1), changed.amax(-1), _soft_step(changed, 0.5).mean(-1),
                            _soft_step(changed, 2.5, 4.0).mean(-1), _soft_step(changed, 4.5, 4.0).mean(-1),
                            end_changed], dim=-1)
        if self.cfg.outside_changes:
            side = self.cfg.size // CELL
            glob = torch.cat([glob, outside_changes(ring, centre, side)], dim=-1)
        return torch.cat([per_slot, pair_features(m, self.coords), torch.log1p(glob)], -1)

    def logits(self, video: tuple[torch.Tensor, torch.Tensor], ids: torch.Tensor,
               owner: torch.Tensor | None = None) -> torch.Tensor:
        """Encoded videos (V, ...) and question ids (B, L) -> "Yes" logits (B,); question i reads video
        owner[i] (default: the one video when V is 1, else video i)."""
        ring, centre = video
        owner = question_owners(ring.shape[0], ids.shape[0], owner, ring.device)
        q, _ = self.question(ids)
        h = q[:, 0]
        pick = torch.sigmoid(self.pick(h).view(len(h), 2, self.cfg.slots, -1))  # a set of colours per slot
        feats = self.feat_norm(self.features(ring[owner], centre[owner], pick))
        return self.head(torch.cat([feats, h], dim=-1))[:, 0]
