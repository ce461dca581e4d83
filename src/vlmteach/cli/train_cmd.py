"""`vlmteach train reasoner|teacher|endstate`: reproduce the shipped tiny-world weights (resumable)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from vlmteach.cli.paths import check_output_folder
from vlmteach.errors import VlmteachError

DEFAULT_OUT = "vlmteach-weights"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the built-in tiny reasoner, teacher, or the teacher's end-state picture")
    p.add_argument("model", choices=("reasoner", "teacher", "endstate"),
                   help="endstate: the teacher's picture of the end state, then the teacher (from --teacher) "
                        "with it, written to --out")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder; rerun to resume (default {DEFAULT_OUT})")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the shipped recipe)")
    p.add_argument("--seed", type=int, default=None,
                   help="training seed (default: as shipped; 0 for the reasoner, each teacher member its own)")
    p.add_argument("--reasoner", default=None,
                   help="teacher and endstate: folder with the reasoner whose samples the teacher learns to judge "
                        "(default: --out if it holds one, else the shipped reasoner)")
    p.add_argument("--teacher", default=None,
                   help="endstate only: folder with the teacher that gets the picture (default: --out if it holds "
                        "one, else the shipped teacher)")
    p.add_argument("--picture-mode", default=None, choices=("guide", "add", "replace"),
                   help="endstate only: how the teacher uses its picture (default guide, as shipped: its nets "
                        "answer, the picture gives the gradient; add: added to their answer; replace: instead)")
    p.add_argument("--member", default=None,
                   help="teacher only: train one member of the shipped ensemble alone (probe_a, probe_b or probe_c); "
                        "default: all three, then the ensemble")
    p.set_defaults(run=run)


def _out_or_shipped(out: str, name: str) -> str:
    """The folder a model `name` is read from when not given: --out if it holds one, else the shipped weights."""
    from vlmteach.reasoners import weights_dir

    return out if (Path(out) / f"{name}.json").exists() else str(weights_dir())


def run(args: argparse.Namespace) -> int:
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise VlmteachError("--device cuda: no CUDA device is available here; use --device cpu")
    check_output_folder(args.out)
    extra = {"steps": args.steps} if args.steps else {}
    if args.model == "reasoner" and args.member is not None:
        raise VlmteachError("--member is for `train teacher` only: the reasoner is one net")
    if args.model != "endstate" and (args.teacher is not None or args.picture_mode is not None):
        raise VlmteachError("--teacher and --picture-mode are for `train endstate` only")
    if args.model == "endstate":
        from vlmteach.train.endstate import EndStateTrainConfig, attach_picture, train_endstate

        if args.member is not None:
            raise VlmteachError("--member is for `train teacher` only: the end-state picture is one net")
        teacher = args.teacher or _out_or_shipped(args.out, "tiny_teacher")
        reasoner = args.reasoner or _out_or_shipped(args.out, "tiny_reasoner")
        train_endstate(EndStateTrainConfig(out=args.out, seed=args.seed or 0, device=args.device, **extra))
        print(f"wrote {attach_picture(args.out, teacher, reasoner, mode=args.picture_mode or 'guide')}")
        return 0
    if args.model == "reasoner":
        from vlmteach.train.reasoner import ReasonerTrainConfig, train_reasoner

        path = train_reasoner(ReasonerTrainConfig(out=args.out, seed=args.seed or 0, device=args.device, **extra))
    else:
        from vlmteach.train.teacher import MEMBERS, TeacherTrainConfig, member_fields, train_ensemble, train_teacher

        reasoner = args.reasoner or _out_or_shipped(args.out, "tiny_reasoner")
        if args.member is not None and args.member not in MEMBERS:
            raise VlmteachError(f"--member {args.member!r} is not a member of the shipped teacher; valid: {', '.join(MEMBERS)}")
        cfg = TeacherTrainConfig(out=args.out, reasoner=reasoner, device=args.device)
        over = {**extra, **({"seed": args.seed} if args.seed is not None else {})}  # given: for every member
        members = {k: {**v, **over} for k, v in MEMBERS.items()}
        path = train_ensemble(cfg, members) if args.member is None else train_teacher(
            replace(cfg, **member_fields(members[args.member])[0]))
    print(f"wrote {path}")
    return 0
