"""The test-time loop, its options and its objectives on the stub models (tests/methods/conftest.py),
whose loss and gradient are written out here: the loop must take exactly the steps these predict.
Milliseconds each, so mutation testing can run them for every mutant."""

from __future__ import annotations

import pytest
import torch

from vlmteach.errors import VlmteachError
from vlmteach.optim import TTOConfig, optimize, optimize_objective
from vlmteach.optim.gradmode import clean_prediction
from vlmteach.optim.loss import frames_loss, query_loss
from vlmteach.optim.objective import ReferenceObjective, TeacherObjective
from vlmteach.optim.step import optimization_step
from vlmteach.optim.tto import PAPER_DEFAULTS, make_optimizer, resolve, teacher_loss
from vlmteach.teachers import QuerySet
from vlmteach.video import Video

from ..methods.conftest import GOAL, PROCESS, StubReasoner, StubTeacher, stub_loss

QUERIES = QuerySet(GOAL, PROCESS)
FIRST = torch.full((3, 2, 2), 0.2)


def setup(seed: int = 3):
    r, t = StubReasoner(), StubTeacher()
    r.add_lora()
    z1 = r.noise(seed)
    cond = r.condition(FIRST, "p")
    return r, t, cond, z1, (FIRST + z1) / 2  # the clean prediction with the fresh (zero) LoRA


def sgd_step(x: torch.Tensor, lr: float) -> torch.Tensor:
    """One SGD step on the stub loss, from its gradient written out: d/dx of
    0.5 mean (x-1)^2 + 0.25 mean x^2 + 0.25 mean (x-0.5)^2 is (2x - 1.25) / N per element."""
    return x - lr * (2 * x - 1.25) / x.numel()


def test_sgd_steps_follow_the_written_out_gradient():
    r, t, cond, z1, x0 = setup()
    cfg = TTOConfig(optimizer="sgd", lr=20.0, fixed_steps=2)
    seen = []
    trace = optimize(r, t, cond, z1, QUERIES, cfg, lambda step, loss: seen.append((step, loss)))
    x1 = sgd_step(x0, 20.0)
    x2 = sgd_step(x1, 20.0)
    assert trace.losses == pytest.approx([stub_loss(x0), stub_loss(x1), stub_loss(x2)], rel=1e-5)
    assert torch.allclose(x0 + r.delta.detach(), x2, atol=1e-6)
    assert seen == [(0, trace.losses[0]), (1, trace.losses[1]), (2, trace.losses[2])]
    assert trace.steps == 2 and trace.stop_reason == "fixed_steps" and trace.queries == [GOAL, *PROCESS]
    goal = float(((x0 - 1) ** 2).mean())
    assert trace.per_query[0] == pytest.approx([goal, float((x0 ** 2).mean()), float(((x0 - 0.5) ** 2).mean())], rel=1e-5)
    assert r.cost.backwards == 2 and t.cost.backwards == 2 and t.cost.forwards == 3


def test_the_first_adam_step_moves_each_element_by_lr_against_its_gradient_sign():
    r, t, cond, z1, x0 = setup()
    optimize(r, t, cond, z1, QUERIES, TTOConfig(optimizer="adam", lr=0.01, fixed_steps=1))
    expected = -0.01 * torch.sign(2 * x0 - 1.25)
    assert torch.allclose(r.delta.detach(), expected, atol=1e-6)


@pytest.mark.parametrize("name, cls", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)])
def test_make_optimizer(name, cls):
    p = [torch.nn.Parameter(torch.zeros(2))]
    opt = make_optimizer(p, TTOConfig(optimizer=name, lr=0.25))
    assert type(opt) is cls and opt.param_groups[0]["lr"] == 0.25 and opt.param_groups[0]["params"] == p


def test_adamw_decays_where_adam_does_not():
    deltas = {}
    for name in ("adam", "adamw"):
        r, t, cond, z1, _ = setup()
        optimize(r, t, cond, z1, QUERIES, TTOConfig(optimizer=name, lr=0.1, fixed_steps=2))
        deltas[name] = r.delta.detach().clone()
    assert not torch.allclose(deltas["adam"], deltas["adamw"], atol=1e-7)


