import pytest
import torch
import torch.nn as nn

from vlmteach.nn import Block, add_lora, drop_lora, lora_parameters, reset_lora

TARGETS = r"blocks\.\d+\.(attn)\.(to_q|to_v)|blocks\.\d+\.ff_in"


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block(16, 2), Block(16, 2)])
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.head(x).sum()


def test_lora_trains_only_the_adapter_and_reset_and_drop_restore_the_model():
    torch.manual_seed(0)
    net, x = _Net(), torch.randn(2, 5, 16)
    before = net(x).item()
    add_lora(net, TARGETS, rank=4)
    params = lora_parameters(net)
    assert len(params) == 2 * 3 * 2  # A and B for 3 targets in 2 blocks
    assert net(x).item() == pytest.approx(before, abs=1e-6)  # B starts at zero
    opt = torch.optim.SGD(params, lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        net(x).backward()
        opt.step()
    assert all(p.grad is None for n, p in net.named_parameters() if "lora_" not in n)
    assert abs(net(x).item() - before) > 1e-4  # the adapter changed the output
    reset_lora(net)
    assert net(x).item() == pytest.approx(before, abs=1e-6)
    with pytest.raises(RuntimeError, match="already has"):
        add_lora(net, TARGETS)
    drop_lora(net)
    assert lora_parameters(net) == [] and net(x).item() == pytest.approx(before, abs=1e-6)
    assert isinstance(net.blocks[0].attn.to_q, nn.Linear)
