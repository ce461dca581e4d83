"""Cost of one test-time optimization step and of one full sample, broken down, for a reasoner and
teacher config (random weights: only time and memory mean anything here).

Per step: query proposal (once per instance, by generation), one-step forward, light decode, teacher
forward (K frames, all queries), backward, optimizer; per sample: the few-step chain and the full
decode. Also the multi-query factor: the teacher's forward + backward with all queries over one query
(the video is encoded once, so this should stay near 1), and peak memory.

CPU (scaled down, the default):   python benchmarks/step_cost.py
GPU (the paper's sizes, bf16):    python benchmarks/step_cost.py --size real --device cuda
  Wan2.2 TI2V-5B dims at 704x1280 (or --height/--width), 89 frames; Qwen3-VL-4B dims judging 24 frames.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable

import torch

from vlmteach.nn.device import dtype_name
from vlmteach.optim.loss import query_loss
from vlmteach.reasoners.taehv import TinyVideoDecoder
from vlmteach.reasoners.wan import WanOptions, WanReasoner
from vlmteach.reasoners.wan_tiny import TINY_SIZE, build_parts
from vlmteach.tasks import get_family
from vlmteach.video.tensor import sample_frames


FOUR = ["By the end, is the red ball on the green square?", "Does the ball stay out of the grey walls?",
        "Does the ball stay in one piece?", "Does the ball move one cell at a time?"]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn: Callable[[], object]) -> tuple[object, float]:
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return out, time.perf_counter() - t0


def peak_memory_gb(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30, "CUDA allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "process RSS"


def build_reasoner(args, device: torch.device, dtype: torch.dtype) -> WanReasoner:
    tiny = args.reasoner_size == "tiny"
    h, w, f = TINY_SIZE[args.wan] if tiny else (704, 1280, 89)
    # --layers: fewer transformer blocks at the same width, a scaled-down config with the real per-block cost
    parts = build_parts(args.wan, args.reasoner_size, seed=0, text_encoder=tiny, device=device, dtype=dtype,
                        transformer={"num_layers": args.layers} if args.layers else None)
    if args.light == "taehv":  # the paper's kind of light decoder (random weights, same layout and cost)
        vae = parts.vae.config
        parts.light_vae = TinyVideoDecoder(vae.z_dim, vae.patch_size or 1).to(device, dtype)
    opts = WanOptions(height=args.height or h, width=args.width or w, frames=args.frames or f,
                      text_len=16 if tiny else 512,
                      device=str(device), dtype=dtype_name(dtype),
                      checkpointing=args.checkpointing, light_downsample=args.light_downsample)
    return WanReasoner(parts, opts)


def build_teacher(args, device: torch.device, dtype: torch.dtype):
    from vlmteach.teachers.qwen_tiny import qwen_vl_config, tiny_tokenizer
    from vlmteach.teachers.qwen_vl import QwenVLConfig, QwenVLTeacher, model_class

    tok = tiny_tokenizer()
    size = "tiny" if args.size == "tiny" else {"qwen3_vl": "4b", "qwen2_5_vl": "3b"}[args.qwen]
    config = qwen_vl_config(args.qwen, size, tok)
    if args.layers:
        config.text_config.num_hidden_layers = args.layers
    if args.vision_layers:
        vc = config.vision_config
        vc.depth = args.vision_layers
        if hasattr(vc, "deepstack_visual_indexes"):
            vc.deepstack_visual_indexes = [i for i in vc.deepstack_visual_indexes if i < args.vision_layers] or [0]
        if hasattr(vc, "fullatt_block_indexes"):
            vc.fullatt_block_indexes = [args.vision_layers - 1]
    torch.manual_seed(0)
    with torch.device(device):
        model = model_class(config.model_type)(config)
    model.to(dtype=dtype)
    pixels = {"max_pixels": args.teacher_pixels} if args.teacher_pixels else {}
    if args.size == "tiny":
        pixels = {"max_pixels": 64 * 64, "min_pixels": 32 * 32, **pixels}
    cfg = QwenVLConfig(device=str(device), dtype=dtype_name(dtype),
                       max_new_tokens=args.query_tokens, **pixels)
    return QwenVLTeacher(model, tok, cfg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=("tiny", "real"), default="tiny")
    ap.add_argument("--reasoner-size", choices=("tiny", "real"), default=None, help="the reasoner's size (default: --size)")
    ap.add_argument("--wan", choices=("wan2.2-ti2v", "wan2.1-i2v"), default="wan2.2-ti2v")
    ap.add_argument("--qwen", choices=("qwen3_vl", "qwen2_5_vl"), default="qwen3_vl")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--height", type=int, default=None)
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--k", type=int, default=24, help="frames the teacher judges (K)")
    ap.add_argument("--teacher-pixels", type=int, default=None, help="max pixels per judged frame (teacher resize)")
    ap.add_argument("--light", choices=("taehv", "pooled"), default="taehv",
                    help="decode_light: a TAEHV-layout decoder, or the full VAE on a pooled latent (--light-downsample)")
    ap.add_argument("--light-downsample", type=int, default=2)
    ap.add_argument("--query-tokens", type=int, default=128, help="max new tokens when writing queries")
    ap.add_argument("--no-checkpointing", dest="checkpointing", action="store_false")
    ap.add_argument("--steps", type=int, default=3, help="timed optimization steps (after one warm-up)")
    ap.add_argument("--layers", type=int, default=None, help="transformer blocks of Wan and text layers of Qwen (default: the size's)")
    ap.add_argument("--vision-layers", type=int, default=None, help="Qwen vision blocks (default: the size's)")
    args = ap.parse_args()
    args.reasoner_size = args.reasoner_size or args.size

    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    torch.set_num_threads(max(1, torch.get_num_threads()))
    reasoner = build_reasoner(args, device, dtype)
    teacher = build_teacher(args, device, dtype)
    n_r = sum(p.numel() for p in reasoner.net.transformer.parameters()) / 1e6
    n_t = sum(p.numel() for p in teacher.net.parameters()) / 1e6
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}), {dtype}, "
          f"{torch.get_num_threads()} threads")
    print(f"reasoner {args.wan} {args.reasoner_size}: {n_r:,.2f}M transformer params, {reasoner.frames} frames at "
          f"{reasoner.height}x{reasoner.width}, latent {tuple(reasoner.latent_shape)}, checkpointing {args.checkpointing}, "
          f"light decoder {args.light}")
    print(f"teacher {args.qwen} {args.size}: {n_t:,.2f}M params, judging K={args.k} frames")

    inst = get_family("maze").generate(1_000_000)
    text = None if args.reasoner_size == "tiny" else torch.randn(1, 512, reasoner.net.transformer.config.text_dim)
    cond = reasoner.condition(inst.first_frame, inst.prompt, text=text)
    queries, t_query = timed(device, lambda: teacher.propose_queries(inst.first_frame, inst.prompt))
    z1 = reasoner.noise(1_000_000)
    reasoner.add_lora(rank=16)
    opt = torch.optim.Adam(reasoner.lora_parameters(), lr=5e-5)
    rows: dict[str, list[float]] = {k: [] for k in ("one-step forward", "light decode", "teacher forward", "backward",
                                                     "optimizer", "step total")}
    for i in range(args.steps + 1):
        z0, a = timed(device, lambda: reasoner.one_step(z1, cond))
        frames, b = timed(device, lambda z0=z0: sample_frames(reasoner.decode_light(z0), args.k))
        loss, c = timed(device, lambda f=frames: query_loss(teacher.yes_nll(f, queries.texts), queries))
        _, d = timed(device, loss.backward)
        _, e = timed(device, lambda: (opt.step(), opt.zero_grad(set_to_none=True)))
        if i:  # the first step warms up kernels and allocators
            for key, v in zip(rows, (a, b, c, d, e, a + b + c + d + e)):
                rows[key].append(v)
    reasoner.drop_lora()
    with torch.no_grad():
        z, t_chain = timed(device, lambda: reasoner.sample(z1, cond))
        _, t_decode = timed(device, lambda: reasoner.decode(z))

    frames = sample_frames(reasoner.decode_light(z.detach()), args.k).detach()

    def score(texts: list[str], n: int) -> float:
        times = []
        for _ in range(3):
            f = frames.clone().requires_grad_(True)
            _, t = timed(device, lambda f=f: teacher.yes_nll(f, texts[:n]).sum().backward())
            times.append(t)
        return statistics.median(times[1:])

    texts = (queries.texts + FOUR)[:4]  # one goal + three process queries, the paper's largest query set
    one, many = score(texts, 1), score(texts, 4)
    mem, what = peak_memory_gb(device)

    print(f"\nqueries proposed by generation: {t_query:.3f} s (once per instance; at most {args.query_tokens} new tokens; "
          f"source {queries.source}: random weights never write valid JSON, so this is two full-length tries)")
    print("\n| part of one optimization step | seconds (median) |\n|---|---:|")
    for key, vals in rows.items():
        print(f"| {key} | {statistics.median(vals):.3f} |")
    print(f"\n| one full sample | seconds |\n|---|---:|\n| {reasoner.default_steps}-step chain | {t_chain:.3f} |"
          f"\n| full VAE decode | {t_decode:.3f} |\n| total | {t_chain + t_decode:.3f} |")
    print(f"\nteacher forward+backward, 4 queries vs 1: {many:.3f} s / {one:.3f} s = {many / one:.2f}x")
    print(f"peak memory: {mem:.2f} GB ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
