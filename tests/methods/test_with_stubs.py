"""The methods on stub models (tests/methods/conftest.py): what each asks of the reasoner and the
teacher, and what it returns, against expectations computed here from the stubs' written-out rules.
They run in milliseconds, so they also serve as the fast selection for mutation testing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlmteach.errors import VlmteachError
from vlmteach.methods import Problem, make_method, parse_sets
from vlmteach.methods.common import candidate_seed, lora_scaled, teacher_loss_of
from vlmteach.video import Video, sample_frames
from vlmteach.methods.cost import Cost, CostMeter
from vlmteach.methods.registry import is_upper_bound, method_names

from .conftest import GOAL, PROCESS, StubReasoner, StubTeacher, stub_loss

FIRST = torch.full((3, 2, 2), 0.2)


def expected_frames(seed: int, prompt: str = "p") -> torch.Tensor:
    """The stub reasoner's video for a seed and prompt with no LoRA, computed from its rule."""
    z1 = torch.rand((6, 3, 2, 2), generator=torch.Generator().manual_seed(seed))
    return ((FIRST + 0.05 * prompt.count("/") + z1) / 2).clamp(0, 1)


def problem(seed: int = 11, **kw) -> Problem:
    return Problem(FIRST, "p", seed, **kw)


def calls(model, name: str) -> list:
    return [c[1:] if len(c) > 2 else c[1] for c in model.log if c[0] == name]


# ---- registry ---------------------------------------------------------------------------------


def test_method_names_in_cli_order():
    assert method_names() == ["vanilla", "best_of_n", "pass_at_n", "prompt_rewrite", "tpo", "teacher_tto", "oracle_tto"]


@pytest.mark.parametrize("label, expected", [
    ("pass_at_n", True), ("oracle_tto[lr=1e-3]", True), (" pass_at_n [n=2]", True),
    ("oracle_tto[final_weight=1,video_weight=0]", True), ("oracle_tto[x=[1]]", True),
    ("teacher_tto", False), ("best_of_n[n=5]", False), ("vanilla", False), ("magic", False), ("", False),
])
def test_is_upper_bound(label, expected):
    assert is_upper_bound(label) is expected


def test_parse_sets_splits_at_the_first_dot_and_the_first_equals():
    assert parse_sets([]) == {}
    assert parse_sets(["teacher_tto.lr=1e-3", "teacher_tto.tau=0", " best_of_n.n =auto"]) == {
        "teacher_tto": {"lr": "1e-3", "tau": "0"}, "best_of_n": {"n": "auto"}}
    assert parse_sets(["tpo.a=b=c"]) == {"tpo": {"a": "b=c"}}  # the value keeps its "="
    assert parse_sets(["tpo.a.b=1"]) == {"tpo": {"a.b": "1"}}  # the option keeps its "."


@pytest.mark.parametrize("item", ["lr=1e-3", "teacher_tto.=1", "teacher_tto.lr", "teacher_tto", ".lr=1"])
def test_parse_sets_refuses_what_is_not_method_key_value(item):
    with pytest.raises(VlmteachError) as err:
        parse_sets([item])
    if item == ".lr=1":  # well formed, but the method is empty: unknown
        assert str(err.value).startswith(f"--set {item!r}: unknown method ''; valid: vanilla, best_of_n, ")
    else:
        assert str(err.value) == f"--set {item!r}: expected METHOD.KEY=VALUE, e.g. teacher_tto.lr=1e-3"


def test_parse_sets_names_an_unknown_method_and_the_valid_ones():
    with pytest.raises(VlmteachError) as err:
        parse_sets(["magic.lr=1"])
    assert str(err.value) == ("--set 'magic.lr=1': unknown method 'magic'; valid: vanilla, best_of_n, pass_at_n, "
                              "prompt_rewrite, tpo, teacher_tto, oracle_tto")


def test_make_method_names_the_method_and_key_of_a_bad_option():
    with pytest.raises(VlmteachError) as err:
        make_method("tpo", {"rounds": "0"})
    assert str(err.value) == "tpo.rounds: tpo.rounds must be >= 1, got 0"
    with pytest.raises(VlmteachError) as err:
        make_method("magic")
    assert str(err.value).startswith("unknown method 'magic'; valid: vanilla, best_of_n")
    assert make_method("tpo", {"rounds": "1", "frames": "2"}).config.rounds == 1


# ---- common pieces ----------------------------------------------------------------------------