def test_tau_stops_at_the_first_loss_at_or_below_it():
    for tau, steps, reason in [(None, 0, "tau"), (-1e-6, 3, "max_steps"), (1e-6, 0, "tau")]:
        r, t, cond, z1, x0 = setup()
        first = stub_loss(x0)
        # the stub loss in float32, as the loop computes it: tau exactly at the first loss stops
        exact = float(TeacherObjective(t, QUERIES)(r.decode_light(r.one_step(z1, cond)))[0].detach())
        cfg = TTOConfig(optimizer="sgd", lr=1e-9, max_steps=3, tau=exact + (tau or 0.0))
        trace = optimize(r, t, cond, z1, QUERIES, cfg)
        assert trace.steps == steps and trace.stop_reason == reason, (tau, trace)
        assert trace.losses[0] == pytest.approx(first, rel=1e-5)


def test_fixed_steps_ignores_tau_and_overrides_max_steps():
    r, t, cond, z1, _ = setup()
    trace = optimize(r, t, cond, z1, QUERIES, TTOConfig(optimizer="sgd", lr=1.0, tau=1e6, fixed_steps=2, max_steps=5))
    assert trace.steps == 2 and trace.stop_reason == "fixed_steps" and len(trace.losses) == 3
    r, t, cond, z1, _ = setup()
    trace = optimize(r, t, cond, z1, QUERIES, TTOConfig(optimizer="sgd", lr=1.0, tau=0.0, max_steps=0))
    assert trace.steps == 0 and trace.stop_reason == "max_steps" and len(trace.losses) == 1


def test_the_loop_samples_with_the_configured_steps():
    r, t, cond, z1, _ = setup()
    r.log.clear()
    optimize(r, t, cond, z1, QUERIES, TTOConfig(optimizer="sgd", lr=1.0, fixed_steps=1, grad="last-step", sample_steps=2))
    assert r.log == [("sample", 2), ("sample", 2)]


def test_the_loop_judges_noisy_frames_when_asked():
    r, t, cond, z1, x0 = setup()
    trace = optimize(r, t, cond, z1, QUERIES, TTOConfig(optimizer="sgd", lr=1.0, fixed_steps=0, noise=0.1))
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))  # seed 0, call 0
    assert trace.losses[0] == pytest.approx(stub_loss(x0 + 0.1 * noise), rel=1e-5)


def test_clip_bounds_the_gradient_norm_of_each_step():
    r, t, cond, z1, x0 = setup()
    optimize(r, t, cond, z1, QUERIES, TTOConfig(optimizer="sgd", lr=1.0, fixed_steps=1, clip=1e-3))
    assert float(r.delta.detach().norm()) == pytest.approx(1e-3, rel=1e-4)
    grad_norm = float(((2 * x0 - 1.25) / x0.numel()).norm())
    assert grad_norm > 1e-3  # so the clip did act


def test_the_loop_needs_a_lora():
    r, t, cond, z1, _ = setup()
    r.drop_lora()
    with pytest.raises(VlmteachError) as err:
        optimize(r, t, cond, z1, QUERIES, TTOConfig(lr=1.0))
    assert str(err.value) == "the reasoner has no LoRA; call reasoner.add_lora() before optimize()"


def test_unset_options_take_the_reasoner_recommendation_then_the_paper():
    r = StubReasoner()  # recommends lr 0.5 and max_steps 4
    cfg = resolve(TTOConfig(), r)
    assert (cfg.lr, cfg.max_steps, cfg.grad) == (0.5, 4, "first-step")
    assert PAPER_DEFAULTS == {"lr": 5e-5, "max_steps": 40, "grad": "first-step", "select": "last", "init_k": 1,
                              "stall_samples": 0, "noises": "fixed"}
    given = resolve(TTOConfig(lr=0.1, max_steps=7, grad="full-chain"), r)
    assert (given.lr, given.max_steps, given.grad) == (0.1, 7, "full-chain")


def test_rolling_takes_its_own_defaults_then_the_reasoners_rolling_recommendation():
    r = StubReasoner()
    rolled = resolve(TTOConfig(noises="rolling"), r)
    assert (rolled.noises, rolled.lr, rolled.max_steps) == ("rolling", 0.5, 4)  # recommended_tto still applies
    r.recommended_rolling = {"lr": 0.2}
    assert resolve(TTOConfig(noises="rolling"), r).lr == 0.2
    assert resolve(TTOConfig(noises="rolling", lr=0.3), r).lr == 0.3  # what the user sets wins
    assert resolve(TTOConfig(), r).lr == 0.5  # the rolling recommendation is for the rolling loop alone
    r.recommended_tto = {**r.recommended_tto, "noises": "rolling"}
    assert resolve(TTOConfig(), r).lr == 0.2  # ... whichever way the noises resolve to rolling
    with pytest.raises(VlmteachError, match="unknown noises 'moving'; valid: fixed, rolling"):
        TTOConfig(noises="moving")


