"""What a finished training run leaves behind: the frozen model's files and a JSON record of the
recipe (config, seed range, families, wall time) next to them."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any


def finish(model: Any, out: Path, name: str, cfg: Any, seeds: tuple[int, int], families: list[str],
           started: float, earlier_s: float = 0.0) -> Path:
    """Freeze `model.net` on the CPU, save it as `<name>.{json,safetensors}` and write `<name>.train.json`.
    `earlier_s`: the seconds that earlier, interrupted runs of the same training spent (from the
    checkpoint), so that the record gives the whole training's wall time, not only the last run's."""
    model.net.to("cpu").eval()
    for p in model.net.parameters():
        p.requires_grad_(False)
    path = model.save(out)
    this_run = time.time() - started
    (out / f"{name}.train.json").write_text(json.dumps(
        {**asdict(cfg), "train_seeds": list(seeds), "families": families,
         "wall_s_this_run": round(this_run, 1), "wall_s_total": round(earlier_s + this_run, 1)}, indent=2))
    return path