def test_candidate_seed_zero_is_the_problem_seed_and_others_are_spread_31_bit_seeds():
    assert candidate_seed(11, 0) == 11
    seeds = [candidate_seed(11, i) for i in range(1, 6)]
    expected = [int(np.random.SeedSequence([11, i]).generate_state(1)[0]) // 2 for i in range(1, 6)]
    assert seeds == expected and len(set(seeds)) == 5 and all(0 <= s < 2**31 for s in seeds)
    assert candidate_seed(12, 1) != candidate_seed(11, 1)


def test_lora_scaled_scales_each_factor_by_the_root_and_restores_exactly():
    r = StubReasoner()
    r.add_lora()
    r.delta.data.fill_(0.8)
    with lora_scaled(r, 0.25):
        assert torch.allclose(r.delta.data, torch.full_like(r.delta, 0.4))
    assert torch.equal(r.delta.data, torch.full_like(r.delta, 0.8))
    with pytest.raises(RuntimeError), lora_scaled(r, 0.0):
        assert float(r.delta.data.abs().max()) == 0.0
        raise RuntimeError("restored even so")
    assert torch.equal(r.delta.data, torch.full_like(r.delta, 0.8))
    with lora_scaled(r, 1.0):
        assert torch.equal(r.delta.data, torch.full_like(r.delta, 0.8))


def test_teacher_loss_of_is_the_weighted_nll_of_k_frames():
    t = StubTeacher()
    frames = torch.rand(6, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    from vlmteach.teachers import QuerySet
    from vlmteach.video import Video

    loss, per = teacher_loss_of(t, Video(frames), QuerySet(GOAL, PROCESS, lam=0.3), frames=4)
    assert calls(t, "yes_nll") == [4]
    from vlmteach.video import sample_frames

    k = sample_frames(frames, 4)
    assert loss == pytest.approx(stub_loss(k, 0.3), rel=1e-6)
    assert per == pytest.approx([float(((k - v) ** 2).mean()) for v in (1.0, 0.0, 0.5)], rel=1e-6)


# ---- cost -------------------------------------------------------------------------------------


def test_cost_meter_counts_only_what_ran_inside_it(monkeypatch):
    import vlmteach.methods.cost as cost_module

    r, t = StubReasoner(), StubTeacher()
    r.cost.forwards, r.cost.backwards, t.cost.forwards, t.cost.backwards = 5, 4, 3, 2
    ticks = iter([10.0, 12.5])
    monkeypatch.setattr(cost_module.time, "perf_counter", lambda: next(ticks))
    with CostMeter(r, t) as meter:
        r.cost.forwards += 7
        r.cost.backwards += 1
        t.cost.forwards += 2
        t.cost.backwards += 3
    c = meter.cost
    assert (c.wall_s, c.reasoner_forwards, c.reasoner_backwards, c.teacher_forwards, c.teacher_backwards) == (2.5, 7, 1, 2, 3)
    if not torch.cuda.is_available():
        import resource

        assert c.peak_mem_kind == "process-rss"
        assert c.peak_mem_mb == pytest.approx(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rel=0.05)


def test_cost_to_dict():
    assert Cost(1.5, 2, 3, 4, 5, 6.0, "cuda-allocated").to_dict() == {
        "wall_s": 1.5, "reasoner_forwards": 2, "reasoner_backwards": 3, "teacher_forwards": 4,
        "teacher_backwards": 5, "peak_mem_mb": 6.0, "peak_mem_kind": "cuda-allocated"}


# ---- vanilla and prompt_rewrite ---------------------------------------------------------------


def test_vanilla_is_one_sample_from_the_problem_noise(stubs):
    r, t = stubs
    result = make_method("vanilla").run(r, t, problem(11))
    assert torch.equal(result.video.frames, expected_frames(11))
    assert calls(r, "noise") == [11] and calls(r, "sample") == [3] and calls(r, "condition") == ["p"]
    assert result.trace == {"noise_seed": 11} and result.steps == 0
    assert result.cost.reasoner_forwards == 3 and result.cost.teacher_forwards == 0
    make_method("vanilla", {"steps": "1"}).run(r, t, problem(11))
    assert calls(r, "sample")[-1] == 1
    with pytest.raises(VlmteachError) as err:
        make_method("vanilla", {"steps": "0"})
    assert "vanilla.steps must be >= 1, got 0" in str(err.value)


def test_prompt_rewrite_samples_from_the_teacher_prompt(stubs):
    r, t = stubs
    result = make_method("prompt_rewrite", {"steps": "2"}).run(r, t, problem(11))
    (first, prompt, feedback), = calls(t, "rewrite")
    assert first is FIRST and prompt == "p" and feedback is None
    assert calls(r, "condition") == ["p / clearer"] and calls(r, "sample") == [2]
    assert torch.equal(result.video.frames, expected_frames(11, "p / clearer"))
    assert result.trace == {"prompt": "p / clearer", "noise_seed": 11}
    assert result.steps == 0 and result.cost.reasoner_forwards == 2 and result.cost.wall_s > 0


# ---- best_of_n / pass_at_n --------------------------------------------------------------------


def test_best_of_n_keeps_the_candidate_the_teacher_scores_best(stubs):
    r, t = stubs
    seen = []
    result = make_method("best_of_n", {"n": "4", "frames": "24", "steps": "2"}).run(
        r, t, problem(11), progress=lambda i, v: seen.append((i, v)))
    seeds = [candidate_seed(11, i) for i in range(4)]
    losses = [stub_loss(expected_frames(s)) for s in seeds]
    best = int(np.argmin(losses))
    assert calls(r, "noise") == seeds and calls(r, "sample") == [2] * 4
    assert result.trace["values"] == pytest.approx([-v for v in losses], rel=1e-6)
    assert result.trace["chosen"] == best and torch.equal(result.video.frames, expected_frames(seeds[best]))
    assert result.trace["noise_seeds"] == seeds and result.trace["n"] == 4
    assert result.trace["selector"] == "teacher" and result.trace["queries"] == [GOAL, *PROCESS]
    assert "budget_s" not in result.trace
    assert [i for i, _ in seen] == [0, 1, 2, 3] and [v for _, v in seen] == pytest.approx(losses, rel=1e-6)
    (first, prompt), = [c[:2] for c in calls(t, "propose")]
    assert first is FIRST and prompt == "p"
    assert result.cost.teacher_forwards == 4 and result.cost.reasoner_forwards == 8


def test_pass_at_n_can_keep_an_early_candidate(stubs):
    r, t = stubs
    vanilla = expected_frames(11)
    scorer = lambda v: 1.0 if torch.allclose(v.frames, vanilla) else 0.0  # noqa: E731
    result = make_method("pass_at_n", {"n": "3"}).run(r, t, problem(11, scorer=scorer))
    assert result.trace["values"] == [1.0, 0.0, 0.0] and result.trace["chosen"] == 0
    assert torch.equal(result.video.frames, vanilla) and result.steps == 0
    assert make_method("best_of_n", {"n": "1"}).config.n == 1


def test_best_of_n_hands_k_frames_to_the_teacher(stubs):
    r, t = stubs
    make_method("best_of_n", {"n": "2", "frames": "4"}).run(r, t, problem(11))
    assert calls(t, "yes_nll") == [4, 4]


def test_pass_at_n_keeps_the_candidate_the_scorer_scores_best(stubs):
    r, t = stubs
    scorer = lambda v: float(v.frames.mean())  # noqa: E731
    seen = []
    result = make_method("pass_at_n", {"n": "3"}).run(r, t, problem(11, scorer=scorer),
                                                       progress=lambda i, v: seen.append(v))
    values = [scorer_value for scorer_value in (float(expected_frames(candidate_seed(11, i)).mean()) for i in range(3))]
    assert result.trace["values"] == pytest.approx(values, rel=1e-6) and seen == pytest.approx(values, rel=1e-6)
    assert result.trace["chosen"] == int(np.argmax(values)) and result.trace["selector"] == "oracle"
    assert "queries" not in result.trace and calls(t, "propose") == [] and calls(t, "yes_nll") == []


@pytest.mark.parametrize("budget, expected", [(0.5, 1), (2.0, 2), (2.999, 2), (3.0, 3), (1e9, 64)])
def test_best_of_n_auto_draws_what_fits_the_budget(stubs, monkeypatch, budget, expected):
    """Candidates of exactly one second each (a fake clock): a next one is drawn while it would still
    end within the budget; never more than 64."""
    import vlmteach.methods.best_of_n as module

    clock = iter(float(i) for i in range(1000))
    monkeypatch.setattr(module.time, "perf_counter", lambda: next(clock))
    r, t = stubs
    result = make_method("best_of_n", {"n": "auto"}).run(r, t, problem(11, budget_s=budget))
    assert result.trace["n"] == expected and result.trace["budget_s"] == budget


@pytest.mark.parametrize("options, message", [
    ({"selector": "judge"}, "unknown selector 'judge'; valid: teacher, oracle"),
    ({"n": "0"}, "n must be a positive integer or 'auto', got 0"),
    ({"n": "many"}, "n must be a positive integer or 'auto', got 'many'"),
])
def test_best_of_n_options_are_checked(options, message):
    with pytest.raises(VlmteachError) as err:
        make_method("best_of_n", options)
    assert message in str(err.value)


def test_best_of_n_refuses_what_it_cannot_run(stubs):
    r, t = stubs
    with pytest.raises(VlmteachError) as err:
        make_method("pass_at_n").run(r, t, problem())
    assert str(err.value) == ("pass_at_n: the oracle selector needs a scorer (a benchmark instance); "
                              "use selector=teacher for a bare image and prompt")
    with pytest.raises(VlmteachError) as err:
        make_method("best_of_n", {"n": "auto"}).run(r, t, problem())
    assert str(err.value) == ("best_of_n: n=auto needs a wall-time budget (run teacher_tto on the same instance "
                              "first, as `vlmteach bench` does), or give n as a number")
    assert r.log == []  # refused before sampling anything


# ---- tpo --------------------------------------------------------------------------------------


def test_tpo_rewrites_from_each_critique_and_keeps_the_best_round(stubs):
    r = StubReasoner()
    t = StubTeacher(critiques=["too dark", "still dark"])
    seen = []
    result = make_method("tpo", {"rounds": "3", "steps": "2", "frames": "5"}).run(
        r, t, problem(11), progress=lambda i, v: seen.append((i, v)))
    prompts = ["p", "p / too dark", "p / still dark"]
    assert calls(r, "condition") == prompts and calls(r, "sample") == [2, 2, 2] and calls(r, "noise") == [11] * 3
    assert [c[1:] for c in calls(t, "rewrite")] == [("p", "too dark"), ("p", "still dark")]
    assert all(c[0] is FIRST for c in calls(t, "rewrite"))
    assert calls(t, "critique") == ["p", "p", "p"] and calls(t, "yes_nll") == [5, 5, 5]
    from vlmteach.video import sample_frames

    losses = [stub_loss(sample_frames(expected_frames(11, q), 5)) for q in prompts]
    rounds = result.trace["rounds"]
    assert [x["prompt"] for x in rounds] == prompts and [x["critique"] for x in rounds] == ["too dark", "still dark", ""]
    assert [x["loss"] for x in rounds] == pytest.approx(losses, rel=1e-6) and "video" not in rounds[0]
    best = int(np.argmin(losses))
    assert result.trace["chosen"] == best and torch.equal(result.video.frames, expected_frames(11, prompts[best]))
    assert result.trace["queries"] == [GOAL, *PROCESS] and calls(t, "propose")[0][:2] == (FIRST, "p")
    assert all(torch.equal(f, expected_frames(11, q)) for f, q in zip(t.critiqued, prompts))
    assert result.steps == 0 and result.cost.reasoner_forwards == 6 and result.cost.teacher_forwards == 3  # 3 x 2 steps
    assert [i for i, _ in seen] == [0, 1, 2] and [v for _, v in seen] == pytest.approx(losses, rel=1e-6)


def test_tpo_stops_when_the_critique_finds_nothing_or_the_rounds_run_out(stubs):
    r, t = stubs  # the stub teacher's critiques are empty: nothing wrong after round 0
    result = make_method("tpo", {"rounds": "3"}).run(r, t, problem(11))
    assert len(result.trace["rounds"]) == 1 and calls(t, "rewrite") == []
    r, t = StubReasoner(), StubTeacher(critiques=["a", "b", "c"])
    result = make_method("tpo", {"rounds": "2"}).run(r, t, problem(11))
    assert len(result.trace["rounds"]) == 2 and len(calls(t, "rewrite")) == 1  # no rewrite after the last round
    r, t = StubReasoner(), StubTeacher(critiques=["a"])
    assert len(make_method("tpo", {"rounds": "1"}).run(r, t, problem(11)).trace["rounds"]) == 1


# ---- teacher_tto and oracle_tto ---------------------------------------------------------------


def sgd_steps(x: torch.Tensor, lr: float, n: int, target: float = 0.625) -> torch.Tensor:
    """n SGD steps on a loss whose gradient is 2 (x - target) / N per element: the stub teacher's loss
    (weighted targets 0.5 x 1 + 0.25 x 0 + 0.25 x 0.5 = 0.625) or a pixel MSE to `target`."""
    for _ in range(n):
        x = x - lr * 2 * (x - target) / x.numel()
    return x


TTO = {"optimizer": "sgd", "lr": "20", "fixed_steps": "2", "select": "last"}


def test_teacher_tto_optimizes_a_fresh_lora_then_samples_from_the_same_noise(stubs):
    r, t = stubs
    seen = []
    result = make_method("teacher_tto", TTO).run(r, t, problem(11), progress=lambda i, v: seen.append(i))
    x0 = expected_frames(11)
    assert torch.allclose(result.video.frames, sgd_steps(x0, 20.0, 2).clamp(0, 1), atol=1e-6)
    assert [c[0] for c in r.log if c[0] in ("add_lora", "drop_lora")] == ["add_lora", "drop_lora"]
    assert calls(r, "add_lora") == [(16, None, None)] and r.lora_parameters() == []
    assert calls(r, "noise") == [11, 11]  # the loop's noise, and the same again for the final sample
    assert calls(r, "sample") == [3]  # the final sample, at the reasoner's default steps
    assert result.steps == 2 and seen == [0, 1, 2]
    r2, t2 = StubReasoner(), StubTeacher()
    values = []
    again = make_method("teacher_tto", {**TTO, "rank": "4", "alpha": "2", "sample_steps": "2", "targets": "all"}).run(
        r2, t2, problem(11), progress=lambda i, v: values.append(v))
    assert calls(r2, "add_lora") == [(4, 2.0, "all")] and calls(r2, "sample") == [2]
    assert again.trace["targets"] == "all" and result.trace["targets"] == "default"
    assert values == again.trace["losses"]
    tr = result.trace
    assert tr["losses"][0] == pytest.approx(stub_loss(x0), rel=1e-5) and tr["stop_reason"] == "fixed_steps"
    assert tr["queries"] == [GOAL, *PROCESS] and tr["query_kinds"] == ["goal", "process", "process"]
    assert (tr["query_source"], tr["lam"], tr["noise_seed"], tr["lr"], tr["grad"], tr["select"], tr["final_scale"]) == (
        "rulebook", 0.5, 11, 20.0, "first-step", "last", 1.0)
    assert tr["max_steps"] == 4  # the stub reasoner's recommendation
    assert len(tr["per_query"]) == 3 and len(tr["per_query"][0]) == 3
    assert result.cost.reasoner_backwards == 2 and result.cost.teacher_backwards == 2


def test_teacher_tto_lam_and_generic_queries(stubs):
    r, t = stubs
    result = make_method("teacher_tto", {**TTO, "lam": "1", "fixed_steps": "0"}).run(r, t, problem(11))
    assert result.trace["losses"][0] == pytest.approx(float(((expected_frames(11) - 1) ** 2).mean()), rel=1e-5)
    assert result.trace["lam"] == 1.0
    generic = make_method("teacher_tto", {**TTO, "queries": "generic", "fixed_steps": "0"}).run(r, t, problem(11))
    assert generic.trace["query_source"] == "generic" and generic.trace["queries"] != [GOAL, *PROCESS]
    assert len(calls(t, "propose")) == 1  # generic queries are not asked of the teacher


def test_teacher_tto_select_judge_returns_the_iterate_whose_finished_sample_is_best(stubs):
    r, t = stubs
    result = make_method("teacher_tto", {**TTO, "select": "judge", "lr": "60"}).run(r, t, problem(11))
    x0 = expected_frames(11)
    iterates = [sgd_steps(x0, 60.0, n).clamp(0, 1) for n in range(3)]
    losses = [stub_loss(x) for x in iterates]
    assert result.trace["iterate_losses"] == pytest.approx(losses, rel=1e-5)
    best = int(np.argmin(losses))
    assert result.trace["chosen_iterate"] == best and torch.allclose(result.video.frames, iterates[best], atol=1e-6)


def test_teacher_tto_init_k_searches_noises_first(stubs):
    r, t = stubs
    result = make_method("teacher_tto", {**TTO, "init_k": "3", "fixed_steps": "0"}).run(r, t, problem(11))
    seeds = [candidate_seed(11, i) for i in range(3)]
    losses = [stub_loss(expected_frames(s)) for s in seeds]
    best = int(np.argmin(losses))
    assert result.trace["search_losses"] == pytest.approx(losses, rel=1e-5)
    assert result.trace["search_seeds"] == seeds and result.trace["noise_seed"] == seeds[best]
    assert torch.allclose(result.video.frames, expected_frames(seeds[best]), atol=1e-6)


# A loop whose loss hardly moves (lr 1e-9): it stalls at its first judgement after one step.
STALL = {"optimizer": "sgd", "lr": "1e-9", "max_steps": "3", "tau": "0", "select": "last", "init_k": "2",
         "stall_samples": "3", "stall_steps": "1", "stall_drop": "0.001"}


@pytest.mark.parametrize("select", ["last", "judge"])
def test_teacher_tto_switches_to_search_when_the_loop_stalls(stubs, select):
    """After stall_steps steps with the loss down by less than stall_drop, the loop stops; the next
    stall_samples noises (best_of_n's seeds after the search's) are judged, and the output is the
    teacher's pick of every finished sample. For seed 11 the best of 5 is candidate 3, a new one."""
    r, t = stubs
    result = make_method("teacher_tto", {**STALL, "select": select}).run(r, t, problem(11))
    seeds = [candidate_seed(11, i) for i in range(5)]
    losses = [stub_loss(expected_frames(s)) for s in seeds]
    assert int(np.argmin(losses)) == 3 and int(np.argmin(losses[:2])) == 0
    assert result.trace["stop_reason"] == "stalled" and result.steps == 1 and result.trace["stalled"]
    assert result.trace["stall_seeds"] == seeds[2:]
    assert result.trace["stall_losses"] == pytest.approx(losses[2:], rel=1e-5)
    assert result.trace["output_seed"] == seeds[3] and result.trace["stall_pick"] == "new"
    assert torch.allclose(result.video.frames, expected_frames(seeds[3]), atol=1e-6)


def test_teacher_tto_switch_keeps_the_search_pick_when_no_new_sample_beats_it(stubs):
    """Seed 5: candidate 0 beats candidate 1 (the search) and candidate 2 (the one new sample), so
    the output stays the search's pick, or the loop's barely moved sample from the same noise."""
    r, t = stubs
    result = make_method("teacher_tto", {**STALL, "stall_samples": "1"}).run(r, t, problem(5))
    seeds = [candidate_seed(5, i) for i in range(3)]
    losses = [stub_loss(expected_frames(s)) for s in seeds]
    assert int(np.argmin(losses)) == 0 and result.trace["stall_seeds"] == seeds[2:]
    assert result.trace["stall_pick"] in ("search", "loop") and result.trace["output_seed"] == seeds[0]
    assert torch.allclose(result.video.frames, expected_frames(seeds[0]), atol=1e-6)


def test_teacher_tto_does_not_switch_while_the_loss_falls_or_when_told_not_to(stubs):
    r, t = stubs
    falling = make_method("teacher_tto", {**STALL, "lr": "20"}).run(r, t, problem(11))
    assert falling.trace["stop_reason"] == "max_steps" and falling.steps == 3 and "stalled" not in falling.trace
    assert falling.trace["losses"][0] - falling.trace["losses"][1] > 0.001
    for off in ({"stall_samples": "0"}, {"fixed_steps": "2"}):
        result = make_method("teacher_tto", {**STALL, **off}).run(r, t, problem(11))
        assert "stalled" not in result.trace and result.steps == int(off.get("fixed_steps", 3))
    # the stub reasoner recommends nothing, so the paper's loop (never switch) is the default
    default = make_method("teacher_tto", {k: v for k, v in STALL.items() if k != "stall_samples"})
    result = default.run(r, t, problem(11))
    assert result.trace["stall_samples"] == 0 and result.steps == 3


def rolling_iterates(seed: int, lr: float, steps: int) -> list[torch.Tensor]:
    """The rolling loop on the stubs, written out: iterate i is candidate noise i's clean latent plus the
    LoRA's delta, and every step moves the delta by SGD on the stub teacher's loss of that iterate."""
    delta, out = torch.zeros(6, 3, 2, 2), []
    for i in range(steps + 1):
        x = expected_frames(candidate_seed(seed, i)) + delta
        out.append(x.clamp(0, 1))
        delta = sgd_steps(x, lr, 1) - x + delta
    return out


ROLL = {"optimizer": "sgd", "lr": "20", "fixed_steps": "2", "noises": "rolling"}


@pytest.mark.parametrize("grad", ["last-step", "first-step"])
def test_teacher_tto_rolling_steps_on_a_new_noise_each_iterate_and_keeps_the_teachers_pick(stubs, grad):
    """noises=rolling: iterate i judges (and the loop steps on) candidate noise i with the LoRA as the
    earlier steps left it; by default (select=judge) the output is the iterate the teacher scores best.
    Where the loop's prediction is the finished sample (last-step), its loss is the judgement: one
    teacher pass per iterate; in first-step mode each iterate's sample is drawn and judged again."""
    r, t = stubs
    result = make_method("teacher_tto", {**ROLL, "grad": grad}).run(r, t, problem(11))
    iterates = rolling_iterates(11, 20.0, 2)
    losses = [stub_loss(x) for x in iterates]
    seeds = [candidate_seed(11, i) for i in range(3)]
    tr = result.trace
    assert (tr["noises"], tr["select"], tr["iterate_seeds"]) == ("rolling", "judge", seeds)
    assert tr["iterate_losses"] == pytest.approx(losses, rel=1e-5)
    best = int(np.argmin(losses))
    assert best != 0 and len(set(np.round(losses, 6))) == 3  # the pick is neither the vanilla sample nor a tie
    assert tr["chosen_iterate"] == best and tr["output_seed"] == seeds[best]
    assert torch.allclose(result.video.frames, iterates[best], atol=1e-6)
    per_iterate = 1 if grad == "last-step" else 2
    assert len(calls(t, "yes_nll")) == 3 * per_iterate
    # no noise but the candidates', each drawn once, or in first-step mode again for its finished sample
    assert calls(r, "noise") == [s for s in seeds for _ in range(per_iterate)]
    assert result.steps == 2 and result.cost.reasoner_backwards == 2


def test_teacher_tto_rolling_with_select_last_returns_the_last_noises_sample(stubs):
    r, t = stubs
    result = make_method("teacher_tto", {**ROLL, "select": "last"}).run(r, t, problem(11))
    assert torch.allclose(result.video.frames, rolling_iterates(11, 20.0, 2)[-1], atol=1e-6)
    assert calls(r, "noise")[-1] == candidate_seed(11, 2)  # the final sample is drawn from iterate 2's noise


@pytest.mark.parametrize("extra", [{"init_k": "2"}, {"stall_samples": "3"}])
def test_teacher_tto_rolling_refuses_a_one_noise_search(stubs, extra):
    with pytest.raises(VlmteachError, match="noises=rolling draws a new noise at every step"):
        make_method("teacher_tto", {**ROLL, **extra})
    # ... also when the rolling comes from the reasoner's recommendation, before anything is sampled
    r, t = stubs
    r.recommended_tto = {**r.recommended_tto, "noises": "rolling"}
    method = make_method("teacher_tto", {k: v for k, v in {**ROLL, **extra}.items() if k != "noises"})
    with pytest.raises(VlmteachError, match="or add noises=fixed"):
        method.run(r, t, problem(11))
    assert calls(r, "sample") == [] and r.lora_parameters() == []
    # asking for the step budget (solve and bench do, before running) already refuses, naming the method
    with pytest.raises(VlmteachError, match="^teacher_tto: noises=rolling draws"):
        method.progress_total(r)


def test_teacher_tto_final_scale_scales_the_update_of_the_finished_sample(stubs):
    r, t = stubs
    result = make_method("teacher_tto", {**TTO, "final_scale": "0.25"}).run(r, t, problem(11))
    x0 = expected_frames(11)
    delta = sgd_steps(x0, 20.0, 2) - x0
    # lora_scaled multiplies each LoRA factor by sqrt(scale), so that B·A scales by `scale`; the stub's
    # update is its one parameter, so it shows sqrt(0.25) = 0.5 of the update
    assert torch.allclose(result.video.frames, (x0 + 0.5 * delta).clamp(0, 1), atol=1e-6)


def test_oracle_tto_steps_towards_the_reference_and_needs_one(stubs):
    r, t = stubs
    with pytest.raises(VlmteachError) as err:
        make_method("oracle_tto").run(r, t, problem(11))
    assert str(err.value) == ("oracle_tto needs the instance's ground truth (a benchmark instance, or a VBVR folder "
                              "with final_frame.png or ground_truth.mp4); it is an upper bound, not a method for a "
                              "bare image and prompt")
    ref = Video(torch.ones(6, 3, 2, 2))
    seen = []
    result = make_method("oracle_tto", {"optimizer": "sgd", "lr": "0.5", "fixed_steps": "1", "video_weight": "0",
                                        "final_weight": "1"}).run(r, t, problem(11, reference=ref),
                                                                  progress=lambda i, v: seen.append(i))
    assert seen == [0, 1]
    tr = result.trace
    assert len(tr["losses"]) == 2 and len(tr["per_term"]) == 2 and tr["stop_reason"] == "fixed_steps"
    assert (tr["noise_seed"], tr["lr"], tr["max_steps"]) == (11, 0.5, 4)
    x0 = expected_frames(11)
    x1 = x0.clone()  # the loss sees the last frame only: its gradient is 2 (x - 1) / 12 there
    x1[-1] = x0[-1] - 0.5 * 2 * (x0[-1] - 1) / x0[-1].numel()
    assert torch.allclose(result.video.frames, x1, atol=1e-6)
    assert result.trace["terms"] == ["final_frame_mse", "video_mse"] and result.trace["upper_bound"] is True
    assert result.steps == 1
    assert result.cost.teacher_backwards == 0 and result.cost.teacher_forwards == 0


@pytest.mark.parametrize("weights, ok", [((0, 1), True), ((1, 0), True), ((1, 1), True), ((0, 0), False), ((-1, 2), False),
                                         ((2, -1), False)])
def test_oracle_tto_weights(weights, ok):
    options = {"final_weight": str(weights[0]), "video_weight": str(weights[1])}
    if ok:
        assert make_method("oracle_tto", options).config.final_weight == weights[0]
    else:
        with pytest.raises(VlmteachError, match="oracle_tto weights must be >= 0 and not both 0; got final_weight"):
            make_method("oracle_tto", options)


# ---- capabilities (what the runner, the CLI and the report ask instead of the name) ------------


@pytest.mark.parametrize("label, scorer, reference, budget, provides, cost_ref, unit, total", [
    ("vanilla", False, False, False, False, False, "sample", None),
    ("prompt_rewrite", False, False, False, False, False, "sample", None),
    ("best_of_n[n=5]", False, False, False, False, False, "sample", 5),
    ("best_of_n[n=auto]", False, False, True, False, False, "sample", None),
    ("best_of_n[selector=oracle]", True, False, False, False, False, "sample", 5),
    ("pass_at_n[n=3]", True, False, False, False, True, "sample", 3),
    ("tpo[rounds=2]", False, False, False, False, False, "sample", 2),
    ("teacher_tto", False, False, False, True, False, "step", 4),
    ("teacher_tto[fixed_steps=2]", False, False, False, True, False, "step", 2),
    ("oracle_tto[max_steps=7]", False, True, False, False, False, "step", 7),
])
def test_capabilities(label, scorer, reference, budget, provides, cost_ref, unit, total):
    from vlmteach.methods import build_method

    m = build_method(label)
    assert (m.needs_scorer(), m.needs_reference(), m.needs_budget()) == (scorer, reference, budget)
    assert (m.provides_budget, m.cost_reference, m.progress_unit) == (provides, cost_ref, unit)
    assert m.progress_total(StubReasoner()) == total  # the stub reasoner recommends max_steps 4


def test_cost_reference_and_registering_a_method(monkeypatch):
    from vlmteach import methods
    from vlmteach.methods.registry import is_cost_reference

    assert is_cost_reference("pass_at_n") and is_cost_reference("pass_at_n[n=5]") and is_cost_reference(" pass_at_n")
    assert is_cost_reference("pass_at_n[x=[1]]")
    assert not is_cost_reference("best_of_n") and not is_cost_reference("magic")
    monkeypatch.setattr(methods.METHODS, "targets", dict(methods.METHODS.targets))
    methods.register("plain", "vlmteach.methods.vanilla:Vanilla")
    assert method_names()[-1] == "plain" and make_method("plain").name == "vanilla"
    with pytest.raises(VlmteachError, match="target 'vanilla' is not 'module:attribute'"):
        methods.register("bad", "vanilla")


def test_budget_label_prefers_the_plain_budget_method():
    from vlmteach.methods.registry import budget_label, needs_budget

    assert budget_label(["vanilla", "teacher_tto[lr=1]", "teacher_tto"]) == "teacher_tto"
    assert budget_label(["vanilla", "teacher_tto[lr=1]", "teacher_tto[lr=2]"]) == "teacher_tto[lr=1]"
    assert budget_label(["vanilla", "best_of_n"]) is None
    assert needs_budget("best_of_n", {"best_of_n": {"n": "auto"}}) and not needs_budget("best_of_n")
    assert needs_budget("pass_at_n[n=auto]") and not needs_budget("teacher_tto")


def test_teacher_tto_search_then_judge_passes_its_options_on(stubs):
    """init_k with select=judge: the search samples at sample_steps and judges K frames, iterate 0 reuses
    the searched sample, the loop runs from the searched noise, and progress is reported."""
    r, t = stubs
    seen = []
    opts = {**TTO, "init_k": "3", "select": "judge", "fixed_steps": "1", "sample_steps": "2", "frames": "4"}
    result = make_method("teacher_tto", opts).run(r, t, problem(11), progress=lambda i, v: seen.append(i))
    seeds = [candidate_seed(11, i) for i in range(3)]
    best = seeds[int(np.argmin([stub_loss(sample_frames(expected_frames(s), 4)) for s in seeds]))]
    assert calls(r, "sample") == [2, 2, 2, 2]  # 3 searched, then iterate 1's finished sample (iterate 0 reused)
    assert calls(r, "noise")[3] == best  # the loop's noise is the searched one
    assert set(calls(t, "yes_nll")) == {4} and seen == [0, 1]
    assert calls(t, "propose")[0][:2] == (FIRST, "p") and result.trace["noise_seed"] == best
    losses = result.trace["iterate_losses"]
    assert losses[0] == pytest.approx(min(result.trace["search_losses"]), rel=1e-6)  # the searched sample
    assert losses[1] != losses[0]  # iterate 1 is the optimized LoRA's own sample


def test_teacher_tto_frame_noise_is_seeded_by_the_problem(stubs):
    r, t = stubs
    result = make_method("teacher_tto", {**TTO, "noise": "0.1", "fixed_steps": "0"}).run(r, t, problem(11))
    noise = torch.randn((6, 3, 2, 2), generator=torch.Generator().manual_seed(11 * 1000))  # seed 11, call 0
    assert result.trace["losses"][0] == pytest.approx(stub_loss(expected_frames(11) + 0.1 * noise), rel=1e-5)


def test_option_errors_name_the_option_and_the_valid_ones():
    from vlmteach.methods import split_label
    from vlmteach.methods.tpo import TPO, TPOConfig

    cases = [({"rounds": "abc"}, "tpo.rounds: rounds: cannot read 'abc' as int"),
             ({"x": "1"}, "tpo.x: unknown option 'x' for TPOConfig; valid: frames, rounds, steps")]
    for options, message in cases:
        with pytest.raises(VlmteachError) as err:
            make_method("tpo", options)
        assert str(err.value) == message
    for options, message in (({"queries": "mine"}, "teacher_tto.queries: unknown queries 'mine'; valid: task, generic"),
                             ({"select": "best"}, "teacher_tto.select: unknown select 'best'; valid: last, judge"),
                             ({"init_k": "0"}, "teacher_tto.init_k: init_k must be >= 1, got 0"),
                             ({"stall_samples": "-1"}, "teacher_tto.stall_samples: stall_samples must be >= 0 "
                              "(0: never switch to search), got -1"),
                             ({"stall_steps": "0"}, "teacher_tto.stall_steps: stall_steps must be >= 1, got 0")):
        with pytest.raises(VlmteachError) as err:
            make_method("teacher_tto", options)
        assert str(err.value) == message
    for lam, ok in (("0", True), ("1", True), ("1.5", False), ("-0.1", False)):
        if ok:
            assert make_method("teacher_tto", {"lam": lam}).config.lam == float(lam)
        else:
            with pytest.raises(VlmteachError, match=f"lam must be in \\[0, 1\\], got {float(lam)}"):
                make_method("teacher_tto", {"lam": lam})
    assert type(TPO().config) is TPOConfig and TPO(TPOConfig(rounds=2)).config.rounds == 2
    assert split_label("tpo[a=b=c]") == ("tpo", {"a": "b=c"})
    for label, message in (("Bad!", "bad method 'Bad!'; expected NAME or NAME[KEY=VALUE;...]"),
                           ("tpo[a]", "bad option 'a' in 'tpo[a]'; expected KEY=VALUE")):
        with pytest.raises(VlmteachError) as err:
            split_label(label)
        assert str(err.value) == message
