"""The one typed-option parser behind `--set` and every model spec."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from vlmteach.errors import VlmteachError
from vlmteach.specs import parse_spec, parse_value


@dataclass
class Opts:
    steps: int = 4
    lr: float | None = None
    grad: bool = False
    name: str = "x"


def test_values_follow_the_annotation():
    assert parse_value("3", "int") == 3 and parse_value("3", "float") == 3.0
    assert parse_value("none", "float | None") is None and parse_value("0.5", "float | None") == 0.5
    assert parse_value("yes", "bool") is True and parse_value("off", "bool") is False
    assert parse_value("auto", "int | str") == "auto" and parse_value("7", "int | str") == 7
    # values typed in Python (make_method's options from code) read as their text would
    assert parse_value(4, "int | None") == 4 and parse_value(1e-3, "float | None") == 1e-3
    assert parse_value(True, "bool") is True and parse_value(None, "int | None") is None
    with pytest.raises(VlmteachError, match="cannot read 'maybe' as bool"):
        parse_value("maybe", "bool")


def test_spec_head_and_options():
    head, opts = parse_spec("/models/x, steps=2, lr=1e-4, grad=1, name=y", Opts, "demo", "a path")
    assert head == "/models/x" and opts == Opts(2, 1e-4, True, "y")
    assert parse_spec("/m", Opts, "demo", "a path") == ("/m", Opts())
    with pytest.raises(VlmteachError, match="unknown demo option 'step'; valid: steps, lr, grad, name"):
        parse_spec("/m,step=2", Opts, "demo", "a path")
    with pytest.raises(VlmteachError, match="demo needs a path first"):
        parse_spec("steps=2", Opts, "demo", "a path")
    with pytest.raises(VlmteachError, match="must be key=value"):
        parse_spec("/m,steps", Opts, "demo", "a path")
    with pytest.raises(VlmteachError, match="unknown demo option 'name'"):
        parse_spec("/m,name=z", Opts, "demo", "a path", skip=("name",))
