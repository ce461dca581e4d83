"""`vlmteach train teacher`: train the tiny teacher on labelled (video, query, yes/no) pairs.

Videos: ground truths, every corruption of the catalog, static videos (the first frame held), the
tiny reasoner's own 4-step samples and its light-decoded one-step predictions (what test-time
optimization shows the teacher), half of them with pixel noise. Queries: the rule book's
task-specific queries and the generic ones. Labels: the rule-based scorer's part named by each
query's check (satisfied = part >= 0.999). Noise augmentation and the reasoner's imperfect frames
keep the teacher's gradients smooth: it cannot be fooled by imperceptible pixel changes because it
never saw clean-only inputs. After that, adversarial rounds (train/adversarial.py) add the videos
that the method's own loop makes against the current teacher, labelled by the scorers. A last
"polish" stage trains on, with more corruptions, the rounds' videos kept, and a decaying rate.
The shipped teacher is two nets trained so (ARCHS, `train_ensemble`), judging by their mean logit.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm import tqdm

from vlmteach.nn import WordTokenizer
from vlmteach.nn.checkpoint import checkpoint_meta, load_checkpoint, save_checkpoint
from vlmteach.reasoners.tiny import TinyReasoner
from vlmteach.tasks import Instance, TaskFamily, all_families, get_family
from vlmteach.tasks.base import check_satisfied
from vlmteach.tasks.corruptions import corrupt
from vlmteach.teachers.base import QuerySet
from vlmteach.teachers.rulebook import all_query_texts, generic_queries, propose
from vlmteach.teachers.tiny import TinyTeacher, TinyTeacherConfig
from vlmteach.train.adversarial import adversarial_pool
from vlmteach.train.data import draw_instances
from vlmteach.train.record import finish
from vlmteach.train.schedule import resume_at, warmup_cosine
from vlmteach.train.seeds import TEACHER_SEEDS
from vlmteach.video import Video

SOURCES = ("ground_truth", "corruption", "static", "sample", "one_step", "adversarial")
# Ground truths are the only reliable "Yes" for goal queries, and a video in which nothing happens is
# the commonest way to fail them, so both get a fixed share. "adversarial" videos (what the test-time
# loop makes of the reasoner against the current teacher) exist only in the adversarial rounds.
SOURCE_P = (0.25, 0.3, 0.1, 0.2, 0.15, 0.0)
ADVERSARIAL_P = (0.2, 0.2, 0.05, 0.1, 0.1, 0.35)
# The polish stage: corruptions are the teacher's weakest source (a vanished, doubled or recoloured
# object), so they get the largest share; the adversarial videos stay in so its gradients stay useful.
POLISH_P = (0.2, 0.4, 0.05, 0.15, 0.1, 0.1)


# The shipped teacher's members (train_ensemble). Per-cell tokens learn faster at equal steps
# (benchmarks/teacher_arch.py) and end about as accurate as 2 x 2-cell tokens after the recipe, but
# they err on different pairs, so the mean of their logits beats either (README, "Tiny teacher").
ARCHS: dict[str, dict] = {
    "joint": dict(dim=96, patch=8, factorized=False, video_depth=2),  # 2 x 2 cells per token, joint attention
    "cell": dict(dim=64, patch=4, factorized=True, video_depth=1),  # one cell per token, space then time
}


@dataclass
class TeacherTrainConfig:
    out: str
    reasoner: str  # folder holding tiny_reasoner.{json,safetensors}
    seed: int = 0
    steps: int = 6000
    batch: int = 16  # videos per step; each brings all its queries
    lr: float = 3e-4
    device: str = "cpu"
    checkpoint_every: int = 250
    noise_p: float = 0.5
    noise_max: float = 0.12
    pool: int = 1536  # reasoner samples and one-step predictions made once, each
    # Architecture of the one net this config trains (teachers/tiny.py); defaults: ARCHS["joint"].
    dim: int = ARCHS["joint"]["dim"]
    patch: int = ARCHS["joint"]["patch"]
    factorized: bool = ARCHS["joint"]["factorized"]
    video_depth: int = ARCHS["joint"]["video_depth"]
    motion_inputs: bool = True  # the stem also sees frame differences (teachers/tiny.py)
    adv_rounds: int = 1  # adversarial rounds after `steps` (train/adversarial.py)
    adv_loops: int = 256  # test-time loops against the current teacher per round
    adv_steps: int = 600  # teacher steps per round
    adv_lr: float = 1e-4
    polish_steps: int = 3000  # a last stage after the rounds, with POLISH_P (0: none)
    polish_lr: float = 2e-4  # cosine-decayed to zero over the stage


def queries_for(inst: Instance, rng: np.random.Generator) -> QuerySet:
    """The rule book's queries for the instance, or (one time in four) the generic ones."""
    return generic_queries() if rng.random() < 0.25 else propose(inst.prompt)


