"""`vlmteach score`: score a video against an instance folder with the task's rule-based scorer."""

from __future__ import annotations

import argparse
import json



def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score a video against an instance folder")
    p.add_argument("--instance", required=True, help="sample folder (VBVR-Bench layout)")
    p.add_argument("--video", required=True, help="video to score (.mp4, .gif, .png or a folder of .png)")
    p.add_argument("--json", action="store_true", help='print {"score": ..., "parts": {...}} as JSON')
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vlmteach.tasks.vbvr import read_sample, score_sample
    from vlmteach.video import read_video

    sample = read_sample(args.instance)
    score = score_sample(read_video(args.video), sample)
    if args.json:
        print(json.dumps(score.to_dict()))
        return 0
    print(f"{sample.task} ({sample.split}, {sample.folder}): score {score.total:.3f}  [{score.scorer}]")
    for name, value in score.parts.items():
        print(f"  {name:<24}{value:.3f}")
    return 0
