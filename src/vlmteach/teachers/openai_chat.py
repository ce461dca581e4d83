"""A query writer behind any OpenAI-compatible chat endpoint (vLLM, SGLang, Ollama, hosted APIs).

It proposes the goal and process queries, rewrites prompts and critiques videos, with images sent
inline as PNG data URLs. It cannot score frames differentiably, so the method's reward comes from
a local teacher: combine the two with `WriterJudge` (teachers/compose.py), on the command line
`--query-writer openai_chat:URL,model=NAME --teacher tiny`.

The API key is read from the environment only (`OPENAI_API_KEY`, or the variable named by
`api_key_env`) and never logged or written to a run folder."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import torch
from PIL import Image

from vlmteach import specs
from vlmteach.errors import VlmteachError
from vlmteach.teachers.base import QuerySet, Teacher
from vlmteach.teachers.query_json import (CRITIQUE, PROPOSE, critique_result, fallback_queries, parse_queries, retry_note,
                                         rewrite_request)
from vlmteach.video import sample_frames, to_uint8


@dataclass
class ChatConfig:
    url: str = ""  # base URL of the API, e.g. http://127.0.0.1:8000/v1
    model: str = "default"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 60.0
    retries: int = 3  # after the first attempt, on timeouts, connection errors, 429 and 5xx
    backoff_s: float = 1.0  # doubled after each retry
    max_tokens: int = 512
    temperature: float = 0.0
    frames: int = 8  # frames sent with a critique


def image_url(image: torch.Tensor) -> str:
    """A (3, H, W) image in [0, 1] as a PNG data URL."""
    buf = io.BytesIO()
    Image.fromarray(to_uint8(image[None])[0]).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


class OpenAIChatWriter(Teacher):
    """Writes queries, rewrites prompts and critiques videos through a chat endpoint."""

    name = "openai_chat"
    can_generate = True

    def __init__(self, cfg: ChatConfig):
        super().__init__()
        self.cfg = cfg
        self.requests = 0
        self.fallbacks = 0

    # ---- HTTP -------------------------------------------------------------------------------
    def chat(self, content: list[dict]) -> str:
        """One user message (text and image parts) -> the assistant's text, with retries."""
        body = json.dumps({"model": self.cfg.model, "max_tokens": self.cfg.max_tokens,
                           "temperature": self.cfg.temperature,
                           "messages": [{"role": "user", "content": content}]}).encode()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.cfg.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = self.cfg.url.rstrip("/") + "/chat/completions"
        delay, last = self.cfg.backoff_s, ""
        for attempt in range(self.cfg.retries + 1):
            if attempt:
                time.sleep(delay)
                delay *= 2
            self.requests += 1
            try:
                req = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.cfg.timeout_s) as resp:
                    return json.loads(resp.read())["choices"][0]["message"]["content"]
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code != 429 and exc.code < 500:
                    raise VlmteachError(f"{url}: {last} ({exc.reason}); check the URL, model and API key") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            except (KeyError, IndexError, json.JSONDecodeError):
                last = "a response that is not a chat completion"
        raise VlmteachError(f"{url}: no answer after {self.cfg.retries + 1} attempts (last: {last})")

    # ---- Teacher ----------------------------------------------------------------------------
    def propose_queries(self, first_frame: torch.Tensor, prompt: str) -> QuerySet:
        """Generated queries; a malformed answer is retried once with the error, then the generic
        queries are used and marked (source "generic-fallback")."""
        content = [{"type": "text", "text": PROPOSE.format(prompt=prompt)},
                   {"type": "image_url", "image_url": {"url": image_url(first_frame)}}]
        for _ in range(2):
            answer = self.chat(content)
            try:
                return parse_queries(answer)
            except (ValueError, VlmteachError) as exc:
                content = [*content[:2], {"type": "text", "text": retry_note(exc)}]
        self.fallbacks += 1
        return fallback_queries()

    def yes_nll(self, frames: torch.Tensor, queries: list[str]) -> torch.Tensor:
        raise VlmteachError("an OpenAI-compatible endpoint gives no differentiable likelihood; use it as "
                            "--query-writer together with a local --teacher")

    def rewrite_prompt(self, first_frame: torch.Tensor, prompt: str, feedback: str | None = None) -> str:
        content = [{"type": "text", "text": rewrite_request(prompt, feedback)},
                   {"type": "image_url", "image_url": {"url": image_url(first_frame)}}]
        return self.chat(content).strip() or prompt

    def critique(self, frames: torch.Tensor, prompt: str) -> str:
        picked = sample_frames(frames, min(self.cfg.frames, frames.shape[0]))
        content = [{"type": "text", "text": CRITIQUE.format(prompt=prompt)},
                   *({"type": "image_url", "image_url": {"url": image_url(f)}} for f in picked)]
        return critique_result(self.chat(content))


def parse_spec(rest: str) -> ChatConfig:
    """"URL[,model=NAME][,timeout_s=60]..." -> ChatConfig."""
    url, cfg = specs.parse_spec(rest, ChatConfig, "openai_chat", "a base URL like http://127.0.0.1:8000/v1", skip=("url",))
    if not url.startswith(("http://", "https://")):
        raise VlmteachError(f"openai_chat needs a base URL like http://127.0.0.1:8000/v1, got {url!r}")
    return dataclasses.replace(cfg, url=url)


def from_spec(path: str | None) -> OpenAIChatWriter:
    """The "openai_chat" backend: a query writer at `path` = "URL[,model=NAME,...]"."""
    if not path:
        raise VlmteachError("openai_chat needs a URL: openai_chat:http://HOST:PORT/v1[,model=NAME]")
    return OpenAIChatWriter(parse_spec(str(path)))
