"""The tiny world's figures on fresh evaluation seeds (>= 1,000,000), as issue 3 asks:

- per family, the vanilla reasoner's mean score (4-step samples, one noise seed per instance);
- the teacher's accuracy, AUROC and calibration (expected calibration error) on held-out labelled
  pairs made exactly as its training pairs are (ground truths, corruptions, reasoner samples and
  one-step predictions, half with pixel noise), per family and per video source;
- seconds per reasoner sample, per one-step forward + backward, per teacher forward + backward and
  per whole optimization step, on this machine's CPU (2 threads).

Run: `python benchmarks/tiny_world.py [--per-family 12] [--pairs 640] [--weights DIR]`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from vlmteach import reasoners, teachers
from vlmteach.optim import optimization_step
from vlmteach.tasks import all_families, get_family
from vlmteach.train.seeds import EVAL_SEED_MIN
from vlmteach.train.teacher_data import build_pool, draw_items, make_batch

EVAL_SEEDS = (EVAL_SEED_MIN, EVAL_SEED_MIN + 100_000)


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None]).mean()
    ties = (pos[:, None] == neg[None]).mean()
    return float(greater + 0.5 * ties)


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |confidence - accuracy| averaged over probability bins."""
    idx = np.minimum((probs * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(probs[m].mean() - labels[m].mean())
    return float(total)


def vanilla_scores(reasoner, per_family: int) -> dict[str, float]:
    out = {}
    for fam in all_families():
        scores = []
        for i in range(per_family):
            inst = fam.generate(EVAL_SEED_MIN + i)
            video = reasoner.generate(inst.first_frame, inst.prompt, seed=EVAL_SEED_MIN + i)
            scores.append(fam.score(video, inst).total)
        out[fam.name] = float(np.mean(scores))
    return out


# One video per instance, as the teacher's first recipes drew their pairs: accuracy across instances.
PAIR_MIX = {"ground_truth": 0.25, "corruption": 0.3, "static": 0.1, "sample": 0.2, "one_step": 0.15}


def teacher_pairs(reasoner, teacher, n_videos: int) -> dict[str, np.ndarray]:
    """The teacher's P(Yes) and the scorer's label for held-out (video, query) pairs, one video per
    instance of seeds in EVAL_SEEDS, with family and source; the same pairs on every call."""
    pool = build_pool(reasoner, max(32, n_videos // 3), 1, seed=99, families=all_families(), seeds=EVAL_SEEDS)
    rng = np.random.default_rng(12345)
    probs, labels, fams, srcs = [], [], [], []
    for _ in range(0, n_videos, 16):
        items = draw_items(rng, pool, [], 16, all_families(), EVAL_SEEDS, 0.0, 0.0)
        batch = make_batch(rng, items, 1, PAIR_MIX, 0.5, 0.12)
        with torch.no_grad():
            tokens = teacher.net.encode_video(batch.videos)
            logits = teacher.net.logits(tokens, teacher.tokenizer.encode(batch.texts), torch.tensor(batch.owner))
        probs += torch.sigmoid(logits).tolist()
        labels += batch.labels.tolist()
        fams += [batch.instances[o].family for o in batch.owner]
        srcs += [batch.sources[o] for o in batch.owner]
    return {"p": np.array(probs), "y": np.array(labels), "family": np.array(fams), "source": np.array(srcs)}


def gradient_check(reasoner, teacher, per_family: int, steps: int, lr: float) -> dict[str, tuple[float, float]]:
    """Are the teacher's gradients useful? Per family: the 4-step sample's score before and after a
    fixed number of LoRA steps against the teacher's loss (same noise; no early stop). A preview of
    the full method, which the method issue builds with early stopping and the paper's defaults."""
    out = {}
    for fam in all_families():
        before, after = [], []
        for i in range(per_family):
            inst, seed = fam.generate(EVAL_SEED_MIN + 500 + i), EVAL_SEED_MIN + 500 + i
            cond, z1 = reasoner.condition(inst.first_frame, inst.prompt), reasoner.noise(seed)
            queries = teacher.propose_queries(inst.first_frame, inst.prompt)
            with torch.no_grad():
                before.append(fam.score(reasoner.decode(reasoner.sample(z1, cond)), inst).total)
            reasoner.add_lora(16)
            opt = torch.optim.Adam(reasoner.lora_parameters(), lr=lr)
            for _ in range(steps):
                optimization_step(reasoner, teacher, cond, z1, queries, opt)
            with torch.no_grad():
                after.append(fam.score(reasoner.decode(reasoner.sample(z1, cond)), inst).total)
            reasoner.drop_lora()
        out[fam.name] = (float(np.mean(before)), float(np.mean(after)))
    return out


def _timed(fn, repeat: int = 5) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def timings(reasoner, teacher) -> dict[str, float]:
    inst = get_family("maze").generate(EVAL_SEED_MIN)
    cond = reasoner.condition(inst.first_frame, inst.prompt)
    z1 = reasoner.noise(0)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt)
    out = {}
    with torch.no_grad():
        out["reasoner 4-step sample + full decode"] = _timed(lambda: reasoner.decode(reasoner.sample(z1, cond)))
    reasoner.add_lora(16)
    opt = torch.optim.Adam(reasoner.lora_parameters(), lr=1e-3)

    def one_step_fb():
        reasoner.decode_light(reasoner.one_step(z1, cond)).sum().backward()

    frames = inst.ground_truth.frames.clone().requires_grad_()

    def teacher_fb():
        teacher.yes_nll(frames, queries.texts).sum().backward()

    out["reasoner one-step forward+backward (to LoRA)"] = _timed(one_step_fb)
    out[f"teacher forward+backward ({len(queries.texts)} queries, 16 frames)"] = _timed(teacher_fb)
    out["whole optimization step"] = _timed(lambda: optimization_step(reasoner, teacher, cond, z1, queries, opt))
    reasoner.drop_lora()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=12, help="instances per family for vanilla scores")
    parser.add_argument("--pairs", type=int, default=640, help="held-out videos for the teacher (x 2-4 queries)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grad-check", type=int, default=3, help="instances per family for the gradient check (0: skip)")
    parser.add_argument("--grad-steps", type=int, default=4)  # the tiny reasoner's recommended teacher_tto budget
    parser.add_argument("--grad-lr", type=float, default=3e-4)  # and learning rate
    parser.add_argument("--weights", default=None, help="folder with tiny_{reasoner,teacher} files (default: shipped)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    reasoner, teacher = reasoners.load("tiny", args.weights), teachers.load("tiny", args.weights)

    print("== vanilla reasoner (4-step samples), mean score per family, seeds from 1,000,000")
    vanilla = vanilla_scores(reasoner, args.per_family)
    split = {f.name: f.split for f in all_families()}
    for name, score in vanilla.items():
        print(f"{name:<22}{split[name]:<5}{score:.3f}")
    for s in ("in", "ood"):
        print(f"{'mean ' + s:<27}{np.mean([v for k, v in vanilla.items() if split[k] == s]):.3f}")

    print(f"\n== teacher on held-out labelled pairs ({args.pairs} videos)")
    d = teacher_pairs(reasoner, teacher, args.pairs)

    def row(name: str, m: np.ndarray) -> None:
        p, y = d["p"][m], d["y"][m]
        print(f"{name:<22}{m.sum():>6}{((p > 0.5) == y).mean():>9.3f}{auroc(p, y):>8.3f}{ece(p, y):>8.3f}{y.mean():>8.2f}")

    print(f"{'':<22}{'pairs':>6}{'accuracy':>9}{'AUROC':>8}{'ECE':>8}{'yes':>8}")
    for name in sorted(set(d["family"])):
        row(name, d["family"] == name)
    for src in sorted(set(d["source"])):
        row(f"source: {src}", d["source"] == src)
    row("all", np.ones(len(d["y"]), dtype=bool))

    if args.grad_check:
        print(f"\n== gradient check: score before -> after {args.grad_steps} LoRA steps on the teacher's loss "
              f"(lr {args.grad_lr}, {args.grad_check} instances per family)")
        res = gradient_check(reasoner, teacher, args.grad_check, args.grad_steps, args.grad_lr)
        for name, (b, a) in res.items():
            print(f"{name:<22}{split[name]:<5}{b:.3f} -> {a:.3f}")
        for s in ("in", "ood"):
            b = np.mean([v[0] for k, v in res.items() if split[k] == s])
            a = np.mean([v[1] for k, v in res.items() if split[k] == s])
            print(f"{'mean ' + s:<27}{b:.3f} -> {a:.3f}")

    print(f"\n== seconds on this CPU ({args.threads} threads)")
    for name, sec in timings(reasoner, teacher).items():
        print(f"{name:<55}{sec:.3f}")


if __name__ == "__main__":
    main()
