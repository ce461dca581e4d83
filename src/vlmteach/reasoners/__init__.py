"""The reasoner layer: video generation models behind one Reasoner interface. Backends load by name
through reasoners/registry.py; importing this package loads neither torch nor any backend, so the CLI
can list the names at once."""

from __future__ import annotations

from pathlib import Path

from vlmteach.reasoners.registry import BACKENDS, CLASSES, LORA_TARGET_CHECKS, TINY_CHECKS
from vlmteach.paths import weights_dir
from vlmteach.registry import lazy_attributes

TYPE_CHECKING = False  # not typing's, which alone would add ~0.5 MB to every CLI start
if TYPE_CHECKING:
    from vlmteach.reasoners.base import Reasoner, ReasonerCost

__getattr__ = lazy_attributes(__name__, {"Reasoner": "vlmteach.reasoners.base:Reasoner",
                                         "ReasonerCost": "vlmteach.reasoners.base:ReasonerCost"})


def names() -> list[str]:
    """The registered backend names, in registration order."""
    return BACKENDS.names()


def register(name: str, target: str) -> None:
    """Add a backend: `target` is "module:factory", a `from_spec(path) -> Reasoner` imported on first use."""
    BACKENDS.register(name, target)


def load(name: str = "tiny", path: str | Path | None = None) -> Reasoner:
    """A reasoner by name: "tiny" loads the shipped weights (or those in `path`); "wan" a diffusers Wan
    model from `path` = "FOLDER_OR_CACHED_ID[,key=value,...]"; "wan_tiny" a random tiny Wan for
    plumbing checks, `path` = "[KIND][,key=value,...]"."""
    return BACKENDS.get(name)(path)


def check_lora_targets(name: str, targets: str | None) -> None:
    """Refuse a LoRA `targets` name that backend `name` does not know, without loading its model
    (backends that take any module suffixes accept everything)."""
    if targets is not None and name in LORA_TARGET_CHECKS:
        LORA_TARGET_CHECKS.get(name)(targets)


def backend_class(name: str) -> type | None:
    """Backend `name`'s Reasoner class, imported without loading any weights, or None where it is not
    registered in CLASSES (a backend added with `register` alone) or its module cannot be imported
    here (a missing extra: loading the backend will say which)."""
    if name not in CLASSES:
        return None
    try:
        return CLASSES.get(name)
    except ImportError:
        return None


__all__ = ["BACKENDS", "TINY_CHECKS", "Reasoner", "ReasonerCost", "backend_class", "check_lora_targets", "load",
           "names", "register", "weights_dir"]
