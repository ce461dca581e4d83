"""The Reasoner's LoRA methods for models whose adapter lives on one torch module, through peft
(nn/lora.py): a reasoner names the module and its default targets; the lifecycle is shared."""

from __future__ import annotations

import torch
from torch import nn

from vlmteach.nn import lora as lora_lib


class PeftLoraMixin:
    """add_lora / lora_parameters / reset_lora / drop_lora on `lora_module()`."""

    def lora_module(self) -> nn.Module:
        raise NotImplementedError

    def lora_targets(self, targets: list[str] | str | None) -> list[str] | str:
        """The peft target_modules for a requested `targets` (None: the reasoner's default)."""
        raise NotImplementedError

    def add_lora(self, rank: int = 16, alpha: float | None = None, targets: list[str] | str | None = None) -> None:
        module = self.lora_module()
        lora_lib.add_lora(module, self.lora_targets(targets), rank, alpha)
        device = next(module.parameters()).device
        for p in self.lora_parameters():  # fp32 adapters even on a bf16 model: Adam's small updates survive
            p.data = p.data.to(device, torch.float32)

    def lora_parameters(self) -> list[nn.Parameter]:
        return lora_lib.lora_parameters(self.lora_module())

    def reset_lora(self) -> None:
        lora_lib.reset_lora(self.lora_module())

    def drop_lora(self) -> None:
        lora_lib.drop_lora(self.lora_module())
