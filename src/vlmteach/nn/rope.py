"""Rotary position embedding over (frame, row, column), as Wan's 3D RoPE: attention scores depend on
the offset between two tokens, so a rule learned at one place and time (a block falls one row per
frame) holds at every other."""

from __future__ import annotations

import torch


def rope_3d(frames: int, rows: int, cols: int, head_dim: int, base: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables (frames*rows*cols, head_dim/2) for tokens in frame-major, then row-major
    order. The head dimension is split between the three axes, each an even share."""
    if head_dim % 2:
        raise ValueError(f"rotary embedding needs an even head dimension, got {head_dim}")
    space = head_dim // 3 // 2 * 2
    shares = (head_dim - 2 * space, space, space)  # frame, row, column
    grid = torch.meshgrid(torch.arange(frames), torch.arange(rows), torch.arange(cols), indexing="ij")
    angles = []
    for coord, share in zip(grid, shares):
        inv_freq = base ** (-torch.arange(0, share, 2).float() / max(share, 1))
        angles.append(coord.flatten()[:, None].float() * inv_freq[None])
    a = torch.cat(angles, dim=-1)
    return a.cos(), a.sin()


def apply_rope(x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Rotate consecutive channel pairs of x (..., N, head_dim) by the angles of its N positions."""
    cos, sin = rope
    n = x.shape[-2]
    cos, sin = cos[:n].to(x.dtype), sin[:n].to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
