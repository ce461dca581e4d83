"""The Wan reasoner on tiny random-config models built here (offline): conditioning as the diffusers
pipeline builds it, shapes and validation, gradients to the LoRA only, determinism, loading from a
folder, a fused step-distillation LoRA and a light decoder."""

from __future__ import annotations

import pytest
import torch

from safetensors.torch import save_file

from vlmteach import reasoners
from vlmteach.errors import VlmteachError
from vlmteach.reasoners.wan import KINDS, WanOptions, WanReasoner, parse_spec
from vlmteach.reasoners.wan_tiny import TINY_SIZE, build_parts, save_folder, tiny_wan

PROMPT = "move the red ball to the green star"


def image(seed: int = 0) -> torch.Tensor:
    return torch.rand(3, 40, 48, generator=torch.Generator().manual_seed(seed))


def test_condition_matches_the_diffusers_pipeline(model):
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline

    ti2v = model.kind == "wan2.2-ti2v"
    pipe = WanImageToVideoPipeline(tokenizer=model.tokenizer, text_encoder=model.net.text_encoder, vae=model.net.vae,
                                   scheduler=FlowMatchEulerDiscreteScheduler(), transformer=model.net.transformer,
                                   image_encoder=model.net.image_encoder, image_processor=None, expand_timesteps=ti2v)
    frame = model._resize(image(), (model.height, model.width))
    out = pipe.prepare_latents(frame[None] * 2 - 1, 1, model.net.vae.config.z_dim, model.height, model.width,
                               model.frames, torch.float32, torch.device("cpu"))
    ours = model.condition(image(), PROMPT).first
    theirs = out[1][0]
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_shapes_and_first_frame(model):
    cond = model.condition(image(), PROMPT)
    z1 = model.noise(1_000_000)
    assert z1.shape == model.latent_shape
    with torch.no_grad():
        z0 = model.one_step(z1, cond)
        z = model.sample(z1, cond)
        video = model.decode(z)
        light = model.decode_light(z0)
    assert z0.shape == z.shape == z1.shape
    assert video.frames.shape == (model.frames, 3, model.height, model.width)
    assert video.frames.min() >= 0 and video.frames.max() <= 1
    k = model.opt.light_downsample
    assert light.shape == (model.frames, 3, model.height // k, model.width // k)
    if model.kind == "wan2.2-ti2v":  # the known first latent frame stays the condition
        torch.testing.assert_close(z0[:, :1], cond.first)
        torch.testing.assert_close(z[:, :1], cond.first)


def test_sampler_counts_and_determinism(model):
    cond = model.condition(image(), PROMPT)
    before = model.cost.forwards
    with torch.no_grad():
        a = model.sample(model.noise(5), cond, steps=3)
        b = model.sample(model.noise(5), cond, steps=3)
        c = model.sample(model.noise(6), cond, steps=3)
    assert model.cost.forwards - before == 9
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert model.sigmas(4)[0] == 1.0 and model.sigmas(4)[-1] == 0.0


def test_prompt_changes_the_prediction(model):
    z1 = model.noise(3)
    with torch.no_grad():
        a = model.one_step(z1, model.condition(image(), PROMPT))
        b = model.one_step(z1, model.condition(image(), "rotate the blue square"))
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("grad", ["first-step", "last-step", "full-chain"])
def test_gradients_reach_only_the_lora(model, grad):
    from vlmteach.optim.gradmode import clean_prediction

    cond = model.condition(image(), PROMPT)
    z1 = model.noise(7)
    with torch.no_grad():
        base = model.one_step(z1, cond)
    model.add_lora(rank=4)
    try:
        lora = model.lora_parameters()
        assert lora and all(p.dtype == torch.float32 for p in lora)
        with torch.no_grad():  # B = 0: a fresh adapter leaves the model unchanged
            torch.testing.assert_close(model.one_step(z1, cond), base)
        frames = model.decode_light(clean_prediction(model, z1, cond, grad, 2))
        (frames - 0.3).square().mean().backward()
        ids = {id(p) for p in lora}
        stray = [n for n, p in model.net.named_parameters() if p.grad is not None and id(p) not in ids]
        assert stray == []
        reached = [p for p in lora if p.grad is not None and p.grad.abs().sum() > 0]
        assert len(reached) == len(lora) // 2  # every lora_B (lora_A's gradient is zero while B = 0)
        torch.optim.SGD(lora, lr=1.0).step()
        with torch.no_grad():
            assert not torch.allclose(model.one_step(z1, cond), base)
            model.reset_lora()
            torch.testing.assert_close(model.one_step(z1, cond), base)
    finally:
        model.drop_lora()
    assert not any("lora" in n for n, _ in model.net.named_modules())


@pytest.mark.parametrize("bad, message", [({"frames": 6}, "4k\\+1"), ({"height": 40}, "multiples of"),
                                          ({"light_downsample": 0}, "light_downsample")])
def test_validation(bad, message):
    with pytest.raises(VlmteachError, match=message):
        tiny_wan("wan2.2-ti2v", **bad)


def test_spec_parsing():
    path, opts = parse_spec("/models/wan, steps=2, checkpointing=true, shift=3.5, lora=/x.safetensors")
    assert path == "/models/wan" and opts.steps == 2 and opts.checkpointing is True and opts.shift == 3.5
    assert opts.lora == "/x.safetensors"
    with pytest.raises(VlmteachError, match="valid: height"):
        parse_spec("/m,colour=red")
    with pytest.raises(VlmteachError, match="cannot read .four. as int"):
        parse_spec("/m,steps=four")
    with pytest.raises(VlmteachError, match="key=value"):
        parse_spec("/m,steps")
    r = reasoners.load("wan_tiny", "wan2.1-i2v,steps=2")
    assert r.kind == "wan2.1-i2v" and r.default_steps == 2
    with pytest.raises(VlmteachError, match="known: tiny, wan, wan_tiny"):
        reasoners.load("sora")


@pytest.mark.parametrize("kind", KINDS)
def test_from_pretrained_round_trip(tmp_path, kind):
    parts = build_parts(kind, seed=3)
    h, w, f = TINY_SIZE[kind]
    opts = WanOptions(height=h, width=w, frames=f, text_len=16)
    in_memory = WanReasoner(parts, opts)
    save_folder(parts, str(tmp_path / "wan"))
    loaded = reasoners.load("wan", f"{tmp_path / 'wan'},height={h},width={w},frames={f},text_len=16")
    assert loaded.kind == kind
    z1 = in_memory.noise(0)
    with torch.no_grad():
        a = in_memory.one_step(z1, in_memory.condition(image(), PROMPT))
        b = loaded.one_step(z1, loaded.condition(image(), PROMPT))
    torch.testing.assert_close(a, b)


def test_load_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(VlmteachError, match="no transformer/"):
        WanReasoner.from_pretrained(tmp_path / "empty")
    with pytest.raises(VlmteachError, match="no such folder.*nothing is downloaded"):
        WanReasoner.from_pretrained("nobody/not-a-cached-model")
    with pytest.raises(VlmteachError, match="needs a model"):
        reasoners.load("wan")


def test_step_distillation_lora_is_fused(tmp_path):
    parts = build_parts("wan2.2-ti2v", seed=4)
    folder = save_folder(parts, str(tmp_path / "wan"))
    q = parts.transformer.blocks[0].attn1.to_q
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, q.in_features, generator=g), torch.randn(q.out_features, 4, generator=g)
    save_file({"transformer.blocks.0.attn1.to_q.lora_A.weight": a, "transformer.blocks.0.attn1.to_q.lora_B.weight": b},
              str(tmp_path / "distill.safetensors"))
    model = WanReasoner.from_pretrained(folder, WanOptions(height=64, width=64, frames=5, text_len=16,
                                                           lora=str(tmp_path / "distill.safetensors"), lora_scale=0.5))
    fused = model.net.transformer.blocks[0].attn1.to_q
    assert isinstance(fused, torch.nn.Linear) and not any("lora" in n for n, _ in model.net.named_modules())
    torch.testing.assert_close(fused.weight, q.weight + 0.5 * b @ a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model.net.transformer.blocks[1].attn1.to_q.weight, parts.transformer.blocks[1].attn1.to_q.weight)
    assert not any(p.requires_grad for p in model.net.parameters())
    with pytest.raises(VlmteachError, match="does not exist"):
        model.fuse_distill_lora(tmp_path / "missing.safetensors")


