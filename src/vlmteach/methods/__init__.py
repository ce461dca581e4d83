"""The method layer: ways to turn a first frame and an instruction into a video with one reasoner
and one teacher: vanilla, best_of_n / pass_at_n, prompt_rewrite, tpo and teacher_tto."""

from vlmteach.methods.base import Method, MethodConfig, MethodResult, Problem
from vlmteach.methods.cost import Cost, CostMeter
from vlmteach.methods.registry import METHODS, is_upper_bound, make_method, method_names, parse_sets

__all__ = ["METHODS", "Cost", "CostMeter", "Method", "MethodConfig", "MethodResult", "Problem",
           "is_upper_bound", "make_method", "method_names", "parse_sets"]
