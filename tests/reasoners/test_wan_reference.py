"""The Wan reasoner against references, on tiny random models built here: the few-step sample against
diffusers' own WanImageToVideoPipeline denoising loop, the dmd sampler against a re-noising loop written
out here, step-distillation LoRAs in the key formats found in the wild, the kinds we refuse, and the
fp32 VAE / image encoder of the reference pipeline."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from vlmteach import reasoners
from vlmteach.cli.main import main
from vlmteach.errors import VlmteachError
from vlmteach.reasoners.sampling import flow_sample, shifted_sigmas, step_noise
from vlmteach.reasoners.wan import WanOptions, WanReasoner, detect_kind, part_dtypes
from vlmteach.reasoners.wan_tiny import TINY_SIZE, build_parts, save_folder, tiny_wan

pytest.importorskip("diffusers")

PROMPT = "move the red ball to the green star"


def image(model: WanReasoner) -> torch.Tensor:
    return torch.rand(3, model.height, model.width, generator=torch.Generator().manual_seed(0))


def test_sigmas_are_the_shifted_linear_grid():
    # by hand: t = 1, 0.75, 0.5, 0.25, 0 and s t / (1 + (s - 1) t) at s = 5
    expected = [1.0, 3.75 / 4.0, 2.5 / 3.0, 1.25 / 2.0, 0.0]
    assert shifted_sigmas(4, 5.0) == pytest.approx(expected, abs=1e-6)
    assert shifted_sigmas(2, 1.0) == pytest.approx([1.0, 0.5, 0.0])
    with pytest.raises(VlmteachError, match="steps must be >= 1"):
        shifted_sigmas(0)


@pytest.mark.parametrize("steps", [1, 4])
def test_sample_equals_the_diffusers_pipeline_loop(model, steps):
    """diffusers' WanImageToVideoPipeline with its FlowMatchEulerDiscreteScheduler (shift 5, our unshifted
    times), no guidance, the same noise and embeddings, returns the same latent as our sampler."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline

    ti2v = model.kind == "wan2.2-ti2v"
    scheduler = FlowMatchEulerDiscreteScheduler(shift=model.opt.shift)
    set_timesteps = scheduler.set_timesteps
    scheduler.set_timesteps = lambda n, device=None: set_timesteps(sigmas=torch.linspace(1, 0, n + 1)[:-1].tolist(),
                                                                   device=device)
    pipe = WanImageToVideoPipeline(tokenizer=model.tokenizer, text_encoder=model.net.text_encoder, vae=model.net.vae,
                                   scheduler=scheduler, transformer=model.net.transformer,
                                   image_encoder=model.net.image_encoder, image_processor=None, expand_timesteps=ti2v)
    pipe.set_progress_bar_config(disable=True)
    pipe.check_inputs = lambda *args, **kwargs: None  # it refuses image + image_embeds, which the loop needs both of
    frame = image(model)
    cond = model.condition(frame, PROMPT)
    z1 = model.noise(1_000_000)
    with torch.no_grad():
        ours = model.sample(z1, cond, steps=steps)
        theirs = pipe(image=frame[None], prompt_embeds=cond.text, image_embeds=cond.image, height=model.height,
                      width=model.width, num_frames=model.frames, num_inference_steps=steps, guidance_scale=1.0,
                      latents=z1[None], output_type="latent").frames[0]
    assert scheduler.timesteps.tolist() == pytest.approx([1000 * t for t in model.sigmas(steps)[:-1]], rel=1e-5)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)


def _renoising_loop(model: WanReasoner, z1: torch.Tensor, cond, steps: int) -> torch.Tensor:
    """The DMD sampler written out: predict x0 = z - t u, then z = (1 - t') x0 + t' eps with fresh eps."""
    ts = [1.0 - i / steps for i in range(steps + 1)]
    ts = [5.0 * t / (1 + 4.0 * t) for t in ts]
    z = z1
    for i in range(steps):
        x0 = z - ts[i] * model.velocity(z, ts[i], cond)
        z = x0 if i == steps - 1 else (1 - ts[i + 1]) * x0 + ts[i + 1] * step_noise(z1, i)
    return model._with_first(z, cond)


def test_dmd_sampler_equals_a_renoising_loop():
    model = tiny_wan("wan2.2-ti2v", sampler="dmd")
    euler = tiny_wan("wan2.2-ti2v")
    cond = model.condition(image(model), PROMPT)
    z1 = model.noise(1_000_001)
    with torch.no_grad():
        a = model.sample(z1, cond, steps=3)
        torch.testing.assert_close(a, _renoising_loop(model, z1, cond, 3))
        torch.testing.assert_close(model.sample(z1, cond, steps=3), a)  # the same noise: reproducible
        assert not torch.allclose(a, euler.sample(z1, cond, steps=3))
        torch.testing.assert_close(model.sample(z1, cond, steps=1), euler.sample(z1, cond, steps=1))
        assert not torch.allclose(model.sample(model.noise(1_000_002), cond, steps=3), a)
    with pytest.raises(VlmteachError, match="valid: euler, dmd"):
        tiny_wan("wan2.2-ti2v", sampler="ddim")