def test_light_decoder_folder(tmp_path):
    parts = build_parts("wan2.2-ti2v", seed=5)
    folder = save_folder(parts, str(tmp_path / "wan"))
    light = build_parts("wan2.2-ti2v", seed=6).vae  # same latent space, other weights
    light.save_pretrained(tmp_path / "light")
    spec = f"{folder},height=64,width=64,frames=5,text_len=16"
    model = reasoners.load("wan", f"{spec},light_decoder={tmp_path / 'light'}")
    plain = reasoners.load("wan", spec)
    z = model.noise(0) * 0.5
    with torch.no_grad():
        a, b = model.decode_light(z), plain.decode_light(z)
    assert a.shape == (5, 3, 64, 64) and b.shape == (5, 3, 32, 32)  # full size vs the pooled fallback
    with torch.no_grad():
        assert not torch.allclose(a, plain._vae_decode(plain.net.vae, z))
    with pytest.raises(VlmteachError, match="light decoder"):
        reasoners.load("wan", f"{spec},light_decoder={tmp_path / 'nothing'}")


def test_taehv_light_decoder_file(tmp_path):
    from vlmteach.reasoners.taehv import TinyVideoDecoder

    parts = build_parts("wan2.2-ti2v", seed=7)
    folder = save_folder(parts, str(tmp_path / "wan"))
    torch.manual_seed(0)
    ref = TinyVideoDecoder(latent_channels=8, patch_size=2)
    state = {f"decoder.{k}": v for k, v in ref.decoder.state_dict().items()}
    # files trained with time upscaling in the first stage hold twice the channels there; the loader keeps the last half
    state["decoder.7.conv.weight"] = torch.cat([torch.zeros_like(state["decoder.7.conv.weight"]), state["decoder.7.conv.weight"]])
    state["encoder.0.weight"] = torch.zeros(1)  # encoder weights are ignored
    save_file(state, str(tmp_path / "taew.safetensors"))
    model = reasoners.load("wan", f"{folder},height=64,width=64,frames=9,text_len=16,light_decoder={tmp_path / 'taew.safetensors'}")
    z = model.noise(0)
    assert z.shape[1] == 3
    with torch.no_grad():
        out = model.decode_light(z)
        torch.testing.assert_close(out, ref(z.permute(1, 0, 2, 3)))
    assert out.shape == (9, 3, 64, 64)  # 4 frames per latent frame, minus the 3 warm-up frames
    z2 = z.clone()
    z2[:, -1] += 1.0  # the memory only looks back: frames before the last latent frame's are unchanged
    with torch.no_grad():
        out2 = model.decode_light(z2)
    torch.testing.assert_close(out2[:5], out[:5])
    assert not torch.allclose(out2[5:], out[5:])
    model.add_lora(rank=2)
    model.decode_light(model.one_step(z, model.condition(image(), PROMPT))).mean().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.lora_parameters())
    assert all(p.grad is None for p in model.net.light_vae.parameters())
    save_file({"decoder.1.weight": torch.zeros(256, 16, 3, 3), "decoder.22.weight": torch.zeros(12, 64, 3, 3)},
              str(tmp_path / "partial.safetensors"))
    with pytest.raises(VlmteachError, match="TAEHV decoder layout"):
        reasoners.load("wan", f"{folder},light_decoder={tmp_path / 'partial.safetensors'}")
    wan21 = {f"decoder.{k}": v for k, v in TinyVideoDecoder(16, 2).decoder.state_dict().items()}
    save_file(wan21, str(tmp_path / "w21.safetensors"))
    with pytest.raises(VlmteachError, match="16-channel latents"):
        reasoners.load("wan", f"{folder},light_decoder={tmp_path / 'w21.safetensors'}")


