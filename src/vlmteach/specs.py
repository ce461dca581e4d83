"""Typed options from text: `--set` values and model specs such as `wan:PATH,steps=2,checkpointing=1`.
One parser for every layer, so every spec reads values and reports mistakes the same way."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from vlmteach.errors import VlmteachError

T = TypeVar("T")


def parse_value(raw: Any, annotation: str, key: str = "value") -> Any:
    """Convert `raw` to the first type of the annotation ("int | None", "float", "int | str", ...)
    that accepts it; "none" gives None where the annotation allows it. A value that is not text
    (`make_method("teacher_tto", {"max_steps": 4})` from Python) is read through its text form."""
    text = str(raw).strip()
    kinds = [k.strip() for k in annotation.split("|")]
    if text.lower() in ("none", "null") and "None" in kinds:
        return None
    if "bool" in kinds:
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off"):
            return False
    for name, kind in (("int", int), ("float", float)):
        if name in kinds:
            try:
                return kind(text)
            except ValueError:
                pass
    if "str" in kinds:
        return text
    raise VlmteachError(f"{key}: cannot read {raw!r} as {annotation}")


def parse_spec(text: str, config: type[T], what: str, example: str, skip: tuple[str, ...] = ()) -> tuple[str, T]:
    """"HEAD[,key=value,...]" -> (HEAD, config(**options)), each value converted to its field's declared
    type; `skip` names fields that cannot be set this way. Errors name the spec and the valid keys."""
    head, options = parse_spec_options(text, config, what, example, skip)
    return head, config(**options)


def parse_spec_options(text: str, config: type, what: str, example: str, skip: tuple[str, ...] = ()) -> tuple[str, dict[str, Any]]:
    """As parse_spec, but (HEAD, only the options the spec gives), for callers with defaults of their own."""
    head, *items = [p.strip() for p in text.split(",")]
    if not head or "=" in head:
        raise VlmteachError(f"{what} needs {example} first; got {text!r}")
    known = {f.name: f for f in fields(config) if f.name not in skip}
    options: dict[str, Any] = {}
    for item in items:
        key, eq, value = (s.strip() for s in item.partition("="))
        if not eq:
            raise VlmteachError(f"{what} option {item!r} must be key=value")
        if key not in known:
            raise VlmteachError(f"unknown {what} option {key!r}; valid: {', '.join(known)}")
        options[key] = parse_value(value, str(known[key].type), f"{what} option {key}")
    return head, options
