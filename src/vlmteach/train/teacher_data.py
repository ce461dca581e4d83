"""The tiny teacher's training data: groups of videos of one instance, labelled by the scorers.

Best-of-N and test-time optimization ask the teacher to rank attempts at the *same* instance, so the
unit of data is a group: one instance, its queries, and several videos of it from different sources:
- "ground_truth", "static" (the first frame held), "corruption" (tasks/corruptions.py), "near_miss"
  (tasks/near_miss.py), made from the instance on the fly;
- "sample" (the reasoner's 4-step samples from different noises, full decoder), "one_step" (its
  light-decoded one-step prediction, what the test-time loop shows the teacher), "adversarial"
  (what that loop makes against the current teacher, train/adversarial.py), stored in a pool.
Each (video, query) row carries the scorer's part as a graded target (a ball halfway to the target
scores between a miss and a hit) and the binary label "part satisfied".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm import tqdm

from vlmteach.reasoners.tiny import TinyReasoner
from vlmteach.tasks import Instance, TaskFamily, get_family
from vlmteach.tasks.base import SATISFIED, check_part
from vlmteach.tasks.corruptions import corrupt
from vlmteach.tasks.near_miss import NEAR_MISSES, near_miss_states
from vlmteach.tasks.grid import render
from vlmteach.teachers.rulebook import catalog, generic_queries, propose
from vlmteach.train.data import draw_instances
from vlmteach.video import Video

SOURCES = ("ground_truth", "static", "corruption", "near_miss", "sample", "one_step", "adversarial")
STORED = ("sample", "one_step", "adversarial")  # sources held in the pool; the others are made on the fly
GENERIC_P = 0.25  # share of groups judged with the generic queries instead of the rule book's


@dataclass
class PoolItem:
    """An instance and the stored videos of it, by source: (n, T, 3, H, W) uint8."""

    instance: Instance
    videos: dict[str, torch.Tensor]


def queries_for(inst: Instance, rng: np.random.Generator) -> list[tuple[str, str, float]]:
    """(query, check, weight) triples: every query the rule book knows for the instance
    (rulebook.catalog), or one time in four the generic ones. `weight` is the query's weight in the
    loss the methods minimise (QuerySet.weights of the queries `propose` asks; 0 for the others)."""
    q = generic_queries() if rng.random() < GENERIC_P else propose(inst.prompt)
    weight = dict(zip(q.texts, q.weights.tolist()))
    pairs = list(zip(q.texts, q.checks)) if q.source == "generic" else catalog(inst.prompt)
    return [(text, check, weight.get(text, 0.0)) for text, check in pairs]


def to_uint8(videos: torch.Tensor) -> torch.Tensor:
    return videos.clamp(0, 1).mul(255).round().to(torch.uint8)


@torch.no_grad()
def reasoner_outputs(reasoner: TinyReasoner, insts: list[Instance], seeds: list[int], one_step: bool) -> torch.Tensor:
    """(B, T, 3, H, W) uint8: per instance, the 4-step sample (full decoder) or the light-decoded
    one-step prediction from the noise of its seed."""
    cond = reasoner.condition(torch.stack([i.first_frame for i in insts]), [i.prompt for i in insts])
    z1 = reasoner.noise_batch(seeds)
    if one_step:
        return to_uint8(reasoner.decode_light(reasoner.one_step(z1, cond)))
    return to_uint8(reasoner.decode_frames(reasoner.sample(z1, cond)))


def build_pool(reasoner: TinyReasoner, n: int, samples: int, seed: int, families: list[TaskFamily],
               seeds: tuple[int, int], batch: int = 32) -> list[PoolItem]:
    """`n` instances, each with `samples` 4-step samples from different noises and one one-step
    prediction; deterministic in `seed`."""
    rng = np.random.default_rng([seed, 7])
    insts = draw_instances(rng, families, n, seeds)
    items = [PoolItem(i, {}) for i in insts]
    for start in tqdm(range(0, n, batch), desc="reasoner pool", unit="batch"):
        chunk = items[start:start + batch]
        ii = [it.instance for it in chunk]
        outs = [reasoner_outputs(reasoner, ii, [int(s) for s in rng.integers(2**31, size=len(ii))], False)
                for _ in range(samples)]
        one = reasoner_outputs(reasoner, ii, [int(s) for s in rng.integers(2**31, size=len(ii))], True)
        for j, it in enumerate(chunk):
            if samples:
                it.videos["sample"] = torch.stack([o[j] for o in outs])
            it.videos["one_step"] = one[j:j + 1]
    return items


def save_pool(items: list[PoolItem], path: Path) -> None:
    """One safetensors file: each item's videos as `<i>/<source>`, the instances as JSON metadata."""
    tensors = {f"{i}/{src}": v.contiguous() for i, it in enumerate(items) for src, v in it.videos.items()}
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"instances": json.dumps([it.instance.to_json() for it in items])})
    tmp.replace(path)


def load_pool(path: Path) -> list[PoolItem]:
    with safe_open(str(path), framework="pt") as f:
        items = [PoolItem(Instance.from_json(x), {}) for x in json.loads(f.metadata()["instances"])]
        for key in f.keys():  # noqa: SIM118 (a safetensors file is not iterable)
            i, src = key.split("/")
            items[int(i)].videos[src] = f.get_tensor(key)
    return items