def test_step_noise_is_fresh_per_step_and_a_function_of_the_start():
    z1 = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    a, b = step_noise(z1, 0), step_noise(z1, 1)
    assert torch.equal(a, step_noise(z1.clone(), 0))
    assert not torch.allclose(a, b) and not torch.allclose(a, z1)
    assert not torch.allclose(a, step_noise(z1 + 1e-3, 0))
    assert abs(float(a.mean())) < 0.1 and abs(float(a.std()) - 1) < 0.1


@pytest.mark.parametrize("sampler", ["euler", "dmd"])
def test_only_the_last_steps_build_a_graph(sampler):
    """grad_last=k: the velocity runs with gradients enabled at exactly the last k steps."""
    enabled: list[bool] = []

    def velocity(z, t):
        enabled.append(torch.is_grad_enabled())
        return z * w

    w = torch.ones(1, requires_grad=True)
    out = flow_sample(velocity, torch.randn(2, 3), shifted_sigmas(4), grad_last=2, sampler=sampler)
    assert enabled == [False, False, True, True] and out.requires_grad


# ---- step-distillation LoRAs as they are published ------------------------------------------


def _fused(tmp_path, state: dict[str, torch.Tensor], scale: float = 1.0):
    parts = build_parts("wan2.2-ti2v", seed=4)
    base = {n: p.detach().clone() for n, p in parts.transformer.named_parameters()}
    folder = save_folder(parts, str(tmp_path / "wan"))
    save_file(state, str(tmp_path / "distill.safetensors"))
    model = WanReasoner.from_pretrained(folder, WanOptions(height=64, width=64, frames=5, text_len=16,
                                                           lora=str(tmp_path / "distill.safetensors"), lora_scale=scale))
    return base, dict(model.net.transformer.named_parameters())