@torch.no_grad()
def reasoner_videos(reasoner: TinyReasoner, insts: list[Instance], rng: np.random.Generator,
                    one_step: bool) -> list[torch.Tensor]:
    """The reasoner's 4-step samples (full decoder) or one-step predictions (light decoder), batched."""
    if not insts:
        return []
    cond = reasoner.condition(torch.stack([i.first_frame for i in insts]), [i.prompt for i in insts])
    z1 = reasoner.noise_batch([int(s) for s in rng.integers(2**31, size=len(insts))])
    if one_step:
        return list(reasoner.decode_light(reasoner.one_step(z1, cond)).clamp(0, 1))
    return list(reasoner.decode_frames(reasoner.sample(z1, cond)))


Pool = dict[str, list[tuple[Instance, torch.Tensor]]]


def build_pool(reasoner: TinyReasoner, per_source: int, seed: int, families: list[TaskFamily],
               batch: int = 32, seeds: tuple[int, int] = TEACHER_SEEDS) -> Pool:
    """The reasoner's outputs on `per_source` instances for each of "sample" and "one_step", made
    once (reasoner forwards dominate the cost) and stored as uint8; deterministic in `seed`."""
    rng = np.random.default_rng([seed, 7])
    pool: Pool = {"sample": [], "one_step": []}
    for src in pool:
        for start in tqdm(range(0, per_source, batch), desc=f"reasoner {src}s", unit="batch"):
            insts = draw_instances(rng, families, min(batch, per_source - start), seeds)
            videos = reasoner_videos(reasoner, insts, rng, src == "one_step")
            pool[src] += [(i, v.mul(255).round().to(torch.uint8)) for i, v in zip(insts, videos)]
    return pool


@dataclass
class Pairs:
    """Labelled pairs: videos (B, T, 3, H, W) with their instances and sources, and per pair the
    query text, its label and the index of its video."""

    videos: torch.Tensor
    instances: list[Instance]
    sources: list[str]
    texts: list[str]
    labels: torch.Tensor
    owner: list[int]


def make_pairs(rng: np.random.Generator, insts: list[Instance], pool: Pool,
               noise_p: float, noise_max: float, source_p: tuple[float, ...] = SOURCE_P) -> Pairs:
    """Labelled pairs for a batch of instances; reasoner-made videos come from the pool, each with
    its own instance."""
    insts = list(insts)
    sources = [SOURCES[i] for i in rng.choice(len(SOURCES), size=len(insts), p=source_p)]
    videos: list[torch.Tensor] = [torch.empty(0)] * len(insts)
    for i, src in enumerate(sources):
        if src in pool:
            insts[i], frames = pool[src][int(rng.integers(len(pool[src])))]
            videos[i] = frames.float() / 255
    for i, (inst, src) in enumerate(zip(insts, sources)):
        if src == "ground_truth":
            videos[i] = inst.ground_truth.frames
        elif src == "static":
            videos[i] = inst.ground_truth.frames[:1].repeat(inst.states.shape[0], 1, 1, 1)
        elif src == "corruption":
            fam = get_family(inst.family)
            videos[i] = corrupt(fam, inst, fam.corruptions[int(rng.integers(len(fam.corruptions)))]).frames
        if rng.random() < noise_p:
            g = torch.Generator().manual_seed(int(rng.integers(2**31)))
            videos[i] = (videos[i] + rng.random() * noise_max * torch.randn(videos[i].shape, generator=g)).clamp(0, 1)
    texts, labels, owner = [], [], []
    for i, inst in enumerate(insts):
        parts = get_family(inst.family).score(Video(videos[i]), inst).parts
        qs = queries_for(inst, rng)
        for text, check in zip(qs.texts, qs.checks):
            texts.append(text)
            labels.append(check_satisfied(check, parts))
            owner.append(i)
    return Pairs(torch.stack(videos), insts, sources, texts, torch.tensor(labels), owner)


