"""Which tiny-teacher architecture learns fastest: each variant trains from scratch on the teacher's
first-stage data mix (train/teacher.py) for --steps, every variant in its own process, and prints
accuracy / AUROC on the same development pairs every --every steps, plus its CPU seconds per step.

Development pairs come from instance seeds 400,000-499,999: the reasoner's range, never the
teacher's (500,000-999,999) nor evaluation's (>= 1,000,000), so choosing an architecture here does
not tune on evaluation instances. Its results on a GPU lent to the project, and what the winner gave
after the whole recipe (it became the shipped ensemble's second member), are in the README ("Tiny
teacher", "Why two nets").

Run: `python benchmarks/teacher_arch.py --variants base,p4fact64_d1 --steps 4000 [--device cuda]`,
or `--time-cpu` for the seconds per training step of each variant on 2 threads.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time

import numpy as np
import torch
from tiny_world import auroc, judge_pairs

from vlmteach.reasoners import weights_dir
from vlmteach.reasoners.tiny import TinyReasoner
from vlmteach.tasks import all_families
from vlmteach.teachers.tiny import TinyTeacher, TinyTeacherConfig
from vlmteach.train.schedule import warmup_cosine
from vlmteach.train.teacher import SOURCE_P, TeacherTrainConfig, build_pool, build_vocab, train_step

DEV_SEEDS = (400_000, 500_000)
# TinyTeacherConfig fields per variant ("batch" is the training batch); "base" is the stop-12 teacher.
VARIANTS: dict[str, dict] = {
    "base": {"patch": 8, "dim": 96, "video_depth": 2},
    "wide128": {"patch": 8, "dim": 128, "video_depth": 2},
    "wide160": {"patch": 8, "dim": 160, "video_depth": 2},
    "wide192": {"patch": 8, "dim": 192, "video_depth": 2},
    "deep": {"patch": 8, "dim": 96, "video_depth": 4, "fusion_depth": 3},
    "w128d3": {"patch": 8, "dim": 128, "video_depth": 3},
    "b32": {"patch": 8, "dim": 96, "video_depth": 2, "batch": 32},
    "p4fact": {"patch": 4, "factorized": True, "dim": 96, "video_depth": 2},
    "p4fact64": {"patch": 4, "factorized": True, "dim": 64, "video_depth": 2},
    "p4fact_d1": {"patch": 4, "factorized": True, "dim": 96, "video_depth": 1},
    "p4fact64_d1": {"patch": 4, "factorized": True, "dim": 64, "video_depth": 1},
}


def make_teacher(name: str) -> tuple[TinyTeacher, int]:
    fields = dict(VARIANTS[name])
    batch = fields.pop("batch", 16)
    return TinyTeacher(TinyTeacherConfig(vocab=build_vocab(), motion_inputs=True, **fields)), batch


def evaluate(teacher: TinyTeacher, dev_pool, device: torch.device, batches: int = 40) -> dict[str, float]:
    """Accuracy, AUROC and accuracy per video source on the same development pairs for every variant."""
    teacher.net.eval()
    d = judge_pairs(teacher, dev_pool, DEV_SEEDS, 16 * batches, device)
    teacher.net.train()
    p, y, s = d["p"], d["y"], d["source"]
    right = (p > 0.5) == y
    return {"pairs": len(p), "acc": round(float(right.mean()), 4), "auroc": round(auroc(p, y), 4),
            **{str(src): round(float(right[s == src].mean()), 3) for src in sorted(set(s))}}


def train_variant(name: str, args: argparse.Namespace, pool, dev_pool, deadline: float) -> None:
    """One variant from scratch; appends a JSON line per evaluation to <out>/log.txt."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    teacher, batch = make_teacher(name)
    net = teacher.net.to(device).train()
    cfg = TeacherTrainConfig(out=args.out, reasoner="", steps=args.steps, batch=batch)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=0.01)
    sched, rng, started = warmup_cosine(opt, args.steps), np.random.default_rng(0), time.time()
    for step in range(1, args.steps + 1):
        train_step(net, teacher, opt, rng, all_families(), pool, cfg, device, SOURCE_P)
        sched.step()
        late = time.time() > deadline
        if step % args.every == 0 or step == args.steps or late:
            row = {"variant": name, "step": step, "s": round(time.time() - started, 1),
                   **evaluate(teacher, dev_pool, device)}
            with open(os.path.join(args.out, "log.txt"), "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
            if late:
                return


def time_cpu(names: list[str]) -> None:
    torch.set_num_threads(2)
    families = all_families()
    pool = build_pool(TinyReasoner.load(weights_dir()), 32, 0, families)
    for name in names:
        teacher, batch = make_teacher(name)
        cfg = TeacherTrainConfig(out="", reasoner="", batch=batch)
        net = teacher.net.train()
        opt, rng = torch.optim.AdamW(net.parameters(), lr=1e-4), np.random.default_rng(0)
        for i in range(8):  # 3 warm-up steps, 5 timed
            if i == 3:
                started = time.time()
            train_step(net, teacher, opt, rng, families, pool, cfg, torch.device("cpu"), SOURCE_P)
        params = sum(p.numel() for p in net.parameters()) / 1e6
        print(f"{name:12s} {params:.2f}M parameters, {(time.time() - started) / 5:.3f} s per training step")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    ap.add_argument("--steps", type=int, default=4000, help="steps per variant (a warm-up cosine over them)")
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--budget", type=float, default=float("inf"), help="seconds of training, then stop")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads per variant")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--pool", type=int, default=1024, help="reasoner samples and one-step predictions each")
    ap.add_argument("--out", default="runs/teacher_arch")
    ap.add_argument("--time-cpu", action="store_true")
    args = ap.parse_args()
    names = args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {unknown}; valid: {', '.join(VARIANTS)}")
    if args.time_cpu:
        return time_cpu(names)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 2)
    reasoner, families = TinyReasoner.load(weights_dir()), all_families()
    dev_pool = build_pool(reasoner, 96, 99, families, seeds=DEV_SEEDS)
    pool = build_pool(reasoner, args.pool, 0, families)
    deadline = time.time() + args.budget
    ctx = mp.get_context("spawn")  # forking after torch's thread pool started can hang the children
    procs = [ctx.Process(target=train_variant, args=(n, args, pool, dev_pool, deadline)) for n in names]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


if __name__ == "__main__":
    main()
