"""Qwen2.5-VL and Qwen3-VL (transformers) as a differentiable teacher: -log P("Yes" | video, question)
w.r.t. the pixels, with the video encoded once for all questions, plus query writing, prompt rewriting
and critiques by generation.

Read top to bottom: frames go through the torch preprocessing (qwen_pixels.py) into the vision tower
once; the chat prompt is built by hand with Qwen's special tokens, exactly as the official chat template
and processor in transformers 5.x expand it; each question becomes one row of a right-padded batch whose
video placeholders receive the same vision embeddings (and, for Qwen3-VL, deepstack features);
positions come from the model's own `get_rope_index`; the logit at each row's last real token gives
P("Yes") as the first answer token.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vlmteach import specs
from vlmteach.errors import VlmteachError
from vlmteach.nn.device import DTYPES, dtype_name, resolve_device, resolve_dtype
from vlmteach.teachers.base import QuerySet, Teacher
from vlmteach.teachers.qwen_pixels import PixelSpec, image_inputs, video_inputs
from vlmteach.teachers.query_json import (CRITIQUE, PROPOSE, critique_result, fallback_queries, parse_queries, retry_note,
                                         rewrite_request)
from vlmteach.video import sample_frames

KINDS = {"qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration", "qwen3_vl": "Qwen3VLForConditionalGeneration"}
DEFAULT_SYSTEM = {"qwen2_5_vl": "You are a helpful assistant.", "qwen3_vl": None}  # what each chat template inserts
CRITIQUE_FRAMES = 8  # frames shown with a critique request when `frames` is 0
TOKENS = ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")


@dataclass
class QwenVLConfig:
    """How the teacher judges and generates; the model itself comes from its own config."""

    frames: int = 0  # frames judged, sampled uniformly from those given; 0: all of them (the method samples K, 24 by default)
    max_pixels: int = 448 * 448  # per frame; frames are resized by the smart_resize rule into [min_pixels, max_pixels]
    min_pixels: int = 4096  # the Qwen3-VL video processor's floor
    fps: float = 2.0  # the rate the judged frames stand for: Qwen3-VL timestamps, Qwen2.5-VL second_per_grid_ts
    dtype: str = "auto"  # auto | bf16 | fp16 | fp32; auto keeps a given model's (from_pretrained: bf16 on cuda, fp32 on cpu)
    device: str = "auto"  # auto | cpu | cuda | cuda:N; auto keeps a given model's (from_pretrained: cuda when available)
    system_prompt: str | None = None  # None: the chat template's default; "": no system turn
    question_suffix: str = " Answer Yes or No."
    answer: str = "Yes"  # must be a single token: its probability as the first answer token is scored
    max_new_tokens: int = 512
    outer_vision_tokens: bool = True  # Qwen3-VL: keep the template's outer <|vision_start|>..<|vision_end|> (transformers 5.x)

    def __post_init__(self) -> None:
        if self.frames < 0:
            raise VlmteachError(f"frames must be 0 (judge every frame given) or positive, got {self.frames}")
        if not 0 < self.min_pixels <= self.max_pixels:
            raise VlmteachError(f"need 0 < min_pixels <= max_pixels, got {self.min_pixels} and {self.max_pixels}")
        if self.fps <= 0:
            raise VlmteachError(f"fps must be positive, got {self.fps}")
        if self.dtype not in DTYPES:
            raise VlmteachError(f"unknown dtype {self.dtype!r}; valid: {', '.join(DTYPES)}")
        if self.max_new_tokens < 1:
            raise VlmteachError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")


def model_class(model_type: str) -> Any:
    """The transformers class for a config's model_type; an error names what is supported."""
    if model_type not in KINDS:
        raise VlmteachError(f"the qwen_vl teacher does not support model_type {model_type!r}; supported: "
                            "qwen2_5_vl (Qwen2.5-VL), qwen3_vl (Qwen3-VL)")
    return getattr(_transformers(), KINDS[model_type])


