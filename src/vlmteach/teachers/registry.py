"""Teacher backends by name: one module plus one line here each. Entries are "module:factory" strings,
imported on first use, so listing the names needs no torch; each factory is `from_spec(path)`, building
the backend from the text after "NAME:" on the command line (or None)."""

from __future__ import annotations

from vlmteach.registry import Registry

BACKENDS = Registry("teacher", {
    "tiny": "vlmteach.teachers.tiny:from_spec",
    "openai_chat": "vlmteach.teachers.openai_chat:from_spec",
    "qwen_vl": "vlmteach.teachers.qwen_vl:from_spec",
    "qwen_vl_tiny": "vlmteach.teachers.qwen_tiny:from_spec",
})
# Backends with real weights: (label, builder) pairs of tiny random-config models that
# `vlmteach doctor --backend NAME --tiny` runs through the optimization step with the built-in reasoner.
TINY_CHECKS = Registry("teacher backend with tiny checks", {
    "qwen_vl": "vlmteach.teachers.qwen_tiny:TINY_CHECKS",
})
