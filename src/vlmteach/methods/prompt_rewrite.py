"""prompt_rewrite ("PE", VLM-as-Solver): the teacher rewrites the instruction, then one sample.

With the tiny teacher the rewrite is a rule-book template (it cannot generate text); real
generating teachers (qwen_vl, openai_chat) write their own."""

from __future__ import annotations

from dataclasses import dataclass

from vlmteach.methods.base import Method, MethodResult, Problem
from vlmteach.methods.common import full_sample
from vlmteach.methods.cost import CostMeter
from vlmteach.methods.vanilla import VanillaConfig


@dataclass
class PromptRewriteConfig(VanillaConfig):
    pass


class PromptRewrite(Method):
    name = "prompt_rewrite"
    config_class = PromptRewriteConfig

    def run(self, reasoner, teacher, problem: Problem, progress=None) -> MethodResult:
        with CostMeter(reasoner, teacher) as meter:
            prompt = teacher.rewrite_prompt(problem.first_frame, problem.prompt)
            cond = reasoner.condition(problem.first_frame, prompt)
            video = full_sample(reasoner, cond, problem.seed, self.config.steps)
        return MethodResult(video, meter.cost, 0, {"prompt": prompt, "noise_seed": problem.seed})
