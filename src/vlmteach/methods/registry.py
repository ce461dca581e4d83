"""Method names (as on the CLI) -> classes, and `--set METHOD.KEY=VALUE` option parsing."""

from __future__ import annotations

from vlmteach.errors import VlmteachError
from vlmteach.methods.base import Method
from vlmteach.methods.best_of_n import BestOfN, PassAtN
from vlmteach.methods.oracle_tto import OracleTTO
from vlmteach.methods.prompt_rewrite import PromptRewrite
from vlmteach.methods.teacher_tto import TeacherTTO
from vlmteach.methods.tpo import TPO
from vlmteach.methods.vanilla import Vanilla

METHODS: dict[str, type[Method]] = {m.name: m for m in (Vanilla, BestOfN, PassAtN, PromptRewrite, TPO, TeacherTTO, OracleTTO)}


def method_names() -> list[str]:
    return list(METHODS)


def is_upper_bound(label: str) -> bool:
    """Whether a method label ("pass_at_n", "oracle_tto[lr=1e-3]", ...) names an oracle upper bound."""
    method = METHODS.get(label.split("[", 1)[0].strip())
    return bool(method and method.upper_bound)


def parse_sets(sets: list[str]) -> dict[str, dict[str, str]]:
    """["teacher_tto.lr=1e-3", ...] -> {"teacher_tto": {"lr": "1e-3"}}; names must be known methods."""
    out: dict[str, dict[str, str]] = {}
    for item in sets:
        key, eq, value = item.partition("=")
        method, dot, option = key.strip().partition(".")
        if not eq or not dot or not option:
            raise VlmteachError(f"--set {item!r}: expected METHOD.KEY=VALUE, e.g. teacher_tto.lr=1e-3")
        if method not in METHODS:
            raise VlmteachError(f"--set {item!r}: unknown method {method!r}; valid: {', '.join(METHODS)}")
        out.setdefault(method, {})[option.strip()] = value
    return out


def make_method(name: str, options: dict[str, str] | None = None) -> Method:
    """A method by name with its options applied (text values, converted to each field's type)."""
    if name not in METHODS:
        raise VlmteachError(f"unknown method {name!r}; valid: {', '.join(METHODS)}")
    cls = METHODS[name]
    config = cls.config_class()
    for key, raw in (options or {}).items():
        try:
            config.update(key, raw)
        except VlmteachError as exc:
            raise VlmteachError(f"{name}.{key}: {exc}") from None
    return cls(config)