@pytest.mark.parametrize("mode, call, grads", [("first-step", ("one_step", None), []),
                                               ("last-step", ("sample", 2), ["last"]),
                                               ("full-chain", ("sample", 2), ["all"])])
def test_clean_prediction_runs_what_the_mode_says(mode, call, grads):
    r, t, cond, z1, x0 = setup()
    r.log.clear()
    out = clean_prediction(r, z1, cond, mode, steps=2)
    assert r.log == [call] and r.grads == grads and torch.allclose(out, x0)
    assert out.requires_grad  # the LoRA is in the graph in every mode


def test_teacher_loss_resolves_the_config_and_passes_the_sampler_steps():
    r, t, cond, z1, x0 = setup()
    r.log.clear()
    loss, nll = teacher_loss(r, t, cond, z1, QUERIES, TTOConfig(grad="last-step", sample_steps=2, frames=4))
    assert r.log == [("sample", 2)] and t.log == [("yes_nll", 4)]
    from vlmteach.video import sample_frames

    assert float(loss.detach()) == pytest.approx(stub_loss(sample_frames(x0, 4)), rel=1e-5) and nll.shape == (3,)
    r.log.clear()
    teacher_loss(r, t, cond, z1, QUERIES, TTOConfig())  # grad None: the paper's first-step
    assert r.log == [("one_step", None)]


@pytest.mark.parametrize("options, message", [
    ({"grad": "sideways"}, "unknown gradient mode 'sideways'; valid: first-step, last-step, full-chain"),
    ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'; valid: adam, adamw, sgd"),
    ({"rank": 0}, "rank and frames must be >= 1, max_steps >= 0 and lr > 0"),
    ({"frames": 0}, "rank and frames must be >= 1"),
    ({"max_steps": -1}, "rank and frames must be >= 1"),
    ({"lr": 0.0}, "rank and frames must be >= 1"),
    ({"noise": -0.1}, "noise must be >= 0, got -0.1"),
    ({"final_scale": -1.0}, "final_scale must be >= 0, got -1.0"),
    ({"clip": 0.0}, "clip must be > 0 or None, got 0.0"),
    ({"fixed_steps": -1}, "fixed_steps must be >= 0 or None, got -1"),
])
def test_bad_loop_options_name_what_is_valid(options, message):
    with pytest.raises(VlmteachError) as err:
        TTOConfig(**options)
    assert message in str(err.value)


def test_boundary_options_are_accepted():
    cfg = TTOConfig(rank=1, frames=1, max_steps=0, lr=1e-12, noise=0.0, final_scale=0.0, clip=1e-9, fixed_steps=0)
    assert cfg.fixed_steps == 0


# ---- objectives, the loss and one step --------------------------------------------------------


def test_query_loss_weights_and_checks_its_input():
    nll = torch.tensor([1.0, 2.0, 4.0])
    assert float(query_loss(nll, QuerySet(GOAL, PROCESS, lam=0.25))) == pytest.approx(0.25 + 0.75 * 3.0)
    with pytest.raises(ValueError, match=r"expected one NLL per query \(3\), got shape \(2,\)"):
        query_loss(nll[:2], QUERIES)


def test_frames_loss_judges_k_uniform_frames():
    t = StubTeacher()
    frames = torch.arange(6.0).view(6, 1, 1, 1).expand(6, 3, 2, 2) / 10
    loss, nll = frames_loss(t, frames, QUERIES, k=3)
    picked = frames[[0, 2, 5]]  # round(linspace(0, 5, 3)) = 0, 2 (2.5 rounds to even), 5
    assert t.log == [("yes_nll", 3)] and float(loss) == pytest.approx(stub_loss(picked), rel=1e-6)


def test_teacher_objective_adds_seeded_noise_per_call_and_books_backwards():
    t = StubTeacher()
    frames = torch.full((6, 3, 2, 2), 0.5)
    plain = TeacherObjective(t, QUERIES, frames=24)
    assert float(plain(frames)[0]) == pytest.approx(stub_loss(frames), rel=1e-6)
    noisy = TeacherObjective(t, QUERIES, frames=24, noise=0.1, seed=7)
    got = [float(noisy(frames)[0]) for _ in range(3)]
    g = lambda call: torch.Generator().manual_seed(7 * 1000 + call)  # noqa: E731
    expected = [stub_loss(frames + 0.1 * torch.randn(frames.shape, generator=g(c))) for c in (0, 1, 2)]
    assert got == pytest.approx(expected, rel=1e-5) and len(set(got)) == 3
    TeacherObjective(t, QUERIES, frames=4)(torch.rand(6, 3, 2, 2))
    assert t.log[-1] == ("yes_nll", 4)
    assert noisy.names == [GOAL, *PROCESS]
    noisy.count_backward()
    assert t.cost.backwards == 1


