"""How well a teacher's *gradient* points where the ground truth lies: what the test-time loop uses.

bench/judge.py measures the teacher's ranking, which best-of-N lives on. The loop instead follows
the gradient of the teacher's loss through a fresh LoRA, and a judge can rank finished samples well
while its gradient at the loop's view points elsewhere. Here, at the loop's first iterate (the
method's fresh LoRA, its grad mode and light-decoded view), the teacher's loss is compared with the
privileged reference loss of oracle_tto (optim/objective.py, ReferenceObjective):
- `lora_cos`: cosine between the two losses' gradients w.r.t. the LoRA parameters, the direction the
  loop actually moves in;
- `pixel_cos`: the same w.r.t. the view's pixels, before the reasoner's Jacobian filters it;
- `step_efficiency`: how far one optimizer step on the teacher's loss lowers the reference loss, as
  a share of what one step on the reference loss itself does (1: as good as the oracle's step; 0: no
  progress; negative: away from the ground truth).
The ground truth is one right video; where a task allows several (a route among equal ones), or
where progress shows in rules more than in pixels, the oracle's direction is a reference, not the
only right one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from vlmteach.optim.gradmode import clean_prediction
from vlmteach.optim.objective import Objective
from vlmteach.methods.teacher_tto import add_fresh_lora
from vlmteach.optim.tto import TTOConfig, clipped_step, make_optimizer, resolve
from vlmteach.reasoners import Reasoner


@dataclass
class GradientAlignment:
    """One (instance, noise): the cosines and the step efficiency defined in the module docstring,
    and the reference loss before and after each step."""

    lora_cos: float
    pixel_cos: float
    step_efficiency: float
    reference_loss: float
    after_teacher_step: float
    after_reference_step: float

    def to_json(self) -> dict:
        return asdict(self)


def _cos(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    flat_a, flat_b = torch.cat([x.flatten() for x in a]), torch.cat([x.flatten() for x in b])
    return float(F.cosine_similarity(flat_a, flat_b, dim=0, eps=1e-20))


def _view(reasoner: Reasoner, z1: torch.Tensor, cond, cfg: TTOConfig) -> torch.Tensor:
    """What the loop judges: the light-decoded clean prediction of cfg's gradient mode."""
    return reasoner.decode_light(clean_prediction(reasoner, z1, cond, cfg.grad, cfg.sample_steps))


def _loss_after_step(reasoner: Reasoner, params: list[torch.nn.Parameter], grads: tuple[torch.Tensor, ...],
                     cfg: TTOConfig, z1: torch.Tensor, cond, reference: Objective) -> float:
    """The reference loss of the view after one step of the loop's optimizer (its clipping
    included, optim/tto.py clipped_step) along `grads`; the LoRA is put back as it was."""
    saved = [p.detach().clone() for p in params]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    clipped_step(make_optimizer(params, cfg), params, cfg)
    with torch.no_grad():
        after = float(reference(_view(reasoner, z1, cond, cfg))[0])
        for p, s in zip(params, saved):
            p.copy_(s)
            p.grad = None
    return after


def gradient_alignment(reasoner: Reasoner, teacher_objective: Objective, reference: Objective, cond,
                       z1: torch.Tensor, cfg: TTOConfig, lora_seed: int) -> GradientAlignment:
    """Compare the two objectives' gradients at the loop's first iterate from noise `z1`: a fresh
    LoRA (its random init seeded by `lora_seed`, as teacher_tto seeds it by the problem), the view of
    `cfg.grad`, one step of `cfg`'s optimizer. The LoRA is dropped after."""
    cfg = resolve(cfg, reasoner)
    add_fresh_lora(reasoner, cfg, lora_seed)
    try:
        params = reasoner.lora_parameters()
        with torch.enable_grad():
            view = _view(reasoner, z1, cond, cfg)
            teacher_loss, reference_loss = teacher_objective(view)[0], reference(view)[0]
            *g_teacher, px_teacher = torch.autograd.grad(teacher_loss, [*params, view], retain_graph=True)
            *g_reference, px_reference = torch.autograd.grad(reference_loss, [*params, view])
        before = float(reference_loss.detach())
        after_t = _loss_after_step(reasoner, params, tuple(g_teacher), cfg, z1, cond, reference)
        after_r = _loss_after_step(reasoner, params, tuple(g_reference), cfg, z1, cond, reference)
    finally:
        reasoner.drop_lora()
    gain = before - after_r
    return GradientAlignment(_cos(g_teacher, g_reference), _cos([px_teacher], [px_reference]),
                             (before - after_t) / gain if gain > 0 else float("nan"), before, after_t, after_r)
