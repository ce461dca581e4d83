"""Measure a teacher's gradient where the test-time loop uses it (vlmteach/bench/gradients.py).

For `--per-family` instances of every built-in family (development seeds by default) and the first
`--noises` candidate noises of each (best_of_n's seeds, the ones teacher_tto's search draws), the
teacher's loss at the loop's first iterate is compared with oracle_tto's reference loss: cosine of
their gradients w.r.t. the LoRA and w.r.t. the view's pixels, and the step efficiency (how far one
step on the teacher's loss lowers the reference loss, as a share of one step on the reference loss;
per group, the ratio of the mean decreases). Prints per family and overall; the loop settings are
teacher_tto's (`--method` to change them).

Run: `python benchmarks/grad_alignment.py [--per-family 4] [--noises 4] [--seed 900000] [--teacher-weights DIR]`
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from tqdm import tqdm

from vlmteach import reasoners, teachers
from vlmteach.bench.gradients import gradient_alignment
from vlmteach.bench.groups import family_groups
from vlmteach.methods import Problem, make_method, split_label
from vlmteach.methods.common import candidate_seed
from vlmteach.methods.teacher_tto import problem_queries
from vlmteach.optim import ReferenceObjective, TeacherObjective
from vlmteach.optim.tto import resolve
from vlmteach.tasks import all_families, get_family
from vlmteach.train.seeds import DEV_SEEDS

FIGURES = ("lora_cos", "pixel_cos")
STEPS = ("reference_loss", "after_teacher_step", "after_reference_step")


def report(rows: list[dict]) -> None:
    print(f"{'':<22}{'pairs':>6}{'lora_cos':>10}{'pixel_cos':>10}{'lora_cos>0':>11}{'step_eff':>10}")

    def line(name: str, sub: list[dict]) -> None:
        v = {k: np.array([r[k] for r in sub], dtype=float) for k in FIGURES + STEPS}
        # a ratio of means, as selection efficiency is: a pair whose oracle step barely moves cannot dominate it
        eff = (v["reference_loss"] - v["after_teacher_step"]).mean() / (v["reference_loss"] - v["after_reference_step"]).mean()
        print(f"{name:<22}{len(sub):>6}{v['lora_cos'].mean():>10.3f}{v['pixel_cos'].mean():>10.3f}"
              f"{(v['lora_cos'] > 0).mean():>11.2f}{eff:>10.3f}")

    for name, sub in family_groups(rows, lambda r: (r["family"], get_family(r["family"]).split)):
        line(name, sub)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="teacher_tto[noises=fixed]",
                    help="a teacher_tto label (default: the fixed-noise loop's settings), e.g. 'teacher_tto[grad=first-step]'")
    ap.add_argument("--per-family", type=int, default=4)
    ap.add_argument("--noises", type=int, default=4, help="candidate noises per instance")
    ap.add_argument("--seed", type=int, default=DEV_SEEDS[0], help="first instance seed (default: development seeds)")
    ap.add_argument("--weights", default=None, help="folder with tiny_{reasoner,teacher} files (default: shipped)")
    ap.add_argument("--teacher-weights", default=None, help="teacher folder, if not --weights")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save", default=None, help="write every measurement as JSON here")
    ap.add_argument("--load", default=None, help="summarise a file written by --save instead of measuring")
    args = ap.parse_args()
    if args.load:
        with open(args.load) as f:
            report(json.load(f))
        return
    if args.per_family < 1 or args.noises < 1:
        raise SystemExit(f"--per-family and --noises must be >= 1; got {args.per_family}, {args.noises}")
    name, opts = split_label(args.method)
    if name != "teacher_tto":
        raise SystemExit(f"--method must be a teacher_tto label, got {args.method!r}")
    torch.set_num_threads(args.threads)
    reasoner = reasoners.load("tiny", args.weights)
    teacher = teachers.load("tiny", args.teacher_weights or args.weights)
    cfg = resolve(make_method(name, opts).config, reasoner)
    todo = [(fam, args.seed + i) for fam in all_families() for i in range(args.per_family)]
    start, rows = time.time(), []
    for fam, seed in tqdm(todo, desc="instances", unit="inst", disable=None):
        inst = fam.generate(seed)
        problem = Problem(inst.first_frame, inst.prompt, inst.seed)
        queries = problem_queries(teacher, problem, cfg.queries, cfg.lam)
        cond = reasoner.condition(problem.first_frame, problem.prompt)
        for k in range(args.noises):
            objective = TeacherObjective(teacher, queries, cfg.frames, cfg.noise, problem.seed)
            m = gradient_alignment(reasoner, objective, ReferenceObjective(inst.ground_truth), cond,
                                   reasoner.noise(candidate_seed(problem.seed, k)), cfg, problem.seed)
            rows.append({"family": fam.name, "seed": seed, "noise": k, **m.to_json()})
    print(f"measured {len(todo)} instances x {args.noises} noises in {time.time() - start:.0f} s "
          f"(seeds {args.seed:,}-{args.seed + args.per_family - 1:,}, {args.method})")
    if args.save:
        with open(args.save, "w") as f:
            json.dump(rows, f)
    report(rows)


if __name__ == "__main__":
    main()
