"""The per-instance LoRA lifecycle through peft: add a fresh adapter, re-initialise it, remove it.

The base model stays frozen throughout; only the adapter's lora_A / lora_B weights train."""

from __future__ import annotations

from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.lora import LoraLayer
from torch import nn

ADAPTER = "tto"


def add_lora(model: nn.Module, targets: list[str], rank: int = 16, alpha: float | None = None,
             dropout: float = 0.0) -> nn.Module:
    """Freeze `model` and inject a fresh LoRA adapter into the Linear layers named by `targets`
    (peft module-name suffixes); returns the same module, modified in place."""
    if rank < 1:
        raise ValueError(f"LoRA rank must be >= 1, got {rank}")
    if any(isinstance(m, LoraLayer) for m in model.modules()):
        raise RuntimeError("model already has a LoRA adapter; call drop_lora or reset_lora")
    for p in model.parameters():
        p.requires_grad_(False)
    config = LoraConfig(r=rank, lora_alpha=alpha if alpha is not None else rank,
                        lora_dropout=dropout, target_modules=targets, init_lora_weights=True)
    return inject_adapter_in_model(config, model, adapter_name=ADAPTER)


def lora_layers(model: nn.Module) -> list[LoraLayer]:
    return [m for m in model.modules() if isinstance(m, LoraLayer)]


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The trainable adapter weights (lora_A and lora_B of every adapted layer)."""
    return [p for n, p in model.named_parameters() if ".lora_" in n and ADAPTER in n]


def reset_lora(model: nn.Module) -> None:
    """Re-initialise the adapter as peft does on creation (A random, B zero: the model is unchanged)."""
    layers = lora_layers(model)
    if not layers:
        raise RuntimeError("model has no LoRA adapter to reset; call add_lora first")
    for layer in layers:
        layer.reset_lora_parameters(ADAPTER, True)


def drop_lora(model: nn.Module) -> None:
    """Remove the adapter: every adapted layer is replaced by its original base layer."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoraLayer):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.get_base_layer())
    if hasattr(model, "peft_config"):  # left by inject_adapter_in_model; a stale one makes peft warn
        del model.peft_config
