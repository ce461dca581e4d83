"""The built-in tiny teacher: a small video question-answering transformer that returns the
log-likelihood of "Yes" for a yes/no question about a video, differentiable w.r.t. the frames.

Read top to bottom: frames are resized to the native 32x32 and turned into tokens, either by a
patch stem or by the cell stem (CellStem: each cell's ring and centre colours and their soft palette
assignment, as the scorers read a cell); a video transformer encodes them once; each question (word
ids) is encoded by a text transformer and reads the video (or, with readout="summary", a summary of
it: first and last frames, time mean and maximum, per-frame means) through cross-attention; a head
on its first token gives the logit of "Yes". A config of kind "probe" builds the other net, which
measures the video instead (teachers/probe.py); the shipped teacher is the mean-logit ensemble of
three probe nets (train/teacher.py MEMBERS), and TinyTeacher wraps either kind or an ensemble. A
teacher may also carry a picture of the end state (teachers/endstate.py); the shipped one's answers
are its nets', and the picture gives the gradient of its answers to questions about the end of the video.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vlmteach.errors import VlmteachError
from vlmteach.nn import Block, TextEncoder, WordTokenizer
from vlmteach.nn.persist import load_config, load_weights, save_model
from vlmteach.paths import weights_dir
from vlmteach.tasks.grid import CELL
from vlmteach.tasks.palette import RGB
from vlmteach.teachers.base import QuerySet, Teacher
from vlmteach.teachers.cells import cell_colours, frames_at, question_owners
from vlmteach.teachers.endstate import NAME as END_STATE_NAME
from vlmteach.teachers.endstate import EndState, Picture, asks_about_end, picture_mode
from vlmteach.teachers.rulebook import propose
from vlmteach.video import sample_frames


@dataclass
class TinyTeacherConfig:
    vocab: list[str] = field(default_factory=list)
    size: int = 32  # frames are resized to size x size
    patch: int = 8  # pixels per token side: 8 is 2 x 2 cells, 4 one cell
    max_frames: int = 24
    dim: int = 96
    heads: int = 4
    video_depth: int = 2
    text_depth: int = 2
    fusion_depth: int = 2
    max_text: int = 48
    # Also feed each frame's difference to the previous and to the first frame, so that a jump, a
    # vanishing or a duplicated object is visible to the per-frame stem (older weights: False).
    motion_inputs: bool = False
    # Each video block attends within a frame, then a second block across frames at each place
    # ("divided" space-time attention), so per-cell tokens (patch 4) stay affordable (older: False).
    factorized: bool = False
    # How frames become tokens: "conv", a learned convolution over pixels (older weights); "cells", each
    # grid cell read as its ring and centre colours and their soft nearest-palette assignment (CellStem),
    # so the teacher perceives a video as the scorers do, with gradients that say which colour to move to.
    stem: str = "conv"
    palette_temp: float = 0.02  # "cells": softmax temperature over squared RGB distances to the palette
    tile_embed: bool = False  # "cells": add each cell's expected tile embedding (CellStem)
    # What the questions read (factorized only): "all" video tokens, or a "summary": each cell's token in
    # the first and last frames, its mean over time, and each frame's mean over space (5x fewer keys).
    readout: str = "all"
    # "summary" also gives each cell's maximum over time: a rule broken in one frame (a wall cell that
    # flickers, an object that splits for a moment) leaves a trace that a mean would wash out.
    readout_max: bool = False
    # "summary": blocks of joint attention over the first and last frames' cells before the questions
    # read them, so that "where did the ball end, relative to where the target was" is computed once.
    ends_depth: int = 0
    # "transformer" (TinyTeacherNet) or "probe" (teachers/probe.py: soft rule measurements picked by
    # the question); "slots" is how many objects a probe question picks.
    kind: str = "transformer"
    slots: int = 4
    # "probe": also measure changes outside the box the first frame's objects span (probe.outside_changes)
    outside_changes: bool = False


def _frame_positions(k: int, dim: int) -> torch.Tensor:
    """Sinusoidal embedding (k, dim) of each frame's relative time in [0, 1], so any frame count works."""
    pos = torch.linspace(0, 1, k)[:, None] * torch.arange(1, dim // 2 + 1)[None] * torch.pi
    return torch.cat([pos.sin(), pos.cos()], dim=-1)


STEMS = ("conv", "cells")
KINDS = ("transformer", "probe")
READOUTS = ("all", "summary")


class CellStem(nn.Module):
    """Frames (N, 3, S, S) -> one token per grid cell (N, cells, D), read as the scorers read a grid
    (tasks/grid.py): the mean colour of each cell's ring and of its centre, and for each a soft
    assignment to the palette (softmax of minus the squared distance / temperature). With
    `motion`, a cell also sees how these features changed since the previous and the first frame."""

    def __init__(self, dim: int, temp: float, motion: bool, tile_embed: bool = True):
        super().__init__()
        self.register_buffer("palette", torch.from_numpy(RGB).float(), persistent=False)
        self.temp, self.motion = temp, motion
        n = 2 * (len(RGB) + 3)
        self.proj = nn.Sequential(nn.Linear(3 * n if motion else n, dim), nn.GELU(), nn.Linear(dim, dim))
        # The expected embedding of the cell's tile (ring colour x centre colour), so "an orange ball"
        # (orange ring and centre) and "an orange ring on black" are different tokens from the start.
        self.tiles = nn.Parameter(torch.randn(len(RGB), len(RGB), dim) * 0.02) if tile_embed else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) in [0, 1] -> (N, cells, 2 * (palette + 3))."""
        return torch.cat(cell_colours(x, self.palette, self.temp), dim=-1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, K, 3, S, S) in [0, 1] -> (B, K, cells, D)."""
        b, k = frames.shape[:2]
        f = self.features(frames.flatten(0, 1)).unflatten(0, (b, k))
        tiles = 0.0
        if self.tiles is not None:
            p = len(RGB)
            joint = f[..., :p, None] * f[..., None, p + 3:2 * p + 3]  # P(ring colour, centre colour) per cell
            tiles = joint.flatten(-2) @ self.tiles.flatten(0, 1)
        if self.motion:
            prev = torch.cat([f[:, :1], f[:, :-1]], dim=1)
            f = torch.cat([f, f - prev, f - f[:, :1]], dim=-1)
        return self.proj(f) + tiles


