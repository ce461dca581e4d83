"""Methods by name: one module plus one line here each ("name": "module:Class", imported on first use,
so the CLI lists the names without loading torch). Method labels ("NAME[KEY=VALUE;...]"), `--set
METHOD.KEY=VALUE` options, and what the bench runner and the report ask of a labelled method
(its capabilities, declared on the class: methods/base.py) live here too."""

from __future__ import annotations

import re

from vlmteach.errors import VlmteachError
from vlmteach.registry import Registry

TYPE_CHECKING = False  # not typing's: the CLI imports this module to list the names
if TYPE_CHECKING:
    from vlmteach.methods.base import Method

METHODS = Registry("method", {
    "vanilla": "vlmteach.methods.vanilla:Vanilla",
    "best_of_n": "vlmteach.methods.best_of_n:BestOfN",
    "pass_at_n": "vlmteach.methods.best_of_n:PassAtN",
    "prompt_rewrite": "vlmteach.methods.prompt_rewrite:PromptRewrite",
    "tpo": "vlmteach.methods.tpo:TPO",
    "teacher_tto": "vlmteach.methods.teacher_tto:TeacherTTO",
    "oracle_tto": "vlmteach.methods.oracle_tto:OracleTTO",
})


def method_names() -> list[str]:
    return METHODS.names()


def register(name: str, target: str) -> None:
    """Add a method: `target` is "module:Class", a Method subclass imported on first use."""
    METHODS.register(name, target)


def method_class(name: str) -> type[Method]:
    if name not in METHODS:
        raise VlmteachError(f"unknown method {name!r}; valid: {', '.join(METHODS.names())}")
    return METHODS.get(name)


def split_label(label: str) -> tuple[str, dict[str, str]]:
    """"teacher_tto[grad=last-step;lam=1]" -> ("teacher_tto", {"grad": "last-step", "lam": "1"})."""
    m = re.fullmatch(r"([a-z_]+)(?:\[(.*)\])?", label.strip())
    if not m:
        raise VlmteachError(f"bad method {label!r}; expected NAME or NAME[KEY=VALUE;...]")
    options = {}
    for part in re.split(r"[;,]", m.group(2) or ""):
        if part.strip():
            key, eq, value = part.partition("=")
            if not eq:
                raise VlmteachError(f"bad option {part!r} in {label!r}; expected KEY=VALUE")
            options[key.strip()] = value.strip()
    return m.group(1), options


def _class_of(label: str) -> type[Method] | None:
    """The class a method label ("pass_at_n", "oracle_tto[lr=1e-3]", ...) names, or None for a name no
    method is registered under (the report reads labels of any run)."""
    name = label.split("[", 1)[0].strip()
    return METHODS.get(name) if name in METHODS else None


def is_upper_bound(label: str) -> bool:
    """Whether a method label names an oracle upper bound."""
    cls = _class_of(label)
    return cls is not None and cls.upper_bound


def is_cost_reference(label: str) -> bool:
    """Whether the report states wall times as multiples of this method's (pass_at_n: the paper's Pass@5)."""
    cls = _class_of(label)
    return cls is not None and cls.cost_reference


def parse_sets(sets: list[str]) -> dict[str, dict[str, str]]:
    """["teacher_tto.lr=1e-3", ...] -> {"teacher_tto": {"lr": "1e-3"}}; names must be known methods."""
    out: dict[str, dict[str, str]] = {}
    for item in sets:
        key, eq, value = item.partition("=")
        method, dot, option = key.strip().partition(".")
        if not eq or not dot or not option:
            raise VlmteachError(f"--set {item!r}: expected METHOD.KEY=VALUE, e.g. teacher_tto.lr=1e-3")
        if method not in METHODS:
            raise VlmteachError(f"--set {item!r}: unknown method {method!r}; valid: {', '.join(METHODS.names())}")
        out.setdefault(method, {})[option.strip()] = value
    return out


def make_method(name: str, options: dict[str, str] | None = None) -> Method:
    """A method by name with its options applied (text values, converted to each field's type)."""
    cls = method_class(name)
    config = cls.config_class()
    for key, raw in (options or {}).items():
        try:
            config.update(key, raw)
        except VlmteachError as exc:
            raise VlmteachError(f"{name}.{key}: {exc}") from None
    return cls(config)


def build_method(label: str, sets: dict[str, dict[str, str]] | None = None) -> Method:
    """The method of a label: --set options of its name first, then the label's own options."""
    name, options = split_label(label)
    return make_method(name, {**(sets or {}).get(name, {}), **options})


def needs_budget(label: str, sets: dict[str, dict[str, str]] | None = None) -> bool:
    """Whether the labelled method spends a budget method's wall time (best_of_n[n=auto])."""
    return build_method(label, sets).needs_budget()


def budget_label(labels: list[str]) -> str | None:
    """The label whose wall time is the budget of cost-matched methods: a budget method without options
    if listed (plain teacher_tto), else the first variant of one, else None."""
    providers = [x for x in labels if method_class(split_label(x)[0]).provides_budget]
    plain = [x for x in providers if x == split_label(x)[0]]
    return (plain or providers or [None])[0]
