"""A TAEHV-format tiny video decoder (madebyollin/taehv; LightX2V's LightTAE uses the same layout):
the decoder half only, run in parallel over time and without in-place ops or a final clamp, so it is a
cheap differentiable surrogate for the Wan VAE decoder. Loads the `.safetensors` weight files
(`taew2_1` for Wan2.1 latents, `taew2_2` for Wan2.2 TI2V-5B latents); written from the published
architecture, not copied."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from vlmteach.errors import VlmteachError

WIDTHS = (256, 128, 64, 64)


def _conv(c_in: int, c_out: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias)


class SoftClamp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3) * 3


class MemoryBlock(nn.Module):
    """A residual block that also sees the previous frame's input (zeros before the first frame)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Sequential(_conv(2 * c_in, c_out), nn.ReLU(), _conv(c_out, c_out), nn.ReLU(), _conv(c_out, c_out))
        self.skip = nn.Conv2d(c_in, c_out, 1, bias=False) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        seq = x.unflatten(0, (-1, frames))  # (N, T, C, H, W)
        past = torch.cat([torch.zeros_like(seq[:, :1]), seq[:, :-1]], dim=1).flatten(0, 1)
        return F.relu(self.conv(torch.cat([x, past], 1)) + self.skip(x))


class TimeGrow(nn.Module):
    """Each frame becomes `stride` frames through a 1x1 convolution."""

    def __init__(self, channels: int, stride: int):
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(channels, channels * stride, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).reshape(-1, x.shape[1], *x.shape[-2:])


class TinyVideoDecoder(nn.Module):
    """Latents (T, C, h, w) as the diffusion model uses them -> frames (4T - 3, 3, H, W), about [0, 1]."""

    def __init__(self, latent_channels: int = 16, patch_size: int = 1, time_upscale: tuple[bool, ...] = (False, True, True)):
        super().__init__()
        self.patch_size = patch_size
        self.time_upscale = 2 ** sum(time_upscale)
        w = WIDTHS
        layers: list[nn.Module] = [SoftClamp(), _conv(latent_channels, w[0]), nn.ReLU()]
        for i in range(3):
            layers += [MemoryBlock(w[i], w[i]), MemoryBlock(w[i], w[i]), MemoryBlock(w[i], w[i]),
                       nn.Upsample(scale_factor=2), TimeGrow(w[i], 2 if time_upscale[i] else 1), _conv(w[i], w[i + 1], bias=False)]
        layers += [nn.ReLU(), _conv(w[3], 3 * patch_size**2)]
        self.decoder = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        frames = z.shape[0]
        x = z
        for layer in self.decoder:
            if isinstance(layer, MemoryBlock):
                x = layer(x, frames)
            else:
                x = layer(x)
                if isinstance(layer, TimeGrow):
                    frames *= layer.stride
        if self.patch_size > 1:
            x = F.pixel_shuffle(x, self.patch_size)
        return x[self.time_upscale - 1:]  # the first frames only warm the memory up, as the reference trims them


def load_taehv(path: str | Path) -> TinyVideoDecoder:
    """A TAEHV decoder from a `.safetensors` file (encoder weights, if any, are ignored); the latent
    width and patch size are read from the weights."""
    path = Path(path)
    if path.suffix != ".safetensors" or not path.is_file():
        raise VlmteachError(f"light decoder file {path} must be an existing TAEHV .safetensors file "
                            "(e.g. taew2_2.safetensors for Wan2.2 TI2V-5B, taew2_1.safetensors for Wan2.1)")
    state = {k: v for k, v in load_file(str(path)).items() if k.startswith("decoder.")}
    if "decoder.1.weight" not in state or "decoder.22.weight" not in state:
        raise VlmteachError(f"{path} does not hold TAEHV decoder weights (decoder.1.weight, decoder.22.weight)")
    latent = state["decoder.1.weight"].shape[1]
    patch = math.isqrt(state["decoder.22.weight"].shape[0] // 3)
    model = TinyVideoDecoder(latent, patch)
    own = model.state_dict()
    for key, value in state.items():  # files trained with a time upscale the decoder does not use keep the last frame's channels
        if key in own and value.shape[0] > own[key].shape[0] and value.ndim == 4 and value.shape[2:] == (1, 1):
            state[key] = value[-own[key].shape[0]:]
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise VlmteachError(f"{path} does not match the TAEHV decoder layout: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return model.eval()
