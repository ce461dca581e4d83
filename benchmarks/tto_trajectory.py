"""Where teacher_tto's gain comes from, step by step, on development instances.

For each instance: the finished sample of every iterate of the loop (the LoRA after 0, 1, 2, ...
steps), scored by the benchmark's scorer and judged by the teacher, from each of the `--starts`
best noises of the method's search (init_k; the fixed-noise loop: noises=fixed); and `--bon` best-of-N candidates judged by the same
teacher with the same queries. It prints the paired gain over vanilla (candidate 0's sample, the
mean over instances) of:
- one loop stopped after t steps, and the best by the teacher (and by the scorer, an upper bound)
  of `--starts` loops stopped after t steps each (t x starts steps in all);
- the loop's own iterates picked by the teacher or by the scorer (is the last iterate the best?);
- best-of-N by the teacher for N = 4, 8, 16, 24, 32 (the reference at a similar cost);
- with `--transfer M`: M samples from noises the search did not draw, with the first loop's final
  LoRA, against the base model's samples from the same noises (does the LoRA optimized on one noise
  help others?), and the loop's output or one of them, picked by the teacher. They are drawn when
  the loop spends its whole budget; a loop that stops early at tau is left out of that line.

It scores samples no method would draw, so its time says nothing of a method's; dev_compare.py times
them. Development seeds only (train/seeds.py).

Run: `python benchmarks/tto_trajectory.py [--method 'teacher_tto[noises=fixed;max_steps=8]'] [--starts 2] [--seed 900100]`
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from tqdm import tqdm

from vlmteach import reasoners, teachers
from vlmteach.methods import Problem, make_method, split_label
from vlmteach.methods.common import candidate_seed, full_sample, teacher_loss_of
from vlmteach.methods.teacher_tto import finished_sample, iterate_sample, optimize_lora, problem_queries, step_budget
from vlmteach.optim import TeacherObjective
from vlmteach.optim.tto import resolve
from vlmteach.tasks import all_families
from vlmteach.train.seeds import DEV_SEEDS, EVAL_SEED_MIN

BON_SIZES = (4, 8, 16, 24, 32)


def instance_record(reasoner, teacher, fam, inst, cfg, starts: int, bon: int, transfer: int = 0) -> dict:
    """Candidates (teacher loss, score) for best-of-N (at least the search's and the transfer's noises),
    per start the loop's iterates (teacher loss, score), and the first loop's transfer samples."""
    problem = Problem(inst.first_frame, inst.prompt, inst.seed)
    queries = problem_queries(teacher, problem, cfg.queries, cfg.lam)
    cond = reasoner.condition(problem.first_frame, problem.prompt)
    cands = []
    for i in range(max(bon, cfg.init_k + transfer)):
        video = full_sample(reasoner, cond, candidate_seed(problem.seed, i), cfg.sample_steps)
        cands.append((teacher_loss_of(teacher, video, queries, cfg.frames)[0], fam.score(video, inst).total))
    order = sorted(range(cfg.init_k), key=lambda k: cands[k][0])  # the search's ranking
    loops, moved, budget = [], [], step_budget(cfg, reasoner)
    for k in order[:starts]:
        seed, iterates = candidate_seed(problem.seed, k), []

        def judge(step: int, loss: float, c, prediction, seed=seed, iterates=iterates) -> None:
            video = iterate_sample(reasoner, c, seed, cfg, prediction)
            iterates.append((teacher_loss_of(teacher, video, queries, cfg.frames)[0], fam.score(video, inst).total))
            if step == budget and not loops:  # the first loop's final LoRA, on noises the search did not draw
                for i in range(cfg.init_k, cfg.init_k + transfer):
                    other = finished_sample(reasoner, c, candidate_seed(problem.seed, i), cfg)
                    moved.append((teacher_loss_of(teacher, other, queries, cfg.frames)[0], fam.score(other, inst).total))

        objective = TeacherObjective(teacher, queries, cfg.frames, cfg.noise, problem.seed)
        optimize_lora(reasoner, problem, cfg, objective, None, seed, judge, final=False)
        loops.append(iterates)
    return {"family": fam.name, "seed": int(inst.seed), "cands": cands, "loops": loops, "transfer": moved,
            "transfer_from": cfg.init_k}


def at(iterates: list, t: int) -> tuple[float, float]:
    """The iterate after t steps; a loop that stopped early (tau) keeps its last."""
    return iterates[min(t, len(iterates) - 1)]


def summarise(records: list[dict], starts: int, bon: int) -> None:
    vanilla = np.array([r["cands"][0][1] for r in records])

    def gain(values) -> str:
        d = np.array(values) - vanilla
        return f"{d.mean():+.3f} ({d.std(ddof=1) / np.sqrt(len(d)):.3f})"

    steps = max(len(it) for r in records for it in r["loops"]) - 1
    print(f"{len(records)} instances; vanilla {vanilla.mean():.3f}; paired gain over vanilla (standard error)")
    print(f"{'steps':>5}  {'one loop':>15}  {f'best of {starts} loops, teacher':>28}  {'scorer (bound)':>15}")
    for t in range(steps + 1):
        one = [at(r["loops"][0], t)[1] for r in records]
        pick = [min(at(it, t) for it in r["loops"])[1] for r in records]
        bound = [max(at(it, t)[1] for it in r["loops"]) for r in records]
        print(f"{t:>5}  {gain(one):>15}  {gain(pick):>28}  {gain(bound):>15}")
    first = [r["loops"][0] for r in records]
    print(f"the first loop's iterates: last {gain([it[-1][1] for it in first])}, picked by the teacher "
          f"{gain([min(it)[1] for it in first])}, by the scorer {gain([max(s for _, s in it) for it in first])}")
    for n in (n for n in BON_SIZES if n <= bon):
        picks = [min(r["cands"][:n])[1] for r in records]
        print(f"best-of-{n} by the teacher: {gain(picks)}")
    moved = [r for r in records if r.get("transfer")]
    if moved:
        m, lo = len(moved[0]["transfer"]), moved[0]["transfer_from"]
        base = np.mean([s for r in moved for _, s in r["cands"][lo:lo + m]])
        lora = np.mean([s for r in moved for _, s in r["transfer"]])
        pick = np.mean([min([r["loops"][0][-1], *r["transfer"]])[1] - r["loops"][0][-1][1] for r in moved])
        print(f"transfer ({len(moved)} instances whose loop spent its budget): {m} other noises score {base:.3f} "
              f"with the base model, {lora:.3f} with the loop's final LoRA; the loop's output or one of them, "
              f"picked by the teacher, {pick:+.3f} over the output alone")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="teacher_tto[noises=fixed]",
                    help="a fixed-noise teacher_tto label, e.g. 'teacher_tto[noises=fixed;max_steps=8;init_k=4]'")
    ap.add_argument("--starts", type=int, default=2, help="loops from the best noises of the search (at most its init_k)")
    ap.add_argument("--bon", type=int, default=32, help="best-of-N candidates per instance (0: none)")
    ap.add_argument("--transfer", type=int, default=0, help="samples of other noises with the first loop's final LoRA")
    ap.add_argument("--per-family", type=int, default=4)
    ap.add_argument("--seed", type=int, default=DEV_SEEDS[0])
    ap.add_argument("--teacher-weights", default=None, help="teacher folder (default: shipped)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save", default=None, help="write every record as JSON here")
    ap.add_argument("--load", default=None, help="summarise a file written by --save instead of running")
    args = ap.parse_args()
    if args.starts < 1 or args.bon < 0 or args.transfer < 0:
        raise SystemExit(f"--starts must be >= 1, --bon and --transfer >= 0; got {args.starts}, {args.bon}, {args.transfer}")
    if args.load:
        with open(args.load) as f:
            saved = json.load(f)
        summarise(saved["records"], saved["starts"], saved["bon"])
        return
    if args.seed + args.per_family > EVAL_SEED_MIN:
        raise SystemExit(f"seeds from {EVAL_SEED_MIN:,} are evaluation seeds; this diagnostic is for development seeds")
    name, opts = split_label(args.method)
    if name != "teacher_tto":
        raise SystemExit(f"--method must be a teacher_tto label, got {args.method!r}")
    torch.set_num_threads(args.threads)
    reasoner = reasoners.load("tiny", None)
    teacher = teachers.load("tiny", args.teacher_weights)
    cfg = resolve(make_method(name, opts).config, reasoner)
    if cfg.noises != "fixed":
        raise SystemExit(f"{args.method!r} resolves to noises={cfg.noises}; this diagnostic follows fixed-noise loops, "
                         "so add noises=fixed to the label")
    if args.starts > cfg.init_k:
        raise SystemExit(f"--starts {args.starts} exceeds the search's init_k ({cfg.init_k}): loops start from its best noises")
    insts = [(fam, fam.generate(args.seed + i)) for fam in all_families() for i in range(args.per_family)]
    records = [instance_record(reasoner, teacher, fam, inst, cfg, args.starts, args.bon, args.transfer)
               for fam, inst in tqdm(insts, unit="inst", disable=None)]
    if args.save:
        with open(args.save, "w") as f:
            json.dump({"method": args.method, "starts": args.starts, "bon": args.bon, "records": records}, f)
    summarise(records, args.starts, args.bon)


if __name__ == "__main__":
    main()