def test_clip_image_tokens_see_a_centre_crop():
    """Wan2.1 I2V's CLIP input is the image's shortest side resized and centre-cropped, as CLIPImageProcessor
    does: changing pixels outside the crop leaves the image tokens unchanged, inside it changes them."""
    model = tiny_wan("wan2.1-i2v")
    wide = torch.rand(3, 32, 96, generator=torch.Generator().manual_seed(0))
    edited = wide.clone()
    edited[:, :, :8] = 1 - edited[:, :, :8]  # the left edge lies outside the centre crop
    with torch.no_grad():
        torch.testing.assert_close(model.encode_image(wide), model.encode_image(edited))
        edited[:, :, 40:56] = 0
        assert not torch.allclose(model.encode_image(wide), model.encode_image(edited))


def test_lora_targets_by_name_or_suffixes(model):
    """A method's `targets` option reaches add_lora as text: a named set or suffixes joined by '+';
    the sets are the self- and cross-attention projections, with the MLP for attn+ffn."""
    attn = [f"{a}.{p}" for a in ("attn1", "attn2") for p in ("to_q", "to_k", "to_v", "to_out.0")]
    assert model.lora_targets(None) == attn == model.lora_targets("attn")
    assert model.lora_targets("attn+ffn") == [*attn, "ffn.net.0.proj", "ffn.net.2"]
    assert model.lora_targets("attn1.to_q+ffn.net.2") == ["attn1.to_q", "ffn.net.2"]
    assert model.lora_targets(["attn2.to_v"]) == ["attn2.to_v"]
    model.add_lora(rank=4, targets="attn1.to_q")
    try:
        adapted = {n.split(".lora_")[0] for n, _ in model.net.named_parameters() if ".lora_" in n}
        assert adapted and all(n.endswith("attn1.to_q") for n in adapted)
    finally:
        model.drop_lora()