def _transformers() -> Any:
    """The transformers module, or an error saying how to install it."""
    try:
        import transformers
    except ImportError:
        raise VlmteachError("the qwen_vl teacher needs transformers 5.x: pip install transformers==5.24.0") from None
    return transformers


class QwenVLTeacher(Teacher):
    """A Qwen2.5-VL / Qwen3-VL model behind the Teacher interface (frozen, eval mode)."""

    name = "qwen_vl"
    can_generate = True

    def __init__(self, model: Any, tokenizer: Any, cfg: QwenVLConfig | None = None):
        super().__init__()
        self.cfg = cfg or QwenVLConfig()
        self.kind = getattr(model.config, "model_type", None)
        model_class(self.kind)  # raises on an unsupported model
        self.device = resolve_device(self.cfg.device) if self.cfg.device != "auto" else next(model.parameters()).device
        self.dtype = resolve_dtype(self.cfg.dtype, self.device) if self.cfg.dtype != "auto" else next(model.parameters()).dtype
        self.net = model.to(device=self.device, dtype=self.dtype).eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.spec = dataclasses.replace(PixelSpec.from_config(model.config), min_pixels=self.cfg.min_pixels,
                                        max_pixels=self.cfg.max_pixels)
        self.ids = self._special_ids()
        answer = tokenizer.encode(self.cfg.answer, add_special_tokens=False)
        if len(answer) != 1:
            raise VlmteachError(f"the answer {self.cfg.answer!r} is {len(answer)} tokens for this tokenizer; it must be one")
        self.yes_id = answer[0]
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.ids["<|im_end|>"]
        self.fallbacks = 0  # query answers that stayed malformed after the retry
        self.generations = 0

    def _special_ids(self) -> dict[str, int]:
        """Ids of the chat and vision tokens, checked against the model config's."""
        ids = {t: self.tokenizer.convert_tokens_to_ids(t) for t in TOKENS}
        missing = [t for t, i in ids.items() if i is None or i == self.tokenizer.unk_token_id]
        if missing:
            raise VlmteachError(f"the tokenizer lacks the Qwen special tokens {missing}; use the tokenizer saved with the model")
        config = self.net.config
        for token, key in (("<|image_pad|>", "image_token_id"), ("<|video_pad|>", "video_token_id"),
                           ("<|vision_start|>", "vision_start_token_id"), ("<|vision_end|>", "vision_end_token_id")):
            if getattr(config, key, ids[token]) != ids[token]:
                raise VlmteachError(f"tokenizer id {ids[token]} of {token} differs from the model's {key} "
                                    f"{getattr(config, key)}; tokenizer and model do not belong together")
        return ids

    # ---- prompt construction -------------------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def _timestamps(self, frames: int) -> list[float]:
        """Qwen3-VL's time per temporal group of `frames` frames, as Qwen3VLProcessor computes it: frame
        indices 0..K-1, the last index repeated to fill the final group, each group's time the mean of
        its first and last index over fps (so 5 frames at 2 fps give 0.2, 1.2, 2.0 seconds)."""
        tps = self.spec.temporal_patch_size
        groups = -(-frames // tps)
        index = [min(i, frames - 1) for i in range(groups * tps)]
        return [(index[g * tps] + index[g * tps + tps - 1]) / 2 / self.cfg.fps for g in range(groups)]

    def vision_block(self, grid: torch.Tensor, video: bool, frames: int | None = None) -> list[int]:
        """The placeholder tokens of one image or video with grid (1, 3), as the processor expands them;
        `frames` is the video's frame count before padding (Qwen3-VL's timestamps depend on it)."""
        vs, ve = self.ids["<|vision_start|>"], self.ids["<|vision_end|>"]
        t, h, w = (int(v) for v in grid[0])
        per_group = h * w // self.spec.merge_size ** 2
        if not video:
            return [vs] + [self.ids["<|image_pad|>"]] * (t * per_group) + [ve]
        pad = self.ids["<|video_pad|>"]
        if self.kind == "qwen2_5_vl":
            return [vs] + [pad] * (t * per_group) + [ve]
        # Qwen3-VL: "<t seconds>" + vision_start + pads + vision_end per temporal group; transformers 5.x keeps the
        # chat template's own vision_start / vision_end around them (4.57 replaced them; see outer_vision_tokens).
        block: list[int] = []
        frames = t * self.spec.temporal_patch_size if frames is None else frames
        if -(-frames // self.spec.temporal_patch_size) != t:
            raise VlmteachError(f"{frames} frames do not make the grid's {t} temporal groups")
        for stamp in self._timestamps(frames):
            block += self._encode(f"<{stamp:.1f} seconds>") + [vs] + [pad] * per_group + [ve]
        return [vs, *block, ve] if self.cfg.outer_vision_tokens else block

    def prompt_ids(self, vision: list[int], text: str) -> tuple[list[int], list[int]]:
        """(prefix, suffix) token ids of a one-turn chat: the prefix ends with the vision block (shared by
        every question), the suffix holds the text and the generation prompt."""
        system = DEFAULT_SYSTEM[self.kind] if self.cfg.system_prompt is None else self.cfg.system_prompt
        start, end = self.ids["<|im_start|>"], self.ids["<|im_end|>"]
        prefix = [start, *self._encode(f"system\n{system}"), end, *self._encode("\n")] if system else []
        prefix += [start, *self._encode("user\n"), *vision]
        suffix = [*self._encode(text), end, *self._encode("\n"), start, *self._encode("assistant\n")]
        return prefix, suffix

    def mm_token_types(self, ids: torch.Tensor) -> torch.Tensor:
        """0 text, 1 image, 2 video per token: transformers 5.x needs these for the 3-D mRoPE positions."""
        return (ids == self.ids["<|image_pad|>"]).long() + 2 * (ids == self.ids["<|video_pad|>"]).long()

    def _video_kwargs(self, grid: torch.Tensor) -> dict[str, Any]:
        """Qwen2.5-VL's seconds per temporal group (temporal_patch_size / fps), as its processor passes."""
        if self.kind != "qwen2_5_vl":
            return {}
        seconds = self.spec.temporal_patch_size / self.cfg.fps
        return {"second_per_grid_ts": torch.full((grid.shape[0],), seconds, device=self.device)}

    def model_inputs(self, visual: torch.Tensor, text: str) -> dict[str, Any]:
        """Inputs of the plain model forward / generate for one image (3, H, W) or video (K, 3, H, W) and a
        user text: the official (unbatched) path."""
        video = visual.ndim == 4
        pixels, grid = (video_inputs if video else image_inputs)(visual.to(self.device, torch.float32), self.spec)
        prefix, suffix = self.prompt_ids(self.vision_block(grid, video, visual.shape[0] if video else None), text)
        ids = torch.tensor([prefix + suffix], device=self.device)
        inputs: dict[str, Any] = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                                  "mm_token_type_ids": self.mm_token_types(ids)}
        if video:
            inputs.update(pixel_values_videos=pixels.to(self.dtype), video_grid_thw=grid.to(self.device), **self._video_kwargs(grid))
        else:
            inputs.update(pixel_values=pixels.to(self.dtype), image_grid_thw=grid.to(self.device))
        return inputs

    # ---- judging ----------------------------------------------------------------------------
    def question(self, query: str) -> str:
        """The user text for one query."""
        return query + self.cfg.question_suffix

    def judged_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """The K frames the teacher looks at, on its device, in fp32."""
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise VlmteachError(f"frames must be (K, 3, H, W), got {tuple(frames.shape)}")
        picked = sample_frames(frames, self.cfg.frames) if self.cfg.frames else frames
        return picked.to(self.device, torch.float32)

    def yes_nll(self, frames: torch.Tensor, queries: list[str]) -> torch.Tensor:
        """-log P(answer token | video, query) per query (n,), differentiable w.r.t. frames.

        The shared prefix (system turn and video) is encoded once: one vision pass, one language-model pass
        whose key/value cache (differentiable) every question then attends to; only the n short question
        suffixes run as a batch. Positions come from the model's rope index over the full rows."""
        if not queries:
            raise VlmteachError("yes_nll needs at least one query")
        judged = self.judged_frames(frames)
        pixels, grid = video_inputs(judged, self.spec)
        grid = grid.to(self.device)
        model = self.net.model
        vision = model.get_video_features(pixel_values_videos=pixels.to(self.dtype), video_grid_thw=grid)
        embeds = torch.cat(vision.pooler_output)  # (video tokens, hidden)

        prefix, _ = self.prompt_ids(self.vision_block(grid, video=True, frames=judged.shape[0]), "")
        suffixes = [self.prompt_ids([], self.question(q))[1] for q in queries]
        n, p, width = len(queries), len(prefix), max(len(x) for x in suffixes)
        ids = torch.full((n, p + width), self.pad_id, dtype=torch.long, device=self.device)
        mask = torch.zeros_like(ids)
        ids[:, :p] = torch.tensor(prefix, device=self.device)
        mask[:, :p] = 1
        for i, row in enumerate(suffixes):  # right padding: real tokens never see the pads (causal attention)
            ids[i, p: p + len(row)] = torch.tensor(row, device=self.device)
            mask[i, p: p + len(row)] = 1
        last = torch.tensor([len(x) - 1 for x in suffixes], device=self.device)
        video_mask = ids[:1, :p] == self.ids["<|video_pad|>"]
        if int(video_mask.sum()) != embeds.shape[0]:
            raise VlmteachError(f"{int(video_mask.sum())} video tokens in the prompt for {embeds.shape[0]} video features")
        grids = grid.repeat(n, 1)
        positions, _ = model.get_rope_index(ids, mm_token_type_ids=self.mm_token_types(ids), video_grid_thw=grids,
                                            attention_mask=mask, **self._video_kwargs(grids))

        embed = model.get_input_embeddings()
        hidden = embed(ids[:1, :p]).masked_scatter(video_mask[..., None], embeds.to(self.dtype))
        extra: dict[str, Any] = {}
        if self.kind == "qwen3_vl":  # deepstack: features of early vision layers added to early LM layers at the video tokens
            extra = {"visual_pos_masks": video_mask,
                     "deepstack_visual_embeds": [torch.cat(f).to(self.dtype) for f in vision.deepstack_features]}
        cache = _transformers().DynamicCache(config=model.language_model.config)
        model.language_model(inputs_embeds=hidden, attention_mask=mask[:1, :p], position_ids=positions[:, :1, :p],
                             cache=cache, use_cache=True, **extra)
        cache.batch_repeat_interleave(n)
        out = model.language_model(inputs_embeds=embed(ids[:, p:]), attention_mask=mask, position_ids=positions[:, :, p:],
                                   cache=cache, use_cache=True)
        logits = self.net.lm_head(out.last_hidden_state[torch.arange(n, device=self.device), last]).float()
        self.cost.forwards += 1
        return -logits.log_softmax(-1)[:, self.yes_id].to(frames.device)

    # ---- generation -------------------------------------------------------------------------
    @torch.no_grad()
    def _generate(self, visual: torch.Tensor, text: str) -> str:
        """Greedy answer (special tokens dropped) to `text` about an image (3, H, W) or video (K, 3, H, W)."""
        inputs = self.model_inputs(visual.detach(), text)
        stop = [self.ids["<|im_end|>"]] + ([self.tokenizer.eos_token_id] if self.tokenizer.eos_token_id is not None else [])
        out = self.net.generate(**inputs, max_new_tokens=self.cfg.max_new_tokens, do_sample=False, eos_token_id=stop,
                                pad_token_id=self.pad_id)
        self.generations += 1  # not in cost.forwards: that counts the differentiable judging passes the method pays for
        return self.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)

    def propose_queries(self, first_frame: torch.Tensor, prompt: str) -> QuerySet:
        """Generated queries; a malformed answer is retried once with the error, then the generic queries
        are used and marked (source "generic-fallback")."""
        text = PROPOSE.format(prompt=prompt)
        for _ in range(2):
            answer = self._generate(first_frame, text)
            try:
                return parse_queries(answer)
            except (ValueError, VlmteachError) as exc:
                text = f"{PROPOSE.format(prompt=prompt)}\n{retry_note(exc)}"
        self.fallbacks += 1
        return fallback_queries()

    def rewrite_prompt(self, first_frame: torch.Tensor, prompt: str, feedback: str | None = None) -> str:
        return self._generate(first_frame, rewrite_request(prompt, feedback)).strip() or prompt

    def critique(self, frames: torch.Tensor, prompt: str) -> str:
        shown = sample_frames(frames, self.cfg.frames or CRITIQUE_FRAMES)
        return critique_result(self._generate(shown, CRITIQUE.format(prompt=prompt)))

    # ---- loading ----------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | Path, cfg: QwenVLConfig | None = None, **options: Any) -> QwenVLTeacher:
        """Load from a local folder or the offline Hugging Face cache only (never downloads, never runs
        remote code); `options` are QwenVLConfig fields."""
        cfg = dataclasses.replace(cfg or QwenVLConfig(), **_checked(options))
        transformers = _transformers()
        try:
            with warnings.catch_warnings():  # hub chatter about an offline lookup is not the user's concern
                warnings.simplefilter("ignore")
                config = transformers.AutoConfig.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as exc:
            if not Path(path).exists():
                raise VlmteachError(f"--teacher qwen_vl:{path}: no such folder, and no model of that name in the Hugging "
                                    "Face cache (nothing is downloaded); pass a Qwen2.5-VL or Qwen3-VL folder") from None
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise VlmteachError(f"cannot load a model config from {str(path)!r} offline (a local folder or a model already in "
                                f"the Hugging Face cache is needed): {reason}") from None
        kind = model_class(getattr(config, "model_type", None))
        device = resolve_device(cfg.device)
        dtype = resolve_dtype(cfg.dtype, device)
        model = kind.from_pretrained(str(path), local_files_only=True, dtype=dtype)
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        return cls(model, tokenizer, dataclasses.replace(cfg, device=str(device), dtype=dtype_name(dtype)))


