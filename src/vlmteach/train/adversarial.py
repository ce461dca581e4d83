"""Adversarial rounds for the tiny teacher: run the method's own test-time loop against the current
teacher and label what it produces with the rule-based scorers.

A teacher trained only on ground truths, corruptions and plain reasoner samples is easy to fool:
optimizing a LoRA against it lowers its loss while the true score falls (measured: 16 steps took
the one-step score from 0.158 to 0.092). Each round adds the videos that fooled it, with their
true labels, to its training pool, so the cheapest way to raise P("Yes") becomes doing the task."""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from vlmteach.optim import TTOConfig, clean_prediction, optimize
from vlmteach.reasoners.tiny import TinyReasoner
from vlmteach.tasks import Instance, TaskFamily
from vlmteach.teachers.base import QuerySet
from vlmteach.teachers.rulebook import generic_queries, propose
from vlmteach.teachers.tiny import TinyTeacher
from vlmteach.train.data import draw_instances
from vlmteach.train.teacher_data import GENERIC_P, PoolItem, to_uint8

LRS = (3e-4, 1e-3, 3e-3)  # the learning rates the method may use, so every one is covered
GRADS = ("first-step", "last-step")  # and the views it may optimize
MAX_STEPS = 16
SNAPSHOTS = 2  # what the loop shows the teacher (light-decoded), kept at random steps
SAMPLES = 2  # finished 4-step samples (what select=judge judges), kept at other random steps


def tto_videos(reasoner: TinyReasoner, teacher: TinyTeacher, inst: Instance, queries, seed: int,
               rng: np.random.Generator) -> list[torch.Tensor]:
    """From one loop against `teacher` (random learning rate and gradient mode, 16 steps): the
    light-decoded clean predictions it optimizes and finished 4-step samples at random steps, plus
    the final 4-step sample (full decoder): what the method shows the teacher, what it selects
    among and what it outputs."""
    cfg = TTOConfig(lr=float(rng.choice(LRS)), fixed_steps=MAX_STEPS, grad=str(rng.choice(GRADS)))
    steps = rng.choice(np.arange(1, MAX_STEPS + 1), size=SNAPSHOTS + SAMPLES, replace=False)
    views, finished = {int(s) for s in steps[:SNAPSHOTS]}, {int(s) for s in steps[SNAPSHOTS:]}
    cond, z1 = reasoner.condition(inst.first_frame, inst.prompt), reasoner.noise(seed)
    out = []

    def snapshot(step: int, loss: float) -> None:  # called before each step, with the LoRA as it is
        with torch.no_grad():
            if step in views:
                out.append(reasoner.decode_light(clean_prediction(reasoner, z1, cond, cfg.grad)).clamp(0, 1))
            if step in finished:
                out.append(reasoner.decode_frames(reasoner.sample(z1, cond)))

    reasoner.add_lora(cfg.rank)
    try:
        optimize(reasoner, teacher, cond, z1, queries, cfg, snapshot)
        with torch.no_grad():
            out.append(reasoner.decode_frames(reasoner.sample(z1, cond)))
    finally:
        reasoner.drop_lora()
    return out


def loop_queries(inst: Instance, rng: np.random.Generator) -> QuerySet:
    """The queries a loop optimizes: the rule book's for the instance, or one time in four the generic ones."""
    return generic_queries() if rng.random() < GENERIC_P else propose(inst.prompt)


def adversarial_pool(reasoner: TinyReasoner, teacher: TinyTeacher, n: int, rng: np.random.Generator,
                     families: list[TaskFamily], seeds: tuple[int, int]) -> list[PoolItem]:
    """One item per loop of `n` against the current teacher (frozen meanwhile): the loop's instance
    with its videos (uint8) as the "adversarial" source."""
    params = list(teacher.net.parameters())
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    was_training = teacher.net.training
    device = next(teacher.net.parameters()).device
    teacher.net.cpu().eval()  # the reasoner and its LoRA live on the CPU
    out = []
    try:
        for inst in tqdm(draw_instances(rng, families, n, seeds), desc="adversarial loops", unit="loop"):
            queries = loop_queries(inst, rng)
            videos = tto_videos(reasoner, teacher, inst, queries, int(rng.integers(2**31)), rng)
            out.append(PoolItem(inst, {"adversarial": to_uint8(torch.stack(videos))}))
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)
        teacher.net.to(device).train(was_training)
    return out
