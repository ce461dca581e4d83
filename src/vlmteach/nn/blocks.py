"""Transformer pieces for the tiny models. Linear layers are named like diffusers' attention
(`to_q`, `to_k`, `to_v`, `to_out`) and MLP (`ff_in`, `ff_out`), so LoRA targets read the same."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from vlmteach.nn.rope import apply_rope


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding (B, dim) of flow times t in [0, 1] (B,)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
    angles = 1000.0 * t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class Attention(nn.Module):
    """Multi-head attention from x (B, N, D) to context (B, M, D), with an optional key padding mask."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim)
        self.to_k = nn.Linear(dim, dim)
        self.to_v = nn.Linear(dim, dim)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                mask: torch.Tensor | None = None,
                rope: tuple[torch.Tensor, torch.Tensor] | None = None,
                index: torch.Tensor | None = None) -> torch.Tensor:
        """`rope` (cos, sin tables, nn/rope.py) rotates queries and keys; self-attention only.
        `index` (B,) picks each query row's context among fewer contexts (C, M, D) after the key and
        value projections, so a context shared by many rows is projected once."""
        context = x if context is None else context
        b, n, d = x.shape
        h = self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(y.shape[0], -1, h, d // h).transpose(1, 2)

        q, k, v = split(self.to_q(x)), split(self.to_k(context)), split(self.to_v(context))
        if index is not None:
            k, v = k[index], v[index]
        if rope is not None:
            q, k = apply_rope(q, rope), apply_rope(k, rope)
        attn_mask = None if mask is None else mask[:, None, None, :]  # True = attend
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.to_out(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block: self-attention, optional cross-attention to text, MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4, cross: bool = False):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.cross = Attention(dim, heads) if cross else None
        self.norm2 = nn.LayerNorm(dim) if cross else None
        self.norm3 = nn.LayerNorm(dim)
        self.ff_in = nn.Linear(dim, dim * mlp_ratio)
        self.ff_out = nn.Linear(dim * mlp_ratio, dim)

    def forward(self, x: torch.Tensor, text: torch.Tensor | None = None,
                text_mask: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                rope: tuple[torch.Tensor, torch.Tensor] | None = None,
                text_index: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), mask=mask, rope=rope)
        if self.cross is not None:
            x = x + self.cross(self.norm2(x), text, text_mask, index=text_index)
        return x + self.ff_out(F.gelu(self.ff_in(self.norm3(x))))


class TextEncoder(nn.Module):
    """Word ids (B, L) -> contextual token features (B, L, D) and the padding mask (B, L)."""

    def __init__(self, vocab_size: int, max_len: int, dim: int, depth: int, heads: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.zeros(1, max_len, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio=2) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        nn.init.normal_(self.pos, std=0.02)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = ids != 0
        x = self.embed(ids) + self.pos[:, : ids.shape[1]]
        for block in self.blocks:
            x = block(x, mask=mask)
        return self.norm(x), mask
