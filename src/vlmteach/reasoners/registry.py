"""Reasoner backends by name: one module plus one line here each. Entries are "module:factory" strings,
imported on first use, so listing the names needs no torch; each factory is `from_spec(path)`, building
the backend from the text after "NAME:" on the command line (or None)."""

from __future__ import annotations

from vlmteach.registry import Registry

BACKENDS = Registry("reasoner", {
    "tiny": "vlmteach.reasoners.tiny:from_spec",
    "wan": "vlmteach.reasoners.wan:from_spec",
    "wan_tiny": "vlmteach.reasoners.wan_tiny:from_spec",
})
# Backends with real weights: (label, builder) pairs of tiny random-config models that
# `vlmteach doctor --backend NAME --tiny` runs through the optimization step with the built-in teacher.
TINY_CHECKS = Registry("reasoner backend with tiny checks", {
    "wan": "vlmteach.reasoners.wan_tiny:TINY_CHECKS",
})
# Backends whose LoRA `targets` are a closed set of names: NAME -> a `check_lora_targets(targets)` that
# raises a VlmteachError naming the valid ones, so `vlmteach bench` refuses a bad name before any job.
LORA_TARGET_CHECKS = Registry("reasoner backend with LoRA target names", {
    "tiny": "vlmteach.reasoners.tiny:check_lora_targets",
})
# Each backend's Reasoner class, whose class attributes `recommended_tto` and `recommended_rolling`
# say how teacher_tto's unset options resolve for it, so `vlmteach bench` can refuse a method config
# those defaults make invalid (init_k with a rolling loop) before any model loads or job runs.
CLASSES = Registry("reasoner backend class", {
    "tiny": "vlmteach.reasoners.tiny:TinyReasoner",
    "wan": "vlmteach.reasoners.wan:WanReasoner",
    "wan_tiny": "vlmteach.reasoners.wan:WanReasoner",
})
