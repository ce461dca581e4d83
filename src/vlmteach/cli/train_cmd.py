"""`vlmteach train reasoner|teacher`: reproduce the shipped tiny-world weights (resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vlmteach.errors import VlmteachError

DEFAULT_OUT = "vlmteach-weights"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the built-in tiny reasoner or teacher")
    p.add_argument("model", choices=("reasoner", "teacher"))
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder; rerun to resume (default {DEFAULT_OUT})")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the shipped recipe)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0, as shipped)")
    p.add_argument("--reasoner", default=None,
                   help="teacher only: folder with the reasoner whose samples it learns to judge "
                        "(default: --out if it holds one, else the shipped reasoner)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise VlmteachError("--device cuda: no CUDA device is available here; use --device cpu")
    extra = {"steps": args.steps} if args.steps else {}
    if args.model == "reasoner":
        from vlmteach.train.reasoner import ReasonerTrainConfig, train_reasoner

        path = train_reasoner(ReasonerTrainConfig(out=args.out, seed=args.seed, device=args.device, **extra))
    else:
        from vlmteach.reasoners import weights_dir
        from vlmteach.train.teacher import TeacherTrainConfig, train_teacher

        reasoner = args.reasoner or (args.out if (Path(args.out) / "tiny_reasoner.json").exists() else str(weights_dir()))
        path = train_teacher(TeacherTrainConfig(out=args.out, reasoner=reasoner, seed=args.seed, device=args.device, **extra))
    print(f"wrote {path}")
    return 0