def cached_pool(path: Path, make) -> list[PoolItem]:
    """The pool at `path`, made by `make()` and saved there the first time (a resume reuses it)."""
    if path.exists():
        return load_pool(path)
    items = make()
    save_pool(items, path)
    return items


def made_video(inst: Instance, source: str, rng: np.random.Generator) -> torch.Tensor | None:
    """A video made from the instance itself; None when a near miss does not apply."""
    if source == "ground_truth":
        return inst.ground_truth.frames
    if source == "static":
        return inst.ground_truth.frames[:1].repeat(inst.states.shape[0], 1, 1, 1)
    fam = get_family(inst.family)
    if source == "corruption":
        return corrupt(fam, inst, fam.corruptions[int(rng.integers(len(fam.corruptions)))]).frames
    states = near_miss_states(inst, NEAR_MISSES[int(rng.integers(len(NEAR_MISSES)))])
    return None if states is None else render(states, inst.fps).frames


@dataclass
class Batch:
    """Videos (V, T, 3, H, W) with their sources, and per (video, query) row: the query text, the
    graded target, the binary label, the video's index and the row's (group, query) key."""

    videos: torch.Tensor
    sources: list[str]
    instances: list[Instance]  # per video
    texts: list[str]
    targets: torch.Tensor
    labels: torch.Tensor
    owner: list[int]
    key: torch.Tensor  # rows with the same key compare videos of one instance on one query
    weight: torch.Tensor  # per row: the query's weight in the methods' loss (queries_for)
    totals: torch.Tensor  # per video: the scorer's total
    group: torch.Tensor  # per video: its group (instance) in the batch


def group_videos(rng: np.random.Generator, item: PoolItem, m: int, source_p: dict[str, float]) -> list[tuple[str, torch.Tensor]]:
    """`m` videos of the item's instance, sources drawn by `source_p` among those it has; stored
    videos are drawn without replacement while they last."""
    left = {s: list(rng.permutation(len(item.videos[s]))) for s in STORED if s in item.videos}
    out: list[tuple[str, torch.Tensor]] = []
    for _ in range(4 * m):
        if len(out) == m:
            break
        avail = [s for s in SOURCES if source_p.get(s, 0) > 0 and (s not in STORED or left.get(s))]
        p = np.array([source_p[s] for s in avail])
        src = avail[int(rng.choice(len(avail), p=p / p.sum()))]
        if src in STORED:
            video = item.videos[src][left[src].pop()].float() / 255
        else:
            video = made_video(item.instance, src, rng)
            if video is None:
                continue
        out.append((src, video))
    return out


def make_batch(rng: np.random.Generator, items: list[PoolItem], m: int,
               source_p: dict[str, float] | list[dict[str, float]], noise_p: float, noise_max: float) -> Batch:
    """A batch of groups: for each item, `m` videos (sources drawn by `source_p`, one mix for all
    items or one per item) judged on one query list (rule book or generic); each video gets pixel
    noise (sigma up to noise_max) with probability noise_p."""
    mixes = source_p if isinstance(source_p, list) else [source_p] * len(items)
    videos, sources, insts, texts, targets, labels, owner, key = [], [], [], [], [], [], [], []
    weight, totals, group = [], [], []
    first_key = 0  # a (group, query) pair's key: the group's first key plus the query's index
    for g, (item, mix) in enumerate(zip(items, mixes)):
        inst = item.instance
        qs = queries_for(inst, rng)
        fam = get_family(inst.family)
        for src, video in group_videos(rng, item, m, mix):
            if rng.random() < noise_p:
                gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
                video = (video + rng.random() * noise_max * torch.randn(video.shape, generator=gen)).clamp(0, 1)
            score = fam.score(Video(video), inst)
            parts = score.parts
            v = len(videos)
            videos.append(video)
            sources.append(src)
            insts.append(inst)
            totals.append(score.total)
            group.append(g)
            for q, (text, check, w) in enumerate(qs):
                t = check_part(check, parts)  # graded: a ball halfway there is between a miss and a hit
                texts.append(text)
                targets.append(t)
                labels.append(float(t >= SATISFIED))
                owner.append(v)
                key.append(first_key + q)
                weight.append(w)
        first_key += len(qs)
    return Batch(torch.stack(videos), sources, insts, texts, torch.tensor(targets), torch.tensor(labels), owner,
                 torch.tensor(key), torch.tensor(weight), torch.tensor(totals), torch.tensor(group))


def draw_items(rng: np.random.Generator, pool: list[PoolItem], adversarial: list[PoolItem], n: int,
               families: list[TaskFamily], seeds: tuple[int, int], fresh_p: float, adversarial_p: float) -> list[PoolItem]:
    """`n` groups' items: from the adversarial pool with probability adversarial_p, a fresh instance
    (no stored videos: ground truth, corruptions, near misses, static) with fresh_p, else the pool."""
    out = []
    for _ in range(n):
        u = rng.random()
        if adversarial and u < adversarial_p:
            out.append(adversarial[int(rng.integers(len(adversarial)))])
        elif u < adversarial_p + fresh_p or not pool:
            out.append(PoolItem(draw_instances(rng, families, 1, seeds)[0], {}))
        else:
            out.append(pool[int(rng.integers(len(pool)))])
    return out
