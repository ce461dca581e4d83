"""The teacher layer: vision-language judges behind one Teacher interface. Backends load by name
through teachers/registry.py; importing this package loads neither torch nor any backend, so the CLI
can list the names at once."""

from __future__ import annotations

from pathlib import Path

from vlmteach.paths import weights_dir
from vlmteach.registry import lazy_attributes
from vlmteach.teachers.registry import BACKENDS, TINY_CHECKS

TYPE_CHECKING = False  # not typing's, which alone would add ~0.5 MB to every CLI start
if TYPE_CHECKING:
    from vlmteach.teachers.base import QuerySet, Teacher, TeacherCost
    from vlmteach.teachers.rulebook import generic_queries

__getattr__ = lazy_attributes(__name__, {"QuerySet": "vlmteach.teachers.base:QuerySet",
                                         "Teacher": "vlmteach.teachers.base:Teacher",
                                         "TeacherCost": "vlmteach.teachers.base:TeacherCost",
                                         "generic_queries": "vlmteach.teachers.rulebook:generic_queries"})


def names() -> list[str]:
    """The registered backend names, in registration order."""
    return BACKENDS.names()


def register(name: str, target: str) -> None:
    """Add a backend: `target` is "module:factory", a `from_spec(path) -> Teacher` imported on first use."""
    BACKENDS.register(name, target)


def load(name: str = "tiny", path: str | Path | None = None) -> Teacher:
    """A teacher by name: "tiny" loads the shipped weights (or those in `path`); "openai_chat" is a
    query writer at the URL in `path` ("URL[,model=NAME,...]"), to combine with a judge; "qwen_vl" is a
    Qwen2.5-VL / Qwen3-VL model in a local folder or the offline cache ("PATH[,dtype=bf16,frames=8,...]");
    "qwen_vl_tiny" a random tiny one ("[qwen3_vl|qwen2_5_vl][,...]") for checking the code path."""
    return BACKENDS.get(name)(path)


__all__ = ["BACKENDS", "TINY_CHECKS", "QuerySet", "Teacher", "TeacherCost", "generic_queries", "load", "names",
           "register", "weights_dir"]
