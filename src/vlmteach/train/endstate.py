"""`vlmteach train endstate`: train the tiny teacher's picture of "done" (teachers/endstate.py).

Each batch draws training instances of all 13 families (teacher seeds, every difficulty; a judge has
seen every kind of task) and asks the rule book's goal question for each prompt; the target is the
ground truth's final frame, read cell by cell (ring and centre colour), and the loss the
cross-entropy of every cell's two colours. It needs no reasoner and no sample pool."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from vlmteach.nn.checkpoint import load_checkpoint, save_checkpoint
from vlmteach.tasks import all_families
from vlmteach.tasks.palette import PALETTE_SIZE
from vlmteach.teachers.endstate import NAME, EndState, EndStateConfig, Picture, check_picture_mode
from vlmteach.teachers.rulebook import propose
from vlmteach.train.data import draw_instances
from vlmteach.train.record import finish
from vlmteach.train.seeds import TEACHER_SEEDS
from vlmteach.train.teacher import build_vocab
from vlmteach.video import sample_frames

CHECKPOINT_EVERY = 250


@dataclass
class EndStateTrainConfig:
    out: str
    steps: int = 3000
    batch: int = 64
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"


def goal_examples(insts) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """Instances -> (first-frame tile codes (n, H, W), goal questions, final (ring, centre) colours (n, cells, 2))."""
    first = torch.from_numpy(np.stack([i.states[0] for i in insts]))
    last = torch.from_numpy(np.stack([i.states[-1] for i in insts])).flatten(1)
    return first, [propose(i.prompt).goal for i in insts], torch.stack([last // PALETTE_SIZE, last % PALETTE_SIZE], -1)


def goal_batch(rng: np.random.Generator, families, n: int) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """`goal_examples` of n training instances (train/data.py)."""
    return goal_examples(draw_instances(rng, families, n, TEACHER_SEEDS))


def train_endstate(cfg: EndStateTrainConfig) -> Path:
    """Train (resuming from `out/endstate.ckpt` when it is there) and save `tiny_endstate` in `out`."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    model = EndState(EndStateConfig(vocab=build_vocab()))
    net = model.net.to(cfg.device).train()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps, pct_start=0.05)
    families = all_families()
    ckpt, start, earlier = out / "endstate.ckpt", 0, 0.0
    rng = np.random.default_rng([cfg.seed, 0])  # the batches' generator
    if ckpt.exists():  # resume: the weights, the optimizer, the schedule and the batches' generator
        meta = load_checkpoint(ckpt, net, opt)
        start, earlier = meta["step"], meta.get("wall_s", 0.0)
        rng.bit_generator.state = meta["rng"]
        with warnings.catch_warnings():  # fast-forwarding the schedule, no optimizer step is due
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(start):
                sched.step()
    started = time.time()
    for step in tqdm(range(start, cfg.steps), desc="endstate", initial=start, total=cfg.steps, disable=None):
        first, questions, target = goal_batch(rng, families, cfg.batch)
        logits = net(first.to(cfg.device), model.tokenizer.encode(questions).to(cfg.device))
        loss = F.cross_entropy(logits.flatten(0, 2), target.to(cfg.device).flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        if (step + 1) % CHECKPOINT_EVERY == 0 and step + 1 < cfg.steps:
            save_checkpoint(ckpt, net, opt, {"step": step + 1, "wall_s": earlier + time.time() - started,
                                             "rng": rng.bit_generator.state})
    return finish(model, out, NAME, cfg, TEACHER_SEEDS, [f.name for f in families], started, earlier)


def accuracy(model: EndState, families, seeds: range) -> dict[str, dict[str, float]]:
    """Per family: the share of cells whose final (ring, centre) colours the net names, of the cells that
    change from the first frame, and of instances whose whole final frame it names."""
    out = {}
    net = model.net.eval()
    with torch.no_grad():
        for fam in families:
            first, questions, target = goal_examples([fam.generate(s) for s in seeds])
            ok = (net(first, model.tokenizer.encode(questions)).argmax(-1) == target).all(-1)
            codes = first.flatten(1)
            changed = (torch.stack([codes // PALETTE_SIZE, codes % PALETTE_SIZE], -1) != target).any(-1)
            out[fam.name] = {"cells": ok.float().mean().item(),
                             "changed_cells": (ok & changed).sum().item() / max(int(changed.sum()), 1),
                             "whole_frame": ok.all(-1).float().mean().item()}
    return out


@torch.no_grad()
def picture_distances(end_state: EndState, reasoner, families, per_family: int, noises: int,
                      seed: int = 0, teacher=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(d, goal part, the teacher's own goal logit, 0 without a teacher) for the reasoner's 4-step samples
    and the ground truths of `per_family` teacher-seed instances of each family, `noises` samples each:
    what `fit_picture` calibrates the answer on."""
    from vlmteach.methods.common import candidate_seed, full_sample  # methods sit above train: import late

    pic = Picture(end_state, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    ds, goals, own = [], [], []
    for fam in families:
        for _ in range(per_family):
            inst = fam.generate(int(rng.integers(*TEACHER_SEEDS)))
            question = propose(inst.prompt).goal
            cond = reasoner.condition(inst.first_frame, inst.prompt)
            videos = [inst.ground_truth] + [full_sample(reasoner, cond, candidate_seed(inst.seed, i)) for i in range(noises)]
            for video in videos:
                ds.append(float(pic.distance(video.frames, question)))
                goals.append(fam.score(video, inst).parts["goal"])
                own.append(float(teacher.yes_logits(sample_frames(video.frames, teacher.max_frames), [question])[0])
                           if teacher is not None else 0.0)
    return torch.tensor(ds), torch.tensor(goals), torch.tensor(own)


def fit_picture(d: torch.Tensor, goal: torch.Tensor, steps: int = 500,
                offset: torch.Tensor | None = None) -> tuple[float, float]:
    """(bias, scale) of the logistic answer sigmoid(offset + bias - scale * d) fitted to the goal parts by
    cross-entropy (the scale kept positive). `offset`: the logit the picture is added to (the teacher's
    own answer), so that the picture adds only the evidence that answer lacks."""
    offset = torch.zeros_like(d) if offset is None else offset
    bias = torch.zeros((), requires_grad=True)
    log_scale = torch.tensor(float(np.log(1.0 / max(float(d.std()), 1e-6))), requires_grad=True)
    opt = torch.optim.Adam([bias, log_scale], lr=0.05)
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(offset + bias - log_scale.exp() * d, goal.float())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(bias.detach()), float(log_scale.detach().exp())


def attach_picture(out: str | Path, teacher_dir: str | Path, reasoner_dir: str | Path,
                   per_family: int = 30, noises: int = 3, mode: str = "guide") -> Path:
    """Give the teacher in `teacher_dir` the end-state net trained in `out` as its picture of the end of
    the video (used as `mode` says: teachers/endstate.py `Picture`), fitted on the reasoner's samples
    (`picture_distances`, `fit_picture`; on top of the nets' own goal answer unless it replaces it),
    and save that teacher, net included, in `out`; its fitted bias and scale go into `tiny_teacher.json`
    and `tiny_endstate.fit.json` (with the data's size)."""
    import json

    from vlmteach.reasoners.tiny import TinyReasoner
    from vlmteach.teachers.tiny import TinyTeacher

    check_picture_mode(mode)  # before the samples are drawn
    out = Path(out)
    end_state = EndState.load(out)
    reasoner = TinyReasoner.load(reasoner_dir)
    teacher = TinyTeacher.load(teacher_dir).with_picture(None)
    d, goal, own = picture_distances(end_state, reasoner, all_families(), per_family, noises, teacher=teacher)
    bias, scale = fit_picture(d, goal, offset=None if mode == "replace" else own)
    teacher.with_picture(Picture(end_state, bias, scale, mode))
    path = teacher.save(out)
    (out / f"{NAME}.fit.json").write_text(json.dumps(
        {"bias": bias, "scale": scale, "videos": len(d), "goal_share": float((goal >= 0.999).float().mean()),
         "per_family": per_family, "noises": noises, "mode": mode, "seeds": list(TEACHER_SEEDS)}, indent=2))
    return path
