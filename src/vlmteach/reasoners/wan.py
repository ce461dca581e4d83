"""Wan image-to-video reasoners through diffusers: Wan2.1 I2V (mask + condition latent concatenated on
channels, CLIP image tokens) and Wan2.2 TI2V-5B (the first-frame latent sits in the sequence with
timestep 0), both as few-step flow-matching samplers with a differentiable one-step prediction.

Built from a local folder or an offline Hugging Face cache only (see docs/real-models.md)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vlmteach import specs
from vlmteach.errors import VlmteachError
from vlmteach.nn.device import resolve_device, resolve_dtype
from vlmteach.reasoners.base import Reasoner, grad_steps
from vlmteach.reasoners.peft_lora import PeftLoraMixin
from vlmteach.reasoners.sampling import check_sampler, flow_sample, shifted_sigmas
from vlmteach.reasoners.taehv import TinyVideoDecoder
from vlmteach.video import Video

KINDS = ("wan2.1-i2v", "wan2.2-ti2v")
# LoRA target sets (peft module-name suffixes inside each transformer block).
ATTENTION = [f"{attn}.{proj}" for attn in ("attn1", "attn2") for proj in ("to_q", "to_k", "to_v", "to_out.0")]
TARGETS = {"attn": ATTENTION, "attn+ffn": [*ATTENTION, "ffn.net.0.proj", "ffn.net.2"]}
# Per-kind defaults: (height, width, frames, fps). Wan2.2's 89 frames are the paper's setting.
DEFAULTS = {"wan2.1-i2v": (480, 832, 81, 16), "wan2.2-ti2v": (704, 1280, 89, 24)}
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class WanOptions:
    """Run-time options of a Wan reasoner; every field can be given in a spec `wan:PATH,key=value,...`."""

    height: int | None = None  # None: the kind's default (DEFAULTS)
    width: int | None = None
    frames: int | None = None  # 4k+1
    steps: int = 4  # sampler steps of the step-distilled model
    shift: float = 5.0  # flow-matching timestep shift of the sampler
    sampler: str = "euler"  # euler (ODE steps: LightX2V / Lightning-style LoRAs) | dmd (x0, then fresh noise: DMD2 models)
    text_len: int = 512  # prompt tokens, as the Wan pipelines pad to
    dtype: str = "auto"  # transformer and text encoder: auto (bf16 on cuda, fp32 on cpu) | bf16 | fp16 | fp32
    vae_dtype: str = "auto"  # VAE and CLIP image encoder: auto = fp32, as the reference pipeline | same (= dtype) | bf16 | fp16
    device: str = "auto"  # auto (cuda when available) | cpu | cuda | cuda:N
    lora: str | None = None  # a step-distillation LoRA file, fused into the base weights at load
    lora_scale: float = 1.0
    light_decoder: str | None = None  # decode_light's decoder: a TAEHV .safetensors file or an AutoencoderKLWan folder
    light_downsample: int = 2  # without a light decoder: the full VAE on a latent pooled by this factor
    checkpointing: bool = False  # gradient checkpointing through the transformer blocks
    vae_tiling: bool = False  # decode the final video in spatial tiles (less memory at 720p, a little slower)
    targets: str = "attn"  # LoRA targets: attn | attn+ffn | comma-free list joined by '+' of module suffixes
    offload_text: bool = True  # move the text and image encoders back to the CPU after encoding


def part_dtypes(options: WanOptions, device: torch.device) -> tuple[torch.dtype, torch.dtype]:
    """(transformer and text encoder dtype, VAE and image encoder dtype) for the options on a device."""
    dtype = resolve_dtype(options.dtype, device)
    if options.vae_dtype == "same":
        return dtype, dtype
    if options.vae_dtype == "auto":  # the reference pipeline's choice, whatever the transformer runs in
        return dtype, torch.float32
    try:
        return dtype, resolve_dtype(options.vae_dtype, device)
    except VlmteachError:
        raise VlmteachError(f"unknown vae_dtype {options.vae_dtype!r}; valid: fp32 (auto), same, bf16, fp16") from None


def parse_spec(spec: str) -> tuple[str, WanOptions]:
    """"PATH[,key=value,...]" -> (path, options)."""
    return specs.parse_spec(spec, WanOptions, "wan", "a model folder or cached hub id (wan:PATH[,key=value,...])")


def from_spec(path: str | Path | None) -> WanReasoner:
    """The "wan" backend: a diffusers Wan model from `path` = "FOLDER_OR_CACHED_ID[,key=value,...]"."""
    if not path:
        raise VlmteachError("wan needs a model: wan:PATH[,key=value,...] (see docs/real-models.md)")
    folder, options = parse_spec(str(path))
    return WanReasoner.from_pretrained(folder, options)


@dataclass
class WanCondition:
    text: torch.Tensor  # (1, L, D) prompt embeddings
    image: torch.Tensor | None  # (1, N, D) CLIP image tokens (Wan2.1 I2V) or None
    first: torch.Tensor  # normalised condition latent: (C+4, F, h, w) mask+video latent, or (C, 1, h, w)


@dataclass
class WanParts:
    """The diffusers / transformers modules of one Wan model (text and image encoders are optional
    only for tests that pass embeddings)."""

    transformer: nn.Module
    vae: nn.Module
    text_encoder: nn.Module | None = None
    tokenizer: Any = None
    image_encoder: nn.Module | None = None
    light_vae: nn.Module | None = None
    pipeline: dict[str, Any] = field(default_factory=dict)  # the folder's model_index.json (expand_timesteps, ...)


class WanModules(nn.Module):
    """All weights of a Wan reasoner under one module, so callers can count and inspect them."""

    def __init__(self, parts: WanParts):
        super().__init__()
        self.transformer = parts.transformer
        self.vae = parts.vae
        self.text_encoder = parts.text_encoder
        self.image_encoder = parts.image_encoder
        self.light_vae = parts.light_vae


def load_light_decoder(path: str, z_dim: int, dtype: torch.dtype) -> nn.Module:
    """A TAEHV-format `.safetensors` file (e.g. taew2_2 / LightX2V LightTAE), or a diffusers-format
    AutoencoderKLWan folder (e.g. a pruned LightVAE converted to diffusers) with the same latent space."""
    from diffusers import AutoencoderKLWan

    from vlmteach.reasoners.taehv import load_taehv

    if str(path).endswith(".safetensors"):
        dec = load_taehv(path).to(dtype)
        width = dec.decoder[1].in_channels
    else:
        try:
            dec = AutoencoderKLWan.from_pretrained(path, local_files_only=True, torch_dtype=dtype)
        except OSError as exc:
            raise VlmteachError(f"cannot load the light decoder {path!r}: {exc}. Give a TAEHV .safetensors file or a "
                                "diffusers-format AutoencoderKLWan folder with the same latent space") from None
        width = dec.config.z_dim
    if width != z_dim:
        raise VlmteachError(f"light decoder {path} takes {width}-channel latents, the VAE makes {z_dim}")
    return dec


SUPPORTED = "supported: Wan2.1 I2V (noise + mask + condition channels, CLIP image input) and Wan2.2 TI2V-5B"


def detect_kind(transformer: Mapping[str, Any], vae: Mapping[str, Any], pipeline: Mapping[str, Any] | None = None,
                second_expert: bool = False) -> str:
    """The kind of a Wan model from its configs (transformer, vae, and the folder's model_index.json), or
    a VlmteachError naming what was found. Wan2.1 I2V takes noise + 4 mask + condition channels and CLIP
    image tokens; Wan2.2 TI2V takes the latent alone and needs the Wan2.2 VAE (48 channels, residual) or
    a pipeline that says `expand_timesteps`. Text-to-video and two-expert (A14B) models are refused: the
    first would get a first-frame conditioning it never learned, the second would run one expert alone."""
    pipeline = pipeline or {}
    experts = pipeline.get("transformer_2")
    found = [what for what, present in (("a transformer_2/ folder", second_expert),
                                        ("a transformer_2 entry in model_index.json", bool(experts and any(experts))),
                                        (f"boundary_ratio {pipeline.get('boundary_ratio')} in model_index.json",
                                         pipeline.get("boundary_ratio") is not None)) if present]
    if found:
        raise VlmteachError(f"a two-expert Wan2.2 A14B model ({', '.join(found)}) is not supported; {SUPPORTED}")
    c_in, z = transformer["in_channels"], vae["z_dim"]
    if c_in == 2 * z + 4:
        if transformer.get("image_dim") is None:
            raise VlmteachError(f"a {c_in}-channel transformer without CLIP image input (image_dim null: a Wan2.2 "
                                f"I2V-A14B expert) is not supported; {SUPPORTED}")
        return "wan2.1-i2v"
    if c_in == z:
        if vae.get("is_residual") or z == 48 or pipeline.get("expand_timesteps"):
            return "wan2.2-ti2v"
        raise VlmteachError(f"a text-to-video Wan model (in_channels {c_in} = the {z}-channel Wan2.1 VAE's latent, no "
                            f"image input) is not supported; {SUPPORTED}")
    raise VlmteachError(f"transformer in_channels {c_in} fits neither Wan2.1 I2V ({2 * z + 4}) nor Wan2.2 TI2V ({z}) "
                        f"for a VAE with z_dim {z}; {SUPPORTED}")


def pipeline_facts(path: str | Path) -> tuple[dict[str, Any], bool]:
    """(model_index.json, whether a transformer_2/ is present) of a local folder or a cached hub id;
    ({}, False) where neither can be read offline."""
    root = Path(path)
    if root.is_dir():
        index = root / "model_index.json"
        second = (root / "transformer_2").is_dir()
    else:
        from huggingface_hub import try_to_load_from_cache

        try:
            found = try_to_load_from_cache(str(path), "model_index.json")
            second = isinstance(try_to_load_from_cache(str(path), "transformer_2/config.json"), str)
        except ValueError:  # not a valid hub id either: nothing more to learn offline
            return {}, False
        index = Path(found) if isinstance(found, str) else root / "model_index.json"
    try:
        config = json.loads(index.read_text()) if index.is_file() else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise VlmteachError(f"cannot read {index}: {exc}") from None
    return (config if isinstance(config, dict) else {}), second


class WanReasoner(PeftLoraMixin, Reasoner):
    """A Wan video model behind the Reasoner interface (one sample = `steps` transformer calls)."""

    name = "wan"
    recommended_tto = {"lr": 5e-5, "max_steps": 40}  # the paper's (a step-distilled 5B model)

    def __init__(self, parts: WanParts, options: WanOptions | None = None):
        super().__init__()
        self.opt = options or WanOptions()
        self.kind = detect_kind(parts.transformer.config, parts.vae.config, parts.pipeline)
        check_sampler(self.opt.sampler)
        self.tokenizer = parts.tokenizer
        self.net = WanModules(parts)
        self.device = resolve_device(self.opt.device)
        self.dtype, self.vae_dtype = part_dtypes(self.opt, self.device)
        h, w, f, self.fps = DEFAULTS[self.kind]
        self.height, self.width, self.frames = self.opt.height or h, self.opt.width or w, self.opt.frames or f
        self.default_steps = self.opt.steps
        vae_cfg = self.net.vae.config
        self.t_scale, self.s_scale = int(vae_cfg.scale_factor_temporal), int(vae_cfg.scale_factor_spatial)
        self._validate()
        z = vae_cfg.z_dim
        self.latent_mean = torch.tensor(vae_cfg.latents_mean, dtype=torch.float32).view(z, 1, 1, 1)
        self.latent_std = torch.tensor(vae_cfg.latents_std, dtype=torch.float32).view(z, 1, 1, 1)
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.net.eval()
        for module, dtype in ((self.net.transformer, self.dtype), (self.net.vae, self.vae_dtype),
                              (self.net.light_vae, self.dtype)):
            if module is not None:
                if next(module.parameters()).dtype != dtype:  # from_pretrained loads in the right dtype already
                    module.to(dtype=dtype)
                module.to(self.device)
        for module in (self.net.text_encoder, self.net.image_encoder):  # moved to the device when they encode
            dtype = self.dtype if module is self.net.text_encoder else self.vae_dtype
            if module is not None and next(module.parameters()).dtype != dtype:
                module.to(dtype=dtype)
        if self.opt.checkpointing:
            self.net.transformer.enable_gradient_checkpointing()
        if self.opt.vae_tiling:
            self.net.vae.enable_tiling()

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | Path, options: WanOptions | None = None) -> WanReasoner:
        """Load a diffusers-format Wan folder (transformer/, vae/, text_encoder/, tokenizer/ and, for
        Wan2.1 I2V, image_encoder/) from disk or the offline cache; never downloads."""
        from diffusers import AutoencoderKLWan, WanTransformer3DModel
        from transformers import AutoTokenizer, CLIPVisionModel, UMT5EncoderModel

        opt = options or WanOptions()
        root = Path(path)
        dtype, vae_dtype = part_dtypes(opt, resolve_device(opt.device))
        check_sampler(opt.sampler)

        def present(sub: str, required: bool = True) -> bool:
            if root.is_dir() and not (root / sub).is_dir():
                if required:
                    raise VlmteachError(f"Wan folder {root} has no {sub}/; expected a diffusers-format model folder "
                                        "(transformer/, vae/, text_encoder/, tokenizer/, image_encoder/ for Wan2.1 I2V)")
                return False
            return True

        def offline_error(sub: str, exc: Exception) -> VlmteachError:
            if not root.exists():
                return VlmteachError(f"--reasoner wan:{path}: no such folder, and no model of that name in the Hugging "
                                     "Face cache (nothing is downloaded); pass a diffusers-format Wan folder")
            reason = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
            return VlmteachError(f"cannot load {sub} of {path!r} offline: {reason}. Pass a local folder, or a hub id "
                                 "already in the Hugging Face cache")

        def config(loader, sub: str) -> dict[str, Any]:
            present(sub)
            try:
                with warnings.catch_warnings():  # hub deprecation chatter about an offline lookup: not the user's concern
                    warnings.simplefilter("ignore")
                    return loader.load_config(str(path), subfolder=sub, local_files_only=True)
            except OSError as exc:
                raise offline_error(sub, exc) from None

        def part(loader, sub: str, required: bool = True, part_dtype: torch.dtype = dtype):
            # diffusers takes torch_dtype, transformers (5.x) dtype; tokenizers neither
            kw: dict[str, Any] = {"local_files_only": True}
            if loader.__module__.startswith("diffusers"):
                kw["torch_dtype"] = part_dtype
            elif hasattr(loader, "config_class"):
                kw["dtype"] = part_dtype
            if not present(sub, required):
                return None
            try:
                return loader.from_pretrained(str(path), subfolder=sub, **kw)
            except OSError as exc:
                if not required:
                    return None
                raise offline_error(sub, exc) from None

        # the kind is decided from the configs alone, so an unsupported model is refused before any weights load
        t_cfg, v_cfg = config(WanTransformer3DModel, "transformer"), config(AutoencoderKLWan, "vae")
        pipeline, second_expert = pipeline_facts(path)
        detect_kind(t_cfg, v_cfg, pipeline, second_expert)
        transformer = part(WanTransformer3DModel, "transformer")
        vae = part(AutoencoderKLWan, "vae", part_dtype=vae_dtype)
        parts = WanParts(transformer, vae, part(UMT5EncoderModel, "text_encoder"), part(AutoTokenizer, "tokenizer"),
                         part(CLIPVisionModel, "image_encoder", required=transformer.config.image_dim is not None,
                              part_dtype=vae_dtype), pipeline=pipeline)
        if opt.light_decoder:
            parts.light_vae = load_light_decoder(opt.light_decoder, vae.config.z_dim, dtype)
        model = cls(parts, opt)
        if opt.lora:
            model.fuse_distill_lora(opt.lora, opt.lora_scale)
        return model

    def fuse_distill_lora(self, path: str | Path, scale: float = 1.0) -> None:
        """Merge a step-distillation LoRA (diffusers, peft or original Wan key format) into the
        transformer's base weights, so the test-time LoRA sits on top of the distilled model."""
        from diffusers import WanPipeline

        if not Path(path).is_file():
            raise VlmteachError(f"step-distillation LoRA file {path} does not exist")
        state = WanPipeline.lora_state_dict(str(path))
        state = state[0] if isinstance(state, tuple) else state
        state = {k.removeprefix("transformer."): v for k, v in state.items()}
        tr = self.net.transformer
        tr.load_lora_adapter(state, adapter_name="distill", prefix=None)
        tr.fuse_lora(lora_scale=scale, adapter_names=["distill"])
        tr.unload_lora()  # drops the adapter layers; the fused weights stay
        for p in tr.parameters():
            p.requires_grad_(False)

    def _validate(self) -> None:
        f, h, w = self.frames, self.height, self.width
        if f < 1 or (f - 1) % self.t_scale:
            lo = (f - 1) // self.t_scale * self.t_scale + 1
            raise VlmteachError(f"frames must be {self.t_scale}k+1 for the Wan VAE; got {f} (try {lo} or {lo + self.t_scale})")
        mult = self.s_scale * self.net.transformer.config.patch_size[1]
        if h % mult or w % mult or h < mult or w < mult:
            raise VlmteachError(f"height and width must be positive multiples of {mult} (VAE stride {self.s_scale} x "
                                f"patch {self.net.transformer.config.patch_size[1]}); got {h}x{w}")
        if self.opt.light_downsample < 1:
            raise VlmteachError(f"light_downsample must be >= 1, got {self.opt.light_downsample}")

    @property
    def latent_shape(self) -> tuple[int, int, int, int]:
        return (self.net.vae.config.z_dim, (self.frames - 1) // self.t_scale + 1,
                self.height // self.s_scale, self.width // self.s_scale)

    # ---- latents ------------------------------------------------------------------------------
    def _norm(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.latent_mean.to(z)) / self.latent_std.to(z)

    def _denorm(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.latent_std.to(z) + self.latent_mean.to(z)

    def _encode(self, video: torch.Tensor) -> torch.Tensor:
        """(3, F, H, W) in [0, 1] -> normalised latent (C, F', h, w), the mode of the posterior."""
        x = (video * 2 - 1)[None].to(self.device, self.vae_dtype)
        return self._norm(self.net.vae.encode(x).latent_dist.mode()[0].float())

    def _vae_decode(self, vae: nn.Module, z: torch.Tensor) -> torch.Tensor:
        if isinstance(vae, TinyVideoDecoder):  # TAEHV works on the normalised latents directly, in [0, 1]
            return vae(z.permute(1, 0, 2, 3).to(next(vae.parameters()).dtype)).float()
        x = vae.decode(self._denorm(z)[None].to(vae.dtype)).sample[0]  # (3, F, H, W) in [-1, 1]
        return ((x.float() + 1) / 2).permute(1, 0, 2, 3)

    def decode(self, z: torch.Tensor) -> Video:
        with torch.no_grad():
            return Video(self._vae_decode(self.net.vae, z).clamp(0, 1).cpu(), fps=self.fps)

    def decode_light(self, z: torch.Tensor) -> torch.Tensor:
        """Differentiable frames (F, 3, H', W'): the light decoder when one is loaded; otherwise the full
        VAE on the latent average-pooled by `light_downsample` (H' = H / factor; documented fallback)."""
        if self.net.light_vae is not None:
            return self._vae_decode(self.net.light_vae, z)
        k = self.opt.light_downsample
        if k > 1:
            z = F.avg_pool2d(z, k)
        return self._vae_decode(self.net.vae, z)

    # ---- conditioning -------------------------------------------------------------------------
    def _resize(self, image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        x = image.float()[None]
        if x.shape[-2:] != size:
            x = F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
        return x[0]

    def encode_prompt(self, prompt: str) -> torch.Tensor:
        """UMT5 embeddings (1, text_len, D), each prompt's tokens then zeros, as the Wan pipelines do."""
        enc = self.net.text_encoder
        if enc is None or self.tokenizer is None:
            raise VlmteachError("this Wan reasoner has no text encoder/tokenizer; load it with from_pretrained")
        tok = self.tokenizer([prompt], padding="max_length", max_length=self.opt.text_len, truncation=True,
                             add_special_tokens=True, return_attention_mask=True, return_tensors="pt")
        enc.to(self.device)
        mask = tok.attention_mask.to(self.device)
        hidden = enc(tok.input_ids.to(self.device), mask).last_hidden_state
        n = int(mask.sum())
        out = torch.zeros(1, self.opt.text_len, hidden.shape[-1], device=self.device, dtype=self.dtype)
        out[0, :n] = hidden[0, :n].to(self.dtype)
        if self.opt.offload_text and self.device.type != "cpu":
            enc.to("cpu")
        return out

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """CLIP vision tokens (penultimate layer) of the first frame, as Wan2.1 I2V conditions on."""
        enc = self.net.image_encoder
        size = enc.config.image_size
        h, w = image.shape[-2:]  # as CLIPImageProcessor: shortest side to `size`, then a centre crop
        rh, rw = (size, max(size, round(w * size / h))) if h <= w else (max(size, round(h * size / w)), size)
        x = self._resize(image, (rh, rw))
        top, left = (rh - size) // 2, (rw - size) // 2
        x = x[:, top: top + size, left: left + size]
        x = (x - torch.tensor(CLIP_MEAN)[:, None, None]) / torch.tensor(CLIP_STD)[:, None, None]
        enc.to(self.device)
        out = enc(x[None].to(self.device, enc.dtype), output_hidden_states=True).hidden_states[-2].to(self.dtype)
        if self.opt.offload_text and self.device.type != "cpu":
            enc.to("cpu")
        return out

    def condition(self, image: torch.Tensor, prompt: str, text: torch.Tensor | None = None) -> WanCondition:
        """For a first frame (3, H, W) in [0, 1] (resized to the model's resolution) and a prompt;
        `text` may pass precomputed prompt embeddings instead of running the text encoder."""
        if image.ndim != 3 or image.shape[0] != 3:
            raise VlmteachError(f"first frame must be (3, H, W) in [0, 1]; got {tuple(image.shape)}")
        with torch.no_grad():
            text = self.encode_prompt(prompt) if text is None else text.to(self.device, self.dtype)
            frame = self._resize(image, (self.height, self.width))
            if self.kind == "wan2.2-ti2v":
                return WanCondition(text, None, self._encode(frame[:, None]))
            video = torch.zeros(3, self.frames, self.height, self.width)
            video[:, 0] = frame
            video[:, 1:] = 0.5  # the pipeline's zero frames in [-1, 1]
            latent = self._encode(video)
            img = self.encode_image(image) if self.net.transformer.config.image_dim is not None else None
        c, f, h, w = self.latent_shape
        mask = torch.zeros(self.t_scale, f, h, w, device=latent.device)
        mask[:, 0] = 1  # first frame known: the pipeline's mask, 4 channels per latent frame
        return WanCondition(text, img, torch.cat([mask, latent]))

    def noise(self, seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(int(seed))
        return torch.randn(self.latent_shape, generator=g).to(self.device)

    # ---- the flow -----------------------------------------------------------------------------
    def _with_first(self, z: torch.Tensor, cond: WanCondition) -> torch.Tensor:
        """Wan2.2 TI2V keeps the first latent frame equal to the condition."""
        if self.kind != "wan2.2-ti2v":
            return z
        return torch.cat([cond.first.to(z), z[:, 1:]], dim=1)

    def velocity(self, z: torch.Tensor, t: float, cond: WanCondition) -> torch.Tensor:
        """u(z_t, t, c) for t in [0, 1] (the transformer's timestep is 1000 t)."""
        self.cost.forwards += 1
        tr = self.net.transformer
        if self.kind == "wan2.2-ti2v":
            x = self._with_first(z, cond)
            _, f, h, w = z.shape
            p = tr.config.patch_size
            ts = torch.full((f // p[0], h // p[1], w // p[2]), 1000.0 * t, device=z.device)
            ts[0] = 0.0  # the known first frame is clean
            timestep = ts.flatten()[None]
        else:
            x = torch.cat([z, cond.first.to(z)])
            timestep = torch.tensor([1000.0 * t], device=z.device)
        u = tr(hidden_states=x[None].to(self.dtype), timestep=timestep, encoder_hidden_states=cond.text,
               encoder_hidden_states_image=cond.image, return_dict=False)[0]
        return u[0].float()

    def sigmas(self, steps: int) -> list[float]:
        """The sampler's times from 1 to 0: 1 - i / steps shifted by `shift` (see sampling.shifted_sigmas)."""
        return shifted_sigmas(steps, self.opt.shift)

    def one_step(self, z1: torch.Tensor, cond: WanCondition) -> torch.Tensor:
        return self._with_first(z1 - self.velocity(z1, 1.0, cond), cond)

    def sample(self, z1: torch.Tensor, cond: WanCondition, steps: int | None = None,
               grad: bool | str = False) -> torch.Tensor:
        steps = steps or self.default_steps
        if steps < 1:
            raise VlmteachError(f"steps must be >= 1, got {steps}")
        z = flow_sample(lambda z, t: self.velocity(z, t, cond), z1, self.sigmas(steps), grad_steps(grad, steps),
                        self.opt.sampler)
        return self._with_first(z, cond)

    # ---- LoRA ---------------------------------------------------------------------------------
    def lora_module(self) -> nn.Module:
        return self.net.transformer

    def lora_targets(self, targets: list[str] | str | None) -> list[str] | str:
        """A list of module suffixes as is; a name (TARGETS) or suffixes joined by '+' (None: the
        reasoner's `targets` option) -> the list."""
        if isinstance(targets, list):
            return targets
        name = targets or self.opt.targets
        return TARGETS[name] if name in TARGETS else name.split("+")
