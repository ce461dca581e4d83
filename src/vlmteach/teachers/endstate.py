"""The tiny teacher's picture of "done": from a video's first frame and a goal question, the final frame
that would answer it "Yes", cell by cell.

A judge asked "by the end of the video, is the brown ball on the green square?" knows where the
square is and so what the last frame should show. This net learns that picture from training
instances (train/endstate.py): it reads each cell of the first frame (its ring and centre colour,
as the scorers read them, tasks/grid.py) and the question's words, and predicts the ring and centre
colour of every cell in the final frame. It sees no instance data: the first frame is the video's
own, and what the question asks for is learned from its text. The teacher's answer to a goal question
compares the video's last frame with this picture (teachers/tiny.py), so the gradient of that answer
says which cells should end which colour, where the probe nets' measurements say it only loosely
(docs/tiny-world.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from vlmteach.errors import VlmteachError
from vlmteach.nn import TextEncoder, WordTokenizer
from vlmteach.nn.persist import load_config, load_weights, save_model
from vlmteach.tasks.grid import CELL, classify_frames, render
from vlmteach.tasks.palette import PALETTE_SIZE, RGB

COLOURS = len(RGB)
NAME = "tiny_endstate"


@dataclass
class EndStateConfig:
    vocab: list[str] = field(default_factory=list)
    max_text: int = 48
    dim: int = 128
    depth: int = 4  # decoder layers: self-attention over cells, cross-attention to the question
    text_depth: int = 2
    heads: int = 4
    side: int = 8  # grid cells per side


class EndStateNet(nn.Module):
    """First-frame tile codes (B, side, side) + question ids (B, L) -> final-frame logits (B, cells, 2, colours)
    (ring, then centre)."""

    def __init__(self, cfg: EndStateConfig):
        super().__init__()
        if not cfg.vocab:
            raise VlmteachError("end-state net: the config has no vocabulary")
        self.cfg = cfg
        d = cfg.dim
        self.text = TextEncoder(len(cfg.vocab), cfg.max_text, d, cfg.text_depth, cfg.heads)
        self.ring = nn.Embedding(COLOURS, d)
        self.centre = nn.Embedding(COLOURS, d)
        self.pos = nn.Parameter(torch.randn(1, cfg.side * cfg.side, d) * 0.02)
        layer = nn.TransformerDecoderLayer(d, cfg.heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, cfg.depth)
        self.out = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 2 * COLOURS))

    def forward(self, codes: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        side = self.cfg.side
        if codes.shape[-2:] != (side, side):
            raise VlmteachError(f"end-state net reads {side}x{side} grids, got {tuple(codes.shape[-2:])}")
        mem, mask = self.text(ids)
        c = codes.flatten(1)
        x = self.ring(c // PALETTE_SIZE) + self.centre(c % PALETTE_SIZE) + self.pos
        h = self.decoder(x, mem, memory_key_padding_mask=~mask)
        return self.out(h).view(len(c), side * side, 2, COLOURS)


class EndState:
    """The end-state net with its tokenizer: `picture(first_frames, questions)` gives the imagined final
    frames and how sure the net is of each pixel's colour."""

    def __init__(self, cfg: EndStateConfig, net: EndStateNet | None = None):
        self.cfg = cfg
        self.net = net if net is not None else EndStateNet(cfg)
        self.tokenizer = WordTokenizer(cfg.vocab, cfg.max_text)

    @torch.no_grad()
    def picture(self, first: torch.Tensor, questions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """First frames (B, 3, H, W) in [0, 1] (any size; read on the net's grid) and one question each ->
        (pictures (B, 3, side*CELL, side*CELL), confidence (B, 1, side*CELL, side*CELL)): each cell drawn
        in its most likely ring and centre colours, its confidence the smaller of the two probabilities."""
        side = self.cfg.side
        if first.ndim != 4 or len(first) != len(questions):
            raise VlmteachError(f"picture: expected (B, 3, H, W) frames and B questions, got {tuple(first.shape)} "
                                f"and {len(questions)}")
        codes = torch.from_numpy(classify_frames(first, (side, side))).long()
        device = next(self.net.parameters()).device
        probs = self.net(codes.to(device), self.tokenizer.encode(questions).to(device)).float().softmax(-1).cpu()
        conf, idx = probs.max(-1)  # (B, cells, 2)
        b = len(first)
        named = (idx[..., 0] * PALETTE_SIZE + idx[..., 1]).view(b, side, side)  # the tile codes it names
        sure = conf.amin(-1).view(b, side, side).repeat_interleave(CELL, 1).repeat_interleave(CELL, 2)[:, None]
        return render(named.numpy()).frames, sure

    def save(self, folder: str | Path, name: str = NAME) -> Path:
        return save_model(folder, name, self.cfg, self.net)

    @classmethod
    def load(cls, folder: str | Path, name: str = NAME) -> EndState:
        fields, weights = load_config(folder, name, "train it with `vlmteach train endstate`")
        cfg = EndStateConfig(**fields)
        net = EndStateNet(cfg)
        load_weights(net, weights)
        return cls(cfg, net.eval())


END_PHRASE = "by the end of the video"


def asks_about_end(question: str) -> bool:
    """Whether a question asks how the video ends: the rule book's goal questions and the generic one
    all begin "By the end of the video" (tasks/queries.py, teachers/rulebook.py)."""
    return question.strip().lower().startswith(END_PHRASE)


PICTURE_MODES = ("guide", "add", "replace")


def check_picture_mode(mode: str) -> None:
    """Refuse a picture mode that is not one of PICTURE_MODES, naming the valid ones."""
    if mode not in PICTURE_MODES:
        raise VlmteachError(f"unknown picture mode {mode!r}; valid: {', '.join(PICTURE_MODES)}")


class Picture:
    """The tiny teacher's evidence about the end of the video: the logit of "Yes" is
    `bias - scale * d`, where d is the mean squared distance between the video's last frame and the
    end state pictured from its first frame and the question, each pixel weighed by how sure the
    picture is of it. `bias` and `scale` are fitted to the scorers' goal parts (train/endstate.py).

    How the teacher uses it (`mode`): "guide" (shipped): its answers stay its nets' own, and the
    picture gives their gradient (the nets judge, the picture steers); "add": added to the nets'
    answer; "replace": the answer alone."""

    def __init__(self, end_state: EndState, bias: float, scale: float, mode: str = "guide", cache: int = 256):
        if scale <= 0:
            raise VlmteachError(f"picture scale must be > 0, got {scale}")
        check_picture_mode(mode)
        self.end_state, self.bias, self.scale, self.mode = end_state, float(bias), float(scale), mode
        self._cache: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self._size = cache

    def pictured(self, first: torch.Tensor, question: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(picture, confidence) for one first frame (3, H, W), at the frame's size; memoized, since the
        loop and best-of-N ask about the same first frame and question at every sample."""
        key = (question, tuple(first.shape), hash(first.detach().to("cpu", torch.float32).numpy().tobytes()))
        if key not in self._cache:
            if len(self._cache) >= self._size:
                self._cache.pop(next(iter(self._cache)))
            pic, sure = self.end_state.picture(first.detach().float()[None].cpu(), [question])
            if pic.shape[-2:] != first.shape[-2:]:
                pic = torch.nn.functional.interpolate(pic, size=first.shape[-2:], mode="nearest")
                sure = torch.nn.functional.interpolate(sure, size=first.shape[-2:], mode="nearest")
            self._cache[key] = (pic[0], sure[0])
        return self._cache[key]

    def distance(self, frames: torch.Tensor, question: str) -> torch.Tensor:
        """Frames (K, 3, H, W), first and last included -> d, differentiable w.r.t. the last frame."""
        pic, sure = self.pictured(frames[0], question)
        return (sure.to(frames) * (frames[-1] - pic.to(frames)) ** 2).mean()

    def logits(self, frames: torch.Tensor, questions: list[str]) -> torch.Tensor:
        return torch.stack([self.bias - self.scale * self.distance(frames, q) for q in questions])


def picture_mode(spec: dict) -> str:
    """The mode a teacher manifest's "picture" entry names; manifests written before modes existed
    say `"adds": true` ("add") or nothing ("replace")."""
    if "mode" in spec:
        return spec["mode"]
    return "add" if spec.get("adds", False) else "replace"
