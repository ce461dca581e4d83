"""`vlmteach solve`: one task in, one video out, with the teacher's queries, a live loss and the
stop reason; writes FILE.mp4, FILE.json (trace and cost) and FILE.loss.png (teacher_tto)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vlmteach.cli.bench_cmd import add_model_args
from vlmteach.cli.paths import check_output_file
from vlmteach.errors import VlmteachError
from vlmteach.methods.registry import method_names


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("solve", help="solve one task: image + instruction in, video out")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--instance", help="a sample folder (VBVR-Bench layout, e.g. from `vlmteach tasks make`)")
    src.add_argument("--image", help="first frame (.png) to start from; needs --prompt")
    src.add_argument("--family", help="a built-in family: generate the instance of --seed")
    p.add_argument("--prompt", help="the instruction (with --image)")
    p.add_argument("--seed", type=int, default=1_000_000,
                   help="noise seed (and the instance seed with --family; default 1,000,000)")
    p.add_argument("--method", default="teacher_tto",
                   help=f"NAME or NAME[KEY=VALUE;...], NAME one of {', '.join(method_names())} (default teacher_tto)")
    p.add_argument("--out", default="solution.mp4", help="output video (default solution.mp4)")
    p.add_argument("--force", action="store_true", help="overwrite --out and its .json / .loss.png")
    add_model_args(p)
    p.set_defaults(run=run)


MIN_SIDE, MAX_SIDE = 16, 8192  # pixels: a smaller image holds no task, a larger one is surely a mistake


def _problem(args: argparse.Namespace):
    """(Problem with its ground truth as `reference` where known, scorer or None, description)."""
    from vlmteach.bench.suites import builtin_item, check_eval_seed, folder_item
    from vlmteach.methods import Problem
    from vlmteach.tasks.vbvr import read_sample
    from vlmteach.video import read_image

    if args.prompt is not None and not args.prompt.strip():
        raise VlmteachError("--prompt is empty; give the instruction in words")
    if args.image:
        if not args.prompt:
            raise VlmteachError("--image needs --prompt (the instruction)")
        image = read_image(args.image)
        h, w = image.shape[-2:]
        if min(h, w) < MIN_SIDE or max(h, w) > MAX_SIDE:
            raise VlmteachError(f"--image {args.image}: {w}x{h} pixels; give an image whose sides are "
                                f"{MIN_SIDE} to {MAX_SIDE} pixels")
        return Problem(image, args.prompt.strip(), args.seed), None, args.image
    if args.prompt:
        raise VlmteachError("--prompt goes with --image; an instance or family brings its own prompt")
    if args.family:
        check_eval_seed(args.seed, "--seed")
        item = builtin_item(args.family, args.seed, None, 0)
    else:
        item = folder_item(read_sample(args.instance), 0, args.seed)
    scorer = item.score if item.instance is not None or item.sample().final_frame is not None else None
    return (Problem(item.first_frame, item.prompt, item.seed if args.family else args.seed, reference=item.reference),
            scorer, item.family)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vlmteach.methods import build_method
    from vlmteach.bench.runner import BenchConfig, load_models
    from vlmteach.methods import parse_sets
    from vlmteach.video import write_video

    out = Path(args.out)
    if out.suffix.lower() not in (".mp4", ".gif"):
        raise VlmteachError(f"--out {out}: must end in .mp4 or .gif")
    side = [out.with_suffix(".json"), out.with_suffix(".loss.png")]
    for path in (out, *side):  # before any compute: an unwritable --out must not cost the whole optimization
        check_output_file(path)
    if not args.force and any(p.exists() for p in [out, *side]):
        raise VlmteachError(f"{out} (or its .json / .loss.png) exists; pass --force to overwrite or pick another --out")
    sets = parse_sets(args.sets)
    method = build_method(args.method, sets)
    problem, scorer, what = _problem(args)
    if method.needs_scorer() and scorer is None:
        raise VlmteachError(f"{method.name} picks with the benchmark scorer: give --instance with ground truth or --family")
    if method.needs_reference() and problem.reference is None:
        raise VlmteachError(f"{method.name} optimizes towards the ground truth: give --family or an --instance "
                            "folder with final_frame.png or ground_truth.mp4")
    print(f"task: {what}\nprompt: {problem.prompt}")
    reasoner, teacher = load_models(BenchConfig(methods=[args.method], sets=sets, reasoner=args.reasoner,
                                                teacher=args.teacher, query_writer=args.query_writer))
    total, unit = method.progress_total(reasoner), method.progress_unit
    with tqdm(total=total, desc=method.name, unit=unit, dynamic_ncols=True) as bar:
        def progress(step: int, loss: float) -> None:
            bar.n = step
            bar.set_postfix_str(f"loss {loss:.3f}")

        problem.scorer = (lambda v: scorer(v).total) if scorer else None
        result = method.run(reasoner, teacher, problem, progress)
    (ih, iw), (vh, vw) = problem.first_frame.shape[-2:], result.video.size
    if abs(iw / ih - vw / vh) > 0.01 * iw / ih:
        print(f"note: the reasoner works at {vw}x{vh}, so the {iw}x{ih} image was resized to another aspect ratio")
    elif max(iw / vw, vw / iw) > 4:
        print(f"note: the reasoner works at {vw}x{vh}, so the {iw}x{ih} image was resized by "
              f"{max(iw / vw, vw / iw):.0f}x; details that small or that large may be lost")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_video(result.video, out, max(1, 256 // max(result.video.size)))
    trace = result.trace
    if trace.get("queries"):  # the queries the method used (asked once: a generating writer may vary)
        print("teacher's queries:")
        for i, q in enumerate(trace["queries"]):
            print(f"  {'goal' if i == 0 else 'process':<9}{q}")
    if trace.get("search_losses"):  # init_k > 1: the loop started from the teacher's favourite noise
        losses, pick = trace["search_losses"], trace["search_seeds"].index(trace["noise_seed"])
        print(f"searched {len(losses)} noises first: kept candidate {pick} (teacher loss {losses[pick]:.3f}; "
              f"the others {min(x for i, x in enumerate(losses) if i != pick):.3f} and up; 0 is the seed's own)")
    rolling = trace.get("noises") == "rolling"  # each step judged a new sample (teacher_tto noises=rolling)
    if "stop_reason" in trace:
        if rolling:  # each loss is a different sample's: first -> last would mislead
            kept_loss = trace["iterate_losses"][trace["chosen_iterate"]] if "chosen_iterate" in trace else trace["losses"][-1]
            print(f"stopped: {trace['stop_reason']} after {result.steps} steps, a new sample at each (teacher loss "
                  f"of the first {trace['losses'][0]:.3f}, of the kept one {kept_loss:.3f}, tau {method.config.tau})")
        else:
            print(f"stopped: {trace['stop_reason']} after {result.steps} steps "
                  f"(loss {trace['losses'][0]:.3f} -> {trace['losses'][-1]:.3f}, tau {method.config.tau})")
        if trace.get("stalled"):
            kept = {"search": "the search's pick", "loop": "the loop's sample", "new": "a new sample"}[trace["stall_pick"]]
            print(f"the loop stalled (loss down by less than {method.config.stall_drop} in {method.config.stall_steps} "
                  f"steps): judged {len(trace['stall_losses'])} more noises and kept {kept}, the teacher's best "
                  f"(noise seed {trace['output_seed']})")
        if "chosen_iterate" in trace and rolling:
            print(f"kept iterate {trace['chosen_iterate']} of {len(trace['iterate_losses']) - 1}: of the samples the "
                  f"loop judged, one per noise, the one the teacher scores best (noises=rolling; 0 is the seed's own "
                  f"noise with the untouched LoRA)")
        elif "chosen_iterate" in trace:
            print(f"kept iterate {trace['chosen_iterate']} of {len(trace['iterate_losses']) - 1}: the finished sample "
                  f"the teacher scores best (select=judge; 0 is the untouched LoRA)")
        from vlmteach.bench.report import write_loss_plot

        write_loss_plot(trace["losses"], method.config.tau, side[1], method.name, rolling)
        print(f"wrote {side[1]}")
    record = {"method": args.method, "prompt": problem.prompt, "seed": problem.seed, "steps": result.steps,
              "cost": result.cost.to_dict(), "trace": trace}
    if scorer is not None:
        score = scorer(result.video)
        record.update(score=score.total, parts=score.parts)
        print(f"score: {score.total:.3f}  " + "  ".join(f"{k} {v:.2f}" for k, v in score.parts.items()))
    side[0].write_text(json.dumps(record, indent=2))
    c = result.cost
    print(f"cost: {c.wall_s:.2f} s, reasoner {c.reasoner_forwards} fwd / {c.reasoner_backwards} bwd, "
          f"teacher {c.teacher_forwards} fwd / {c.teacher_backwards} bwd")
    print(f"wrote {out}\nwrote {side[0]}")
    return 0
