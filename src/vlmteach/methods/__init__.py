"""The method layer: ways to turn a first frame and an instruction into a video with one reasoner
and one teacher: vanilla, best_of_n / pass_at_n, prompt_rewrite, tpo, teacher_tto and oracle_tto.
Importing the package loads no torch; the classes load on first access."""

from vlmteach.methods.registry import (
    METHODS,
    build_method,
    is_upper_bound,
    make_method,
    method_names,
    parse_sets,
    register,
    split_label,
)
from vlmteach.registry import lazy_attributes

__getattr__ = lazy_attributes(__name__, {
    "Method": "vlmteach.methods.base:Method", "MethodConfig": "vlmteach.methods.base:MethodConfig",
    "MethodResult": "vlmteach.methods.base:MethodResult", "Problem": "vlmteach.methods.base:Problem",
    "Cost": "vlmteach.methods.cost:Cost", "CostMeter": "vlmteach.methods.cost:CostMeter",
})

__all__ = ["METHODS", "Cost", "CostMeter", "Method", "MethodConfig", "MethodResult", "Problem", "build_method",
           "is_upper_bound", "make_method", "method_names", "parse_sets", "register", "split_label"]
