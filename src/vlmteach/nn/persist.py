"""Save and load a tiny model as `<name>.json` (its config dataclass) + `<name>.safetensors`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from vlmteach.errors import VlmteachError


def save_model(folder: str | Path, name: str, cfg: Any, module: torch.nn.Module) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(asdict(cfg)))
    path = folder / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, path)
    return path


def load_config(folder: str | Path, name: str, hint: str) -> tuple[dict[str, Any], Path]:
    """The saved config fields and the weights path; a clear error when either file is missing."""
    folder = Path(folder)
    cfg_path, weights = folder / f"{name}.json", folder / f"{name}.safetensors"
    for p in (cfg_path, weights):
        if not p.is_file():
            raise VlmteachError(f"{p}: {name} file missing ({hint})")
    return json.loads(cfg_path.read_text()), weights


def load_weights(module: torch.nn.Module, weights: Path) -> None:
    """Load safetensors weights into `module` and freeze it."""
    module.load_state_dict(load_file(weights))
    for p in module.parameters():
        p.requires_grad_(False)