def _checked(options: dict[str, Any]) -> dict[str, Any]:
    """Options restricted to QwenVLConfig fields; an error lists the valid ones."""
    valid = [f.name for f in dataclasses.fields(QwenVLConfig)]
    bad = [k for k in options if k not in valid]
    if bad:
        raise VlmteachError(f"bad qwen_vl option {bad[0]!r}; valid: {', '.join(valid)}")
    return options


def parse_spec(text: str) -> tuple[str, QwenVLConfig]:
    """"PATH[,dtype=bf16,device=cuda,frames=8,max_pixels=...]" -> (path, QwenVLConfig)."""
    return specs.parse_spec(text, QwenVLConfig, "qwen_vl", "a model folder or cached model id, e.g. "
                            "qwen_vl:/models/Qwen3-VL-4B-Instruct,dtype=bf16")


def from_spec(path: str | Path | None) -> QwenVLTeacher:
    """The "qwen_vl" backend: a model in a local folder or the offline cache, `path` = "PATH[,key=value,...]"."""
    if not path:
        raise VlmteachError("qwen_vl needs a model folder or cached model id: qwen_vl:PATH[,dtype=bf16,device=cuda,frames=8]")
    model_path, cfg = parse_spec(str(path))
    return QwenVLTeacher.from_pretrained(model_path, cfg)
