"""A query writer and a judge as one Teacher: the writer (e.g. a VLM behind an OpenAI-compatible
server) proposes queries, rewrites prompts and critiques; the judge (a local, differentiable VLM or
the tiny teacher) gives the "Yes" likelihoods the method optimizes."""

from __future__ import annotations

import torch

from vlmteach.teachers.base import QuerySet, Teacher


class WriterJudge(Teacher):
    def __init__(self, writer: Teacher, judge: Teacher):
        super().__init__()
        self.writer, self.judge = writer, judge
        self.name = f"{writer.name}+{judge.name}"
        self.can_generate = writer.can_generate
        self.cost = judge.cost  # the judge's forwards and backwards are the method's cost

    def propose_queries(self, first_frame: torch.Tensor, prompt: str) -> QuerySet:
        return self.writer.propose_queries(first_frame, prompt)

    def yes_nll(self, frames: torch.Tensor, queries: list[str]) -> torch.Tensor:
        return self.judge.yes_nll(frames, queries)

    def rewrite_prompt(self, first_frame: torch.Tensor, prompt: str, feedback: str | None = None) -> str:
        return self.writer.rewrite_prompt(first_frame, prompt, feedback)

    def critique(self, frames: torch.Tensor, prompt: str) -> str:
        return self.writer.critique(frames, prompt)
