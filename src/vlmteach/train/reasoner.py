"""`vlmteach train reasoner`: train the tiny reasoner on in-domain families, reproducibly.

Two phases, each resumable from its checkpoint: (1) the tile autoencoder, whose light decoder (the
full decoder's linear part) is trained to reconstruct on its own; (2) the flow denoiser, trained at
the sampler's own timesteps {1, 3/4, 1/2, 1/4} (40% of draws at t = 1, where the one-step prediction
used by test-time optimization lives) plus uniform t. With the "residual" target the loss is the MSE
of the clean prediction on frames 1.. (frame 0 is the given first frame); with "velocity", the MSE of
u. Training at exactly the few-step sampler's timesteps is our few-step objective: no separate
distillation is needed because the built-in tasks are nearly deterministic, so the one-step
prediction is sharp, not a blur.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from vlmteach.nn import WordTokenizer
from vlmteach.nn.checkpoint import load_checkpoint, save_checkpoint
from vlmteach.reasoners.tiny import TinyReasoner, TinyReasonerConfig, clean_from_residual
from vlmteach.tasks import all_families
from vlmteach.tasks.corruptions import CORRUPTIONS, corrupt
from vlmteach.tasks.grid import render
from vlmteach.tasks.palette import BACKGROUND, NAMES, PALETTE_SIZE
from vlmteach.train.data import draw_instances, ground_truth_frames
from vlmteach.train.record import finish
from vlmteach.train.schedule import resume_at, warmup_cosine
from vlmteach.train.seeds import REASONER_SEEDS

SAMPLER_TIMES = (1.0, 0.75, 0.5, 0.25)


@dataclass
class ReasonerTrainConfig:
    out: str
    seed: int = 0
    ae_steps: int = 3000
    ae_batch: int = 8  # videos per autoencoder step (x 16 frames)
    steps: int = 6000
    batch: int = 16
    lr: float = 1e-3
    ae_lr: float = 2e-3
    device: str = "cpu"
    checkpoint_every: int = 250
    dim: int = 128
    depth: int = 4
    target: str = "residual"  # reasoners/tiny.py: "residual" or "velocity" (the first shipped recipe)
    positions: str = "rope"  # "rope" or "learned" (the first shipped recipe)


def in_domain_families():
    return [f for f in all_families() if f.split == "in"]


def build_vocab(seed_range: tuple[int, int], per_family: int = 300) -> list[str]:
    """Every word of the in-domain prompts over the first seeds of the training range."""
    texts = [f.generate(s, d).prompt for f in in_domain_families()
             for d in range(f.difficulty_range[0], f.difficulty_range[1] + 1)
             for s in range(seed_range[0], seed_range[0] + per_family // 3)]
    return WordTokenizer.build(texts, 48).vocab


def _sample_t(rng: np.random.Generator, n: int) -> torch.Tensor:
    u = rng.random(n)
    fixed = np.array(SAMPLER_TIMES)[rng.integers(1, len(SAMPLER_TIMES), n)]
    t = np.where(u < 0.4, 1.0, np.where(u < 0.7, fixed, rng.random(n)))
    return torch.tensor(t, dtype=torch.float32)


def _ae_batch(rng: np.random.Generator, n: int) -> torch.Tensor:
    """Frames (N*16, 3, 32, 32) of ground truths and corruptions, so the latent covers broken videos."""
    fams = in_domain_families()
    videos = []
    for inst in draw_instances(rng, fams, n, REASONER_SEEDS):
        fam = next(f for f in fams if f.name == inst.family)
        name = CORRUPTIONS[int(rng.integers(len(CORRUPTIONS)))]
        use = rng.random() < 0.5 and name in fam.corruptions and name != "noise"  # noise is not content
        videos.append(corrupt(fam, inst, name).frames if use else inst.ground_truth.frames)
    return torch.cat(videos + [_random_tiles(rng, n * 4)])


def _random_tiles(rng: np.random.Generator, n: int) -> torch.Tensor:
    """n frames of random tiles over the whole palette, so rare tiles are encoded as well as common ones."""
    p = len(NAMES)
    outer, inner = rng.integers(0, p, (2, n, 8, 8))
    inner = np.where(rng.random((n, 8, 8)) < 0.5, outer, inner)
    codes = np.where(rng.random((n, 8, 8)) < 0.3, BACKGROUND, outer * PALETTE_SIZE + inner)
    return render(codes).frames


def train_reasoner(cfg: ReasonerTrainConfig) -> Path:
    """Train (or resume) and write tiny_reasoner.{json,safetensors} into cfg.out."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model_cfg = TinyReasonerConfig(vocab=build_vocab(REASONER_SEEDS), dim=cfg.dim, depth=cfg.depth,
                                   target=cfg.target, positions=cfg.positions)
    model = TinyReasoner(model_cfg)
    net = model.net.to(device).train()
    started = time.time()

    # ---- phase 1: autoencoder --------------------------------------------------------------------
    ae = net.autoencoder
    ae_opt = torch.optim.AdamW(ae.parameters(), lr=cfg.ae_lr)
    ae_ckpt, flow_ckpt = out / "reasoner_ae.ckpt", out / "reasoner_flow.ckpt"
    step, earlier_s = 0, 0.0  # earlier_s: wall time of interrupted earlier runs, from the checkpoint
    if flow_ckpt.exists():
        step = cfg.ae_steps
    elif ae_ckpt.exists():
        meta = load_checkpoint(ae_ckpt, net, ae_opt)
        step, rng.bit_generator.state = meta["step"], meta["rng"]
        earlier_s = meta.get("wall_s", 0.0)
    bar = tqdm(total=cfg.ae_steps, initial=step, desc="autoencoder", unit="step")
    while step < cfg.ae_steps:
        frames = _ae_batch(rng, cfg.ae_batch).to(device)
        z = ae.encode(frames)
        recon = ae.decode(z)
        light = ae.decode_light(z)
        # L1 next to MSE: low-contrast tiles (dark grey on black) must not be averaged away. The light
        # decoder (the full decoder's linear part) must reconstruct on its own too.
        loss = F.mse_loss(recon, frames) + F.l1_loss(recon, frames) + F.mse_loss(light, frames) \
            + F.l1_loss(light, frames)
        ae_opt.zero_grad()
        loss.backward()
        ae_opt.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if step % cfg.checkpoint_every == 0 or step == cfg.ae_steps:
            save_checkpoint(ae_ckpt, net, ae_opt, {"step": step, "rng": rng.bit_generator.state,
                                                   "wall_s": earlier_s + time.time() - started})
    bar.close()

    # ---- phase 2: flow denoiser ------------------------------------------------------------------
    for p in ae.parameters():
        p.requires_grad_(False)
    den = net.denoiser
    opt = torch.optim.AdamW(den.parameters(), lr=cfg.lr, weight_decay=0.01)
    sched = warmup_cosine(opt, cfg.steps)
    step = 0
    if flow_ckpt.exists():
        meta = load_checkpoint(flow_ckpt, net, opt)
        step, rng.bit_generator.state = meta["step"], meta["rng"]
        model_cfg.latent_mean, model_cfg.latent_std = meta["latent_mean"], meta["latent_std"]
        earlier_s = meta.get("wall_s", 0.0)
        resume_at(sched, step)
    else:
        with torch.no_grad():
            z = ae.encode(_ae_batch(np.random.default_rng(cfg.seed + 1), 32).to(device))
        model_cfg.latent_mean, model_cfg.latent_std = float(z.mean()), float(z.std())
    bar = tqdm(total=cfg.steps, initial=step, desc="flow", unit="step")
    fams = in_domain_families()
    while step < cfg.steps:
        insts = draw_instances(rng, fams, cfg.batch, REASONER_SEEDS)
        video = ground_truth_frames(insts).to(device)
        with torch.no_grad():
            z0 = model.encode(video)  # (B, T, C, G, G)
        text, mask = den.text(model.tokenizer.encode([i.prompt for i in insts]).to(device))
        t = _sample_t(rng, cfg.batch).to(device)
        z1 = torch.randn_like(z0)
        zt = (1 - t)[:, None, None, None, None] * z0 + t[:, None, None, None, None] * z1
        pred = den(zt, t, z0[:, 0], text, mask)
        if cfg.target == "residual":
            loss = F.mse_loss(clean_from_residual(pred, z0[:, 0])[:, 1:], z0[:, 1:])
        else:
            loss = F.mse_loss(pred, z1 - z0)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(den.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            save_checkpoint(flow_ckpt, net, opt, {"step": step, "rng": rng.bit_generator.state,
                                                  "latent_mean": model_cfg.latent_mean,
                                                  "latent_std": model_cfg.latent_std,
                                                  "wall_s": earlier_s + time.time() - started})
    bar.close()
    return finish(model, out, "tiny_reasoner", cfg, REASONER_SEEDS, [f.name for f in fams], started,
                  earlier_s)