def build_vocab() -> list[str]:
    return WordTokenizer.build(all_query_texts(), 48).vocab


def train_teacher(cfg: TeacherTrainConfig) -> Path:
    """Train (or resume) and write tiny_teacher.{json,safetensors} into cfg.out."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt, weights = out / "teacher.ckpt", out / "tiny_teacher.safetensors"
    adv_end = cfg.steps + cfg.adv_rounds * cfg.adv_steps
    total = adv_end + cfg.polish_steps
    if finished(ckpt, weights, total):
        return weights  # nothing left to do: skip the reasoner pool (minutes) that a resume would build
    device = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    reasoner = TinyReasoner.load(cfg.reasoner)
    families = all_families()
    pool = build_pool(reasoner, cfg.pool, cfg.seed, families)
    teacher = TinyTeacher(TinyTeacherConfig(vocab=build_vocab(), dim=cfg.dim, patch=cfg.patch, factorized=cfg.factorized,
                                            video_depth=cfg.video_depth, motion_inputs=cfg.motion_inputs))
    net = teacher.net.to(device).train()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=0.01)
    sched = warmup_cosine(opt, cfg.steps)
    step, earlier_s = 0, 0.0
    if ckpt.exists():
        meta = load_checkpoint(ckpt, net, opt)
        step, rng.bit_generator.state = meta["step"], meta["rng"]
        earlier_s = meta.get("wall_s", 0.0)  # older checkpoints did not record it
        resume_at(sched, step)
    started = time.time()
    bar = tqdm(total=total, initial=step, desc="teacher", unit="step")
    while step < total:
        stage_sched, source_p = None, SOURCE_P
        if step < cfg.steps:
            stage_end, stage_sched = cfg.steps, sched
        elif step < adv_end:  # an adversarial round: extend the pool against the current teacher
            rnd = (step - cfg.steps) // cfg.adv_steps
            stage_end = cfg.steps + (rnd + 1) * cfg.adv_steps
            pool["adversarial"] = load_adversarial(out, rnd + 1, cfg, reasoner, teacher, families)
            source_p = ADVERSARIAL_P
            set_lr(opt, cfg.adv_lr)
        else:
            stage_end = total
            pool["adversarial"] = load_adversarial(out, cfg.adv_rounds, cfg, reasoner, teacher, families)
            source_p = polish_mix(bool(pool["adversarial"]))
            stage_sched = decay(opt, cfg.polish_lr, adv_end, cfg.polish_steps)
            resume_at(stage_sched, step)
        while step < stage_end:
            loss, acc = train_step(net, teacher, opt, rng, families, pool, cfg, device, source_p)
            if stage_sched is not None:
                stage_sched.step()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.2f}")
            if step % cfg.checkpoint_every == 0 or step == stage_end:
                save_checkpoint(ckpt, net, opt, {"step": step, "rng": rng.bit_generator.state,
                                                 "wall_s": earlier_s + time.time() - started})
    bar.close()
    return finish(teacher, out, "tiny_teacher", cfg, TEACHER_SEEDS, [f.name for f in families], started,
                  earlier_s)


def finished(ckpt: Path, weights: Path, total: int) -> bool:
    """True when the checkpoint has reached `total` steps and the weights were written after it."""
    return (ckpt.exists() and weights.exists() and weights.stat().st_mtime >= ckpt.stat().st_mtime
            and checkpoint_meta(ckpt)["step"] >= total)


def train_ensemble(cfg: TeacherTrainConfig, archs: dict[str, dict] | None = None) -> Path:
    """Train one member per architecture in `cfg.out/<arch>` (each resumable, same recipe and seeds),
    then write the mean-logit ensemble as tiny_teacher.* into cfg.out with a record of its members."""
    archs = ARCHS if archs is None else archs
    out = Path(cfg.out)
    members, records = [], {}
    for arch, fields in archs.items():
        member = replace(cfg, out=str(out / arch), **fields)
        train_teacher(member)
        members.append(TinyTeacher.load(member.out))
        records[arch] = json.loads((Path(member.out) / "tiny_teacher.train.json").read_text())
    path = TinyTeacher.ensemble(members).save(out)
    (out / "tiny_teacher.train.json").write_text(json.dumps(
        {"members": records, "wall_s_total": round(sum(r["wall_s_total"] for r in records.values()), 1)}, indent=2))
    return path


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def decay(opt: torch.optim.Optimizer, lr: float, start: int, steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Cosine decay from `lr` to zero over the `steps` after global step `start` (no warm-up). The
    base rate is set first: a new scheduler would otherwise keep the first stage's `initial_lr`."""
    for group in opt.param_groups:
        group["lr"] = group["initial_lr"] = lr
    return warmup_cosine(opt, steps, warmup=0, start=start)


