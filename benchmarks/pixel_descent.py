"""Descend the teacher's loss on the pixels of the reasoner's own samples and score them (bench/descent.py).

For `--per-family` instances of every built-in family (development seeds by default) and the first
`--noises` candidate noises of each (best_of_n's seeds; noise 0 is vanilla's sample), Adam on the
sample's pixels against the teacher's loss (the method's queries and lam), scored by the family's
scorer at each checkpoint. Prints, per family and overall, the mean score gain over the sample at
each checkpoint and the teacher's mean loss: a judge whose gradient helps raises the score; one that
is fooled lowers its loss while the score stalls or falls. `--reference` runs the same descent on
oracle_tto's privileged loss too, the ceiling (it walks to the ground truth).

Run: `python benchmarks/pixel_descent.py [--per-family 4] [--noises 1] [--seed 900000] [--lr 0.05] [--teacher-weights DIR]`
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from tqdm import tqdm

from vlmteach import reasoners, teachers
from vlmteach.bench.descent import pixel_descent
from vlmteach.bench.groups import family_groups
from vlmteach.methods import Problem, make_method
from vlmteach.methods.common import candidate_seed, full_sample
from vlmteach.methods.teacher_tto import problem_queries
from vlmteach.optim import ReferenceObjective, TeacherObjective
from vlmteach.optim.tto import resolve
from vlmteach.tasks import all_families, get_family
from vlmteach.train.seeds import DEV_SEEDS

CHECKPOINTS = (0, 5, 15, 30, 60)


def scorer(fam, inst):
    """The family's total score of a video of `inst`."""
    return lambda video: fam.score(video, inst).total


def report(rows: list[dict]) -> None:
    """Mean score gain over the sample at each checkpoint, per objective, family and split."""
    marks = [p["step"] for p in rows[0]["points"]]
    head = "".join(f"{'@' + str(m):>8}" for m in marks[1:])
    for objective in sorted({r["objective"] for r in rows}, reverse=True):
        sub_rows = [r for r in rows if r["objective"] == objective]
        print(f"\n{objective}: mean score gain after n steps (loss: the objective's mean at the start -> at the end)")
        print(f"{'':<22}{'videos':>7}{head}{'best':>8}   loss")

        def line(name: str, sub: list[dict]) -> None:
            score = np.array([[p["score"] for p in r["points"]] for r in sub])
            loss = np.array([[p["loss"] for p in r["points"]] for r in sub])
            gain = (score - score[:, :1]).mean(0)
            print(f"{name:<22}{len(sub):>7}" + "".join(f"{g:>+8.3f}" for g in gain[1:])
                  + f"{gain.max():>+8.3f}   {loss[:, 0].mean():.3f} -> {loss[:, -1].mean():.3f}")

        for name, sub in family_groups(sub_rows, lambda r: (r["family"], get_family(r["family"]).split)):
            line(name, sub)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-family", type=int, default=4)
    ap.add_argument("--noises", type=int, default=1, help="candidate noises per instance (0: vanilla's)")
    ap.add_argument("--seed", type=int, default=DEV_SEEDS[0], help="first instance seed (default: development seeds)")
    ap.add_argument("--lr", type=float, default=0.05, help="Adam's learning rate on the pixels' logits")
    ap.add_argument("--steps", default=",".join(map(str, CHECKPOINTS)), help="checkpoints, comma-separated")
    ap.add_argument("--reference", action="store_true", help="also descend oracle_tto's privileged loss")
    ap.add_argument("--weights", default=None, help="folder with tiny_{reasoner,teacher} files (default: shipped)")
    ap.add_argument("--teacher-weights", default=None, help="teacher folder, if not --weights")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save", default=None, help="write every descent as JSON here")
    ap.add_argument("--load", default=None, help="summarise a file written by --save instead of measuring")
    args = ap.parse_args()
    if args.load:
        with open(args.load) as f:
            report(json.load(f))
        return
    if args.per_family < 1 or args.noises < 1:
        raise SystemExit(f"--per-family and --noises must be >= 1; got {args.per_family}, {args.noises}")
    try:
        marks = [int(s) for s in args.steps.split(",")]
    except ValueError:
        raise SystemExit(f"--steps must be comma-separated step counts, got {args.steps!r}") from None
    if 0 not in marks:
        marks = [0, *marks]  # the gain is measured from the sample as drawn
    torch.set_num_threads(args.threads)
    reasoner = reasoners.load("tiny", args.weights)
    teacher = teachers.load("tiny", args.teacher_weights or args.weights)
    cfg = resolve(make_method("teacher_tto").config, reasoner)
    todo = [(fam, args.seed + i) for fam in all_families() for i in range(args.per_family)]
    start, rows = time.time(), []
    for fam, seed in tqdm(todo, desc="instances", unit="inst", disable=None):
        inst = fam.generate(seed)
        problem = Problem(inst.first_frame, inst.prompt, inst.seed)
        queries = problem_queries(teacher, problem, cfg.queries, cfg.lam)
        cond = reasoner.condition(problem.first_frame, problem.prompt)
        for k in range(args.noises):
            video = full_sample(reasoner, cond, candidate_seed(problem.seed, k), cfg.sample_steps)
            objectives = {"teacher": TeacherObjective(teacher, queries, cfg.frames)}
            if args.reference:
                objectives["reference"] = ReferenceObjective(inst.ground_truth)
            for name, objective in objectives.items():
                points = pixel_descent(video, objective, scorer(fam, inst), marks, args.lr)
                rows.append({"family": fam.name, "seed": seed, "noise": k, "objective": name,
                             "points": [p.to_json() for p in points]})
    print(f"descended {len(todo)} instances x {args.noises} noises in {time.time() - start:.0f} s "
          f"(seeds {args.seed:,}-{args.seed + args.per_family - 1:,}, lr {args.lr})")
    if args.save:
        with open(args.save, "w") as f:
            json.dump(rows, f)
    report(rows)


if __name__ == "__main__":
    main()