def _pair(g: torch.Generator, rank: int, out_f: int, in_f: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(rank, in_f, generator=g), torch.randn(out_f, rank, generator=g)


@pytest.mark.parametrize("style", ["comfyui", "lightx2v"])
def test_original_wan_key_loras_fuse_with_alpha_over_rank(tmp_path, style):
    """ComfyUI-style files (diffusion_model.*.lora_down / lora_up + alpha) and LightX2V files
    (diffusion_model.*.lora_A / lora_B, with or without alpha) fuse to W + scale * alpha / rank * B A,
    on the layers their original Wan names map to."""
    down, up = ("lora_down", "lora_up") if style == "comfyui" else ("lora_A", "lora_B")
    g = torch.Generator().manual_seed(1)
    rank, width, ffn = 4, 24, 48
    layers = {"blocks.0.self_attn.q": ("blocks.0.attn1.to_q", width, width, 8.0),
              "blocks.1.cross_attn.k": ("blocks.1.attn2.to_k", width, width, 2.0),
              "blocks.0.ffn.0": ("blocks.0.ffn.net.0.proj", ffn, width, None)}
    state, expected = {}, {}
    for original, (ours, out_f, in_f, alpha) in layers.items():
        a, b = _pair(g, rank, out_f, in_f)
        state[f"diffusion_model.{original}.{down}.weight"] = a
        state[f"diffusion_model.{original}.{up}.weight"] = b
        factor = 1.0
        if alpha is not None and not (style == "lightx2v" and "cross" in original):
            state[f"diffusion_model.{original}.alpha"] = torch.tensor(alpha)
            factor = alpha / rank
        expected[f"{ours}.weight"] = 0.5 * factor * b @ a
    base, fused = _fused(tmp_path, state, scale=0.5)
    for name, delta in expected.items():
        torch.testing.assert_close(fused[name] - base[name], delta, atol=1e-4, rtol=1e-4)
    untouched = [n for n in base if n not in expected]
    assert all(torch.equal(fused[n], base[n]) for n in untouched)


def test_diffusers_key_lora_fuses(tmp_path):
    g = torch.Generator().manual_seed(2)
    a, b = _pair(g, 4, 24, 24)
    base, fused = _fused(tmp_path, {"transformer.blocks.1.attn1.to_v.lora_A.weight": a,
                                    "transformer.blocks.1.attn1.to_v.lora_B.weight": b})
    torch.testing.assert_close(fused["blocks.1.attn1.to_v.weight"] - base["blocks.1.attn1.to_v.weight"], b @ a,
                               atol=1e-4, rtol=1e-4)


# ---- kinds we refuse ------------------------------------------------------------------------


def _folder(tmp_path, kind: str = "wan2.2-ti2v", transformer: dict | None = None, vae_from: str | None = None,
            index: dict | None = None, second: bool = False) -> str:
    parts = build_parts(kind, transformer=transformer)
    if vae_from:
        parts.vae = build_parts(vae_from).vae
    folder = save_folder(parts, str(tmp_path / "wan"))
    if second:
        parts.transformer.save_pretrained(f"{folder}/transformer_2")
    if index is not None:
        (tmp_path / "wan" / "model_index.json").write_text(json.dumps(index))
    return folder


REFUSED = {
    # a Wan2.1 / Wan2.2-A14B text-to-video model: 16 input channels on the 16-channel Wan2.1 VAE
    "t2v": (dict(kind="wan2.1-i2v", transformer=dict(in_channels=16, image_dim=None, added_kv_proj_dim=None)),
            "text-to-video"),
    # two experts: a transformer_2/ folder, or model_index.json's boundary_ratio
    "transformer_2": (dict(second=True), "two-expert"),
    "boundary_ratio": (dict(index={"_class_name": "WanImageToVideoPipeline", "boundary_ratio": 0.9}), "two-expert"),
    # Wan2.2 I2V-A14B's expert alone: 36 channels, no CLIP image input
    "i2v_expert": (dict(kind="wan2.1-i2v", transformer=dict(image_dim=None, added_kv_proj_dim=None)), "I2V-A14B"),
    "channels": (dict(transformer=dict(in_channels=12, out_channels=12)), "fits neither"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_unsupported_checkpoints_are_refused_by_solve(tmp_path, capsys, case):
    kwargs, message = REFUSED[case]
    folder = _folder(tmp_path, **kwargs)
    capsys.readouterr()  # saving the folder draws progress bars
    code = main(["solve", "--reasoner", f"wan:{folder},height=64,width=64,frames=5,text_len=16", "--family", "maze",
                 "--seed", "1000000", "--out", str(tmp_path / "out.mp4")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("vlmteach: error:") and message in err[0] and "supported:" in err[0]
    assert not (tmp_path / "out.mp4").exists()


def test_ti2v_needs_the_wan22_vae_or_expand_timesteps(tmp_path):
    t = dict(in_channels=16, out_channels=16)
    ti2v, t2v = {"in_channels": 48, "image_dim": None}, {"in_channels": 16, "image_dim": None}
    assert detect_kind(ti2v, {"z_dim": 48, "is_residual": True}) == "wan2.2-ti2v"
    assert detect_kind(ti2v, {"z_dim": 48}, {"transformer_2": [None, None], "boundary_ratio": None}) == "wan2.2-ti2v"
    with pytest.raises(VlmteachError, match="two-expert"):
        detect_kind(ti2v, {"z_dim": 48}, {"transformer_2": ["diffusers", "WanTransformer3DModel"]})
    with pytest.raises(VlmteachError, match="text-to-video"):
        detect_kind(t2v, {"z_dim": 16, "is_residual": False})
    assert detect_kind(t2v, {"z_dim": 16}, {"expand_timesteps": True}) == "wan2.2-ti2v"
    assert detect_kind({"in_channels": 36, "image_dim": 1280}, {"z_dim": 16}) == "wan2.1-i2v"
    folder = _folder(tmp_path, "wan2.1-i2v", transformer=dict(t, image_dim=None, added_kv_proj_dim=None),
                     index={"expand_timesteps": True})
    assert reasoners.load("wan", f"{folder},height=32,width=32,frames=5,text_len=16").kind == "wan2.2-ti2v"


# ---- dtypes ---------------------------------------------------------------------------------


def test_auto_keeps_the_vae_and_image_encoder_in_fp32():
    cuda = torch.device("cuda")
    assert part_dtypes(WanOptions(), cuda) == (torch.bfloat16, torch.float32)
    assert part_dtypes(WanOptions(vae_dtype="same"), cuda) == (torch.bfloat16, torch.bfloat16)
    assert part_dtypes(WanOptions(dtype="fp16", vae_dtype="bf16"), cuda) == (torch.float16, torch.bfloat16)
    assert part_dtypes(WanOptions(), torch.device("cpu")) == (torch.float32, torch.float32)
    with pytest.raises(VlmteachError, match="valid: fp32"):
        part_dtypes(WanOptions(vae_dtype="int8"), cuda)


@pytest.mark.parametrize("vae_dtype, expected", [("auto", torch.float32), ("same", torch.bfloat16)])
def test_mixed_dtypes_load_and_run(tmp_path, vae_dtype, expected):
    kind = "wan2.1-i2v"
    h, w, f = TINY_SIZE[kind]
    parts = build_parts(kind, seed=8)
    folder = save_folder(parts, str(tmp_path / "wan"))
    model = reasoners.load("wan", f"{folder},height={h},width={w},frames={f},text_len=16,dtype=bf16,vae_dtype={vae_dtype}")
    dtype = {name: next(getattr(model.net, name).parameters()).dtype
             for name in ("transformer", "text_encoder", "vae", "image_encoder")}
    assert dtype == {"transformer": torch.bfloat16, "text_encoder": torch.bfloat16, "vae": expected,
                     "image_encoder": expected}
    for name in ("vae", "image_encoder"):  # loaded in their dtype, not rounded through bf16 on the way
        saved = getattr(parts, name).state_dict()
        for key, value in getattr(model.net, name).state_dict().items():
            assert torch.equal(value, saved[key].to(expected)), f"{name}.{key}"
    cond = model.condition(image(model), PROMPT)
    with torch.no_grad():
        video = model.decode(model.sample(model.noise(0), cond, steps=1))
    assert video.frames.shape == (f, 3, h, w) and torch.isfinite(video.frames).all()