def polish_mix(with_adversarial: bool) -> tuple[float, ...]:
    """POLISH_P, with the adversarial share spread over the rest when there are no rounds."""
    p = np.array(POLISH_P if with_adversarial else POLISH_P[:-1] + (0.0,))
    return tuple(p / p.sum())


def train_step(net, teacher, opt, rng, families, pool, cfg, device, source_p) -> tuple[float, float]:
    """One teacher step on a fresh batch of labelled pairs; returns (loss, accuracy)."""
    insts = draw_instances(rng, families, cfg.batch, TEACHER_SEEDS)
    pairs = make_pairs(rng, insts, pool, cfg.noise_p, cfg.noise_max, source_p)
    tokens = net.encode_video(pairs.videos.to(device))  # (B, N, D)
    logits = net.logits(tokens, teacher.tokenizer.encode(pairs.texts).to(device), torch.tensor(pairs.owner))
    labels = pairs.labels
    loss = F.binary_cross_entropy_with_logits(logits, labels.to(device))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    acc = ((logits > 0).float().cpu() == labels).float().mean().item()
    return loss.item(), acc


def load_adversarial(out: Path, rounds: int, cfg: TeacherTrainConfig, reasoner: TinyReasoner,
                     teacher: TinyTeacher, families: list[TaskFamily]) -> list:
    """The adversarial pool of rounds 1..`rounds`: each round's videos are made once against the
    teacher as it was when the round began, saved (safetensors + JSON) and reloaded on resume."""
    pool = []
    for r in range(1, rounds + 1):
        path = out / f"adversarial_{r}.safetensors"
        if not path.exists():
            rng = np.random.default_rng([cfg.seed, 11, r])
            made = adversarial_pool(reasoner, teacher, cfg.adv_loops, rng, families, TEACHER_SEEDS, queries_for)
            save_file({"videos": torch.stack([v for _, v in made])}, path,
                      metadata={"instances": json.dumps([i.to_json() for i, _ in made])})
        with safe_open(str(path), framework="pt") as f:
            videos = f.get_tensor("videos")
            insts = [Instance.from_json(x) for x in json.loads(f.metadata()["instances"])]
        pool += list(zip(insts, videos))
    return pool