class TinyTeacherNet(nn.Module):
    def __init__(self, cfg: TinyTeacherConfig):
        super().__init__()
        if cfg.stem not in STEMS:
            raise VlmteachError(f"tiny teacher stem {cfg.stem!r} is unknown; valid: {', '.join(STEMS)}")
        self.cfg = cfg
        if cfg.stem == "cells":
            self.stem = CellStem(cfg.dim, cfg.palette_temp, cfg.motion_inputs, cfg.tile_embed)
            n = (cfg.size // CELL) ** 2
        else:
            self.stem = nn.Sequential(nn.Conv2d(9 if cfg.motion_inputs else 3, 64, 4, stride=4), nn.GELU(),
                                      nn.Conv2d(64, cfg.dim, cfg.patch // 4, stride=cfg.patch // 4))
            n = (cfg.size // cfg.patch) ** 2
        self.space = nn.Parameter(torch.zeros(1, n, cfg.dim))
        self.video = nn.ModuleList(Block(cfg.dim, cfg.heads) for _ in range(cfg.video_depth))
        self.video_time = nn.ModuleList(Block(cfg.dim, cfg.heads) for _ in range(cfg.video_depth if cfg.factorized else 0))
        self.question = TextEncoder(len(cfg.vocab), cfg.max_text, cfg.dim, cfg.text_depth, cfg.heads)
        self.fusion = nn.ModuleList(Block(cfg.dim, cfg.heads, cross=True) for _ in range(cfg.fusion_depth))
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, 1)
        nn.init.normal_(self.space, std=0.02)
        if cfg.readout not in READOUTS or (cfg.readout == "summary" and not cfg.factorized):
            raise VlmteachError(f"tiny teacher readout {cfg.readout!r} is unknown or needs factorized=True; "
                                f"valid: {', '.join(READOUTS)}")
        if cfg.readout == "summary":
            self.kinds = nn.Parameter(torch.randn(5 if cfg.readout_max else 4, cfg.dim) * 0.02)
        self.ends = nn.ModuleList(Block(cfg.dim, cfg.heads) for _ in range(cfg.ends_depth if cfg.readout == "summary" else 0))

    def encode_video(self, frames: torch.Tensor) -> torch.Tensor:
        """(K, 3, H, W) or (B, K, 3, H, W) in [0, 1] -> video tokens (B, K * n, D)."""
        x, b, k = frames_at(frames, self.cfg.size)
        if self.cfg.stem == "cells":
            x = self.stem(x.view(b, k, *x.shape[1:]))
        else:
            x = x * 2 - 1
            if self.cfg.motion_inputs:
                v = x.view(b, k, *x.shape[1:])
                prev = torch.cat([v[:, :1], v[:, :-1]], dim=1)
                x = torch.cat([v, v - prev, v - v[:, :1]], dim=2).flatten(0, 1)
            x = self.stem(x).flatten(2).transpose(1, 2).reshape(b, k, -1, self.cfg.dim)  # (B, K, n, D)
        x = x + self.space[:, None] + _frame_positions(k, self.cfg.dim)[:, None].to(x)
        n, d = x.shape[2:]
        if not self.cfg.factorized:
            x = x.reshape(b, k * n, d)
            for block in self.video:
                x = block(x)
            return x
        for space, time in zip(self.video, self.video_time):
            x = space(x.reshape(b * k, n, d)).view(b, k, n, d)
            x = time(x.transpose(1, 2).reshape(b * n, k, d)).view(b, n, k, d).transpose(1, 2)
        if self.cfg.readout == "summary":
            parts = [p + kind for p, kind in zip((x[:, 0], x[:, -1], x.mean(1), x.mean(2))
                                                 + ((x.amax(1),) if self.cfg.readout_max else ()), self.kinds)]
            if len(self.ends):
                ends = torch.cat(parts[:2], dim=1)
                for block in self.ends:
                    ends = block(ends)
                parts[:2] = ends.split(n, dim=1)
            return torch.cat(parts, dim=1)
        return x.reshape(b, k * n, d)

    def logits(self, video: torch.Tensor, ids: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        """Video tokens (V, N, D) and question ids (B, L) -> "Yes" logits (B,). Question i reads video
        owner[i] (default: the one video when V is 1, else video i); each video is projected once."""
        owner = question_owners(video.shape[0], ids.shape[0], owner, video.device)
        q, mask = self.question(ids)
        for block in self.fusion:
            q = block(q, video, mask=mask, text_index=owner)
        return self.head(self.norm(q[:, 0]))[:, 0]


def build_net(cfg: TinyTeacherConfig) -> nn.Module:
    """The net a config describes: TinyTeacherNet, or ProbeNet for kind "probe"."""
    if cfg.kind not in KINDS:
        raise VlmteachError(f"tiny teacher kind {cfg.kind!r} is unknown; valid: {', '.join(KINDS)}")
    if cfg.kind == "probe":
        from vlmteach.teachers.probe import ProbeNet

        return ProbeNet(cfg)
    return TinyTeacherNet(cfg)


class TinyTeacherEnsemble(nn.Module):
    """Several teacher nets judging together by the weighted mean of their "Yes" logits (equal
    weights by default). Same interface as TinyTeacherNet, except that the encoded video is one
    encoding per member."""

    def __init__(self, members: list[nn.Module], weights: list[float] | None = None):
        super().__init__()
        self.members = nn.ModuleList(members)
        weights = [1.0] * len(members) if weights is None else list(weights)
        if len(weights) != len(members) or min(weights) < 0 or sum(weights) <= 0:
            raise VlmteachError(f"ensemble weights {weights} must be one non-negative number per member "
                                f"({len(members)}), not all zero")
        self.weights = [w / sum(weights) for w in weights]

    def encode_video(self, frames: torch.Tensor) -> list:
        return [m.encode_video(frames) for m in self.members]

    def logits(self, video: list, ids: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        return sum(w * m.logits(v, ids, owner) for m, v, w in zip(self.members, video, self.weights))


class TinyTeacher(Teacher):
    """The built-in teacher behind the Teacher interface. Queries come from a rule book keyed on
    the prompt text (teachers/rulebook.py); real VLM backends generate them instead."""

    name = "tiny"

    def __init__(self, cfg: TinyTeacherConfig | list[TinyTeacherConfig], nets: list[nn.Module] | None = None,
                 weights: list[float] | None = None):
        """One net for a config; an ensemble (weighted mean logit, equal `weights` by default) for a
        list of configs, which must share a vocabulary. `nets`: the members' nets, already built
        (default: fresh ones from the configs)."""
        super().__init__()
        self.cfgs = list(cfg) if isinstance(cfg, (list, tuple)) else [cfg]
        if not self.cfgs:
            raise VlmteachError("a tiny teacher needs at least one config")
        self.cfg = self.cfgs[0]  # the first member's: its vocabulary and text length are everyone's
        for c in self.cfgs[1:]:
            if (c.vocab, c.max_text) != (self.cfg.vocab, self.cfg.max_text):
                raise VlmteachError("ensemble members must share one vocabulary and max_text; "
                                    "train them with the same `build_vocab()`")
        self.max_frames = min(c.max_frames for c in self.cfgs)
        self.tokenizer = WordTokenizer(self.cfg.vocab, self.cfg.max_text)
        nets = nets if nets is not None else [build_net(c) for c in self.cfgs]
        if len(nets) != len(self.cfgs):
            raise VlmteachError(f"{len(nets)} nets for {len(self.cfgs)} configs: give one net per config")
        self.net = nets[0] if len(nets) == 1 else TinyTeacherEnsemble(nets, weights)
        self.net.eval()
        self.picture: Picture | None = None

    def with_picture(self, picture: Picture | None) -> TinyTeacher:
        """Use `picture` for questions about the end of the video, as its mode says (None: the nets alone)."""
        self.picture = picture
        return self

    @classmethod
    def ensemble(cls, members: list[TinyTeacher], weights: list[float] | None = None) -> TinyTeacher:
        """One teacher judging by the weighted mean logit of `members` (single-net teachers; equal
        weights by default); the nets are shared, not copied."""
        if any(len(m.cfgs) != 1 for m in members):
            raise VlmteachError("ensemble members must be single-net teachers")
        return cls([m.cfg for m in members], [m.net for m in members], weights)

    def propose_queries(self, first_frame: torch.Tensor, prompt: str) -> QuerySet:
        return propose(prompt)

    def yes_logits(self, frames: torch.Tensor, queries: list[str]) -> torch.Tensor:
        """Logits of "Yes" (n,) for frames (K, 3, H, W); the video is encoded once."""
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise VlmteachError(f"frames must be (K, 3, H, W), got {tuple(frames.shape)}")
        if frames.shape[0] > self.max_frames:
            raise VlmteachError(f"at most {self.max_frames} frames, got {frames.shape[0]}; sample fewer")
        self.cost.forwards += 1
        # a guiding picture changes no answer, only gradients: without autograd it is not consulted
        consulted = self.picture is not None and (self.picture.mode != "guide" or torch.is_grad_enabled())
        ends = [i for i, q in enumerate(queries) if consulted and asks_about_end(q)]
        rest = [i for i in range(len(queries)) if i not in ends]
        if not ends:
            return self._net_logits(frames, queries)
        pictured = self.picture.logits(frames, [queries[i] for i in ends])
        idx = torch.tensor(ends)
        if self.picture.mode == "guide":  # the nets' answers; the gradient is the picture's alone
            with torch.no_grad():
                out = self._net_logits(frames, queries)
            return out.index_put((idx,), out[ends] + (pictured - pictured.detach()).to(out))
        if self.picture.mode == "add":  # the nets' answer plus the picture's evidence
            out = self._net_logits(frames, queries)
            return out.index_put((idx,), out[ends] + pictured.to(out))
        out = torch.empty(len(queries), dtype=frames.dtype, device=frames.device)
        out[ends] = pictured.to(out)
        if rest:
            out[rest] = self._net_logits(frames, [queries[i] for i in rest])
        return out

    def _net_logits(self, frames: torch.Tensor, queries: list[str]) -> torch.Tensor:
        """The nets' own "Yes" logits, the video encoded once."""
        return self.net.logits(self.net.encode_video(frames), self.tokenizer.encode(queries))

    def yes_nll(self, frames: torch.Tensor, queries: list[str]) -> torch.Tensor:
        return F.softplus(-self.yes_logits(frames, queries))  # -log sigmoid(logit)

    def rewrite_prompt(self, first_frame: torch.Tensor, prompt: str, feedback: str | None = None) -> str:
        """Template, not generation (the tiny teacher has no language decoder): the instruction
        followed by the rule book's process checks, or by the checks a critique found failing."""
        checks = list(propose(prompt).process)
        if feedback:
            failing = [line[2:] for line in feedback.splitlines() if line.startswith("- ")]
            checks = failing or checks
        return " ".join([prompt, "Make sure of this:", *checks])

    def critique(self, frames: torch.Tensor, prompt: str) -> str:
        """Template critique: the rule book's queries this teacher answers "No" (P(Yes) < 0.5)."""
        queries = propose(prompt).texts
        with torch.no_grad():
            logits = self.yes_logits(sample_frames(frames, self.max_frames), queries)
        failing = [q for q, v in zip(queries, logits) if v < 0]
        return "\n".join(["The video fails these checks:", *(f"- {q}" for q in failing)]) if failing else ""

    def save(self, folder: str | Path, name: str = "tiny_teacher") -> Path:
        """`<name>.{json,safetensors}`; an ensemble (or a net with a picture) saves its members as
        `<name>_<i>.*` and lists them in `<name>.json` ({"members": [...]}, and the picture), returning that file."""
        if len(self.cfgs) == 1 and self.picture is None:
            return save_model(folder, name, self.cfg, self.net)
        # an ensemble, or one net with a picture (a single net's file is its config: no room for the picture)
        nets, weights = (self.net.members, self.net.weights) if len(self.cfgs) > 1 else ([self.net], [1.0])
        members = [f"{name}_{i}" for i in range(len(self.cfgs))]
        for member, cfg, net in zip(members, self.cfgs, nets):
            save_model(folder, member, cfg, net)
        path = Path(folder) / f"{name}.json"
        spec = {"members": members, "combine": "mean_logit", "weights": weights}
        if self.picture is not None:
            self.picture.end_state.save(folder, END_STATE_NAME)
            spec["picture"] = {"name": END_STATE_NAME, "bias": self.picture.bias, "scale": self.picture.scale,
                               "mode": self.picture.mode}
        path.write_text(json.dumps(spec))
        return path

    @classmethod
    def load(cls, folder: str | Path, name: str = "tiny_teacher") -> TinyTeacher:
        manifest = Path(folder) / f"{name}.json"
        if manifest.is_file():
            spec = json.loads(manifest.read_text())
            if spec.get("members") is not None:
                teacher = cls.ensemble([cls.load(folder, m) for m in spec["members"]], spec.get("weights"))
                pic = spec.get("picture")
                if pic is not None:
                    end_state = EndState.load(folder, pic.get("name", END_STATE_NAME))
                    teacher.with_picture(Picture(end_state, pic["bias"], pic["scale"], picture_mode(pic)))
                return teacher
        fields, weights = load_config(folder, name, "train one with `vlmteach train teacher`")
        model = cls(TinyTeacherConfig(**fields))
        load_weights(model.net, weights)
        return model


def from_spec(path: str | Path | None = None) -> TinyTeacher:
    """The "tiny" backend: the shipped weights, or those in the folder `path`."""
    return TinyTeacher.load(path or weights_dir())