def test_reference_objective_terms_and_weights():
    ref = Video(torch.linspace(0, 1, 4).view(4, 1, 1, 1).expand(4, 3, 2, 2).contiguous())
    frames = torch.zeros(2, 3, 2, 2)
    loss, terms = ReferenceObjective(ref, final_weight=2.0, video_weight=3.0)(frames)
    final = 1.0  # last reference frame is all ones
    video = (0.0 + 1.0) / 2  # frames at relative times 0 and 1: reference frames 0 (zeros) and 3 (ones)
    assert terms.tolist() == pytest.approx([final, video]) and float(loss) == pytest.approx(2 * final + 3 * video)
    single = ReferenceObjective(Video(ref.frames[-1:]), final_weight=2.0, video_weight=3.0)
    loss, terms = single(frames)
    assert terms.tolist() == pytest.approx([1.0, 0.0]) and float(loss) == pytest.approx(2.0)
    with pytest.raises(VlmteachError, match="oracle weights must be >= 0 and not both 0; got final 0.0, video 0.0"):
        ReferenceObjective(ref, 0.0, 0.0)
    with pytest.raises(VlmteachError, match="got final -1.0, video 2.0"):
        ReferenceObjective(ref, -1.0, 2.0)
    with pytest.raises(VlmteachError, match="got final 2.0, video -1.0"):
        ReferenceObjective(ref, 2.0, -1.0)
    ReferenceObjective(ref, 0.0, 1.0)  # one of them zero is fine
    ReferenceObjective(ref, 1.0, 1.0)
    two = ReferenceObjective(Video(ref.frames[-2:]), final_weight=0.0, video_weight=1.0)
    assert two.video_weight == 1.0 and float(two(frames)[1][1]) > 0  # two frames are a video


def test_optimization_step_scores_then_steps_and_books_both_backwards():
    r, t, cond, z1, x0 = setup()
    opt = torch.optim.SGD(r.lora_parameters(), lr=20.0)
    result = optimization_step(r, t, cond, z1, QUERIES, opt, frames=24)
    assert result.loss == pytest.approx(stub_loss(x0), rel=1e-5) and len(result.per_query) == 3
    assert t.log[-1] == ("yes_nll", 6)
    assert torch.allclose(x0 + r.delta.detach(), sgd_step(x0, 20.0), atol=1e-6)
    assert (r.cost.backwards, t.cost.backwards) == (1, 1)
    optimization_step(r, t, cond, z1, QUERIES, opt, frames=3)
    assert t.log[-1] == ("yes_nll", 3)
    assert (r.cost.backwards, t.cost.backwards) == (2, 2)
    r.delta.data.zero_()
    opt = torch.optim.SGD(r.lora_parameters(), lr=20.0)
    optimization_step(r, t, cond, z1, QUERIES, opt, frames=24)
    optimization_step(r, t, cond, z1, QUERIES, opt, frames=24)
    assert torch.allclose(x0 + r.delta.detach(), sgd_step(sgd_step(x0, 20.0), 20.0), atol=1e-6)
    assert (r.cost.backwards, t.cost.backwards) == (4, 4)


def test_optimize_objective_books_no_teacher_backward_for_a_reference_objective():
    r, t, cond, z1, x0 = setup()
    objective = ReferenceObjective(Video(torch.ones(6, 3, 2, 2)), final_weight=1.0, video_weight=0.0)
    trace = optimize_objective(r, objective, cond, z1, TTOConfig(optimizer="sgd", lr=1.0, fixed_steps=1))
    assert trace.queries == ["final_frame_mse", "video_mse"] and trace.steps == 1
    assert (r.cost.backwards, t.cost.backwards) == (1, 0)


def test_reference_objective_compares_at_the_prediction_size_by_area_averaging():
    ref = torch.zeros(1, 3, 4, 4)
    ref[..., 0, 0] = 1.0  # one white pixel: at 2 x 2, the top-left pixel averages it to 0.25
    frames = torch.zeros(2, 3, 2, 2)
    loss, terms = ReferenceObjective(Video(ref), final_weight=1.0, video_weight=1.0)(frames)
    assert terms.tolist() == pytest.approx([0.25 ** 2 / 4, 0.0]) and float(loss) == pytest.approx(0.25 ** 2 / 4)
