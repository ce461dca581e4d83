"""Device and dtype names as specs write them ("auto", "cuda:1", "bf16"), resolved one way for every
backend: auto = CUDA when available, and bf16 there, fp32 on the CPU."""

from __future__ import annotations

import torch

from vlmteach.errors import VlmteachError

DTYPES = {"auto": None, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16,
          "fp32": torch.float32, "float32": torch.float32}


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; anything else as torch names it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise VlmteachError(f"unknown device {name!r}; valid: auto, cpu, cuda, cuda:N") from None


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """'auto' -> bf16 on cuda, fp32 on cpu."""
    if name not in DTYPES:
        raise VlmteachError(f"unknown dtype {name!r}; valid: {', '.join(DTYPES)}")
    chosen = DTYPES[name]
    if chosen is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return chosen


def dtype_name(dtype: torch.dtype) -> str:
    """The short spec name of a dtype (the inverse of resolve_dtype)."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}[dtype]
