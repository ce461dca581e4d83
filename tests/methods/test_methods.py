import pytest
import torch

from vlmteach import reasoners, teachers
from vlmteach.errors import VlmteachError
from vlmteach.methods import Problem, make_method, parse_sets
from vlmteach.methods.teacher_tto import add_fresh_lora
from vlmteach.optim import TTOConfig
from vlmteach.optim.tto import resolve
from vlmteach.tasks import get_family


@pytest.fixture(scope="module")
def models():
    return reasoners.load("tiny"), teachers.load("tiny")


def problem(family="grid_avoid_obstacles", seed=1_000_021, **kw):
    fam = get_family(family)
    inst = fam.generate(seed)
    return Problem(inst.first_frame, inst.prompt, seed, scorer=lambda v: fam.score(v, inst).total, **kw)


def test_the_fresh_lora_depends_on_its_seed_alone_and_leaves_the_global_rng(models):
    """teacher_tto, oracle_tto and benchmarks/grad_alignment.py draw the LoRA's random init from the
    problem's seed only, so a run does not depend on what ran before it in the process."""
    reasoner = models[0]
    cfg = resolve(TTOConfig(), reasoner)

    def lora(seed: int, global_seed: int) -> list[torch.Tensor]:
        torch.manual_seed(global_seed)
        before = torch.random.get_rng_state()
        add_fresh_lora(reasoner, cfg, seed)
        try:
            assert torch.equal(torch.random.get_rng_state(), before)
            return [p.detach().clone() for p in reasoner.lora_parameters()]
        finally:
            reasoner.drop_lora()

    a, b, c = lora(5, 0), lora(5, 1), lora(6, 0)
    assert a and all(torch.equal(x, y) for x, y in zip(a, b))
    assert any(not torch.equal(x, y) for x, y in zip(a, c))


def test_teacher_tto_starts_from_a_fresh_lora_and_the_same_noise(models, one_thread):
    reasoner, teacher = models
    p = problem()
    vanilla = make_method("vanilla").run(reasoner, teacher, p)
    # no search, no optimization step: the fresh LoRA is the identity and the noise is the problem's own
    untouched = make_method("teacher_tto", {"tau": "1e6", "init_k": "1"}).run(reasoner, teacher, p)
    assert untouched.steps == 0 and untouched.trace["stop_reason"] == "tau"
    assert torch.equal(untouched.video.frames, vanilla.video.frames)
    tuned = make_method("teacher_tto", {"lr": "3e-3", "fixed_steps": "3", "select": "last", "init_k": "1"})
    a, b = tuned.run(reasoner, teacher, p), tuned.run(reasoner, teacher, p)
    assert a.steps == 3 and not torch.equal(a.video.frames, vanilla.video.frames)
    assert torch.equal(a.video.frames, b.video.frames)  # the second run did not inherit the first's LoRA
    assert a.trace["losses"] == b.trace["losses"]
    assert reasoner.lora_parameters() == []  # dropped afterwards
    assert a.cost.reasoner_backwards == 3 and a.cost.teacher_forwards == 4 and a.cost.wall_s > 0


def test_teacher_tto_returns_the_final_loras_sample_without_drawing_it_twice(models, one_thread):
    from vlmteach.methods.common import full_sample
    from vlmteach.methods.teacher_tto import optimize_lora, problem_queries
    from vlmteach.optim import TeacherObjective
    from vlmteach.optim.tto import resolve

    reasoner, teacher = models
    p = problem()
    cfg = resolve(make_method("teacher_tto", {"lr": "3e-3", "fixed_steps": "2", "init_k": "1", "noises": "fixed"}).config,
                  reasoner)
    drawn = {}  # a full sample drawn independently at every iterate, with the LoRA as it is then

    def draw(step, loss, cond, prediction):
        drawn[step] = full_sample(reasoner, cond, p.seed, cfg.sample_steps)

    objective = TeacherObjective(teacher, problem_queries(teacher, p, "task", 0.5), cfg.frames)
    _, video = optimize_lora(reasoner, p, cfg, objective, on_iterate=draw)
    assert torch.equal(video.frames, drawn[2].frames) and not torch.equal(video.frames, drawn[0].frames)
    # last-step gradients run the 4-step chain at each of the 3 judgements, and the last one is the
    # output: 12 reasoner forwards, none for a separate final sample; first-step ones need it (3 + 4)
    for grad, forwards in (("last-step", 12), ("first-step", 7)):
        opts = {"lr": "3e-3", "fixed_steps": "2", "init_k": "1", "grad": grad, "noises": "fixed"}
        assert make_method("teacher_tto", opts).run(reasoner, teacher, p).cost.reasoner_forwards == forwards
    # select=judge judges every iterate's finished sample: with last-step gradients that is the chain the
    # loop just ran (12 forwards in all, not 12 + 3 x 4); with first-step ones it is drawn (3 + 3 x 4)
    for grad, forwards in (("last-step", 12), ("first-step", 15)):
        opts = {"lr": "3e-3", "fixed_steps": "2", "init_k": "1", "grad": grad, "select": "judge", "noises": "fixed"}
        assert make_method("teacher_tto", opts).run(reasoner, teacher, p).cost.reasoner_forwards == forwards


def test_rolling_iterates_are_the_samples_of_their_own_noises(models, one_thread):
    """noises=rolling on the tiny model: iterate i's judged chain is the finished sample of candidate noise
    i with the LoRA as it is then, and the output of select=last is the last one's, drawn once."""
    from vlmteach.methods.common import candidate_seed, full_sample
    from vlmteach.methods.teacher_tto import optimize_lora, problem_queries
    from vlmteach.optim import TeacherObjective
    from vlmteach.optim.tto import resolve

    reasoner, teacher = models
    p = problem()
    cfg = resolve(make_method("teacher_tto", {"noises": "rolling", "lr": "3e-3", "fixed_steps": "2",
                                              "select": "last"}).config, reasoner)
    drawn, judged = {}, {}

    def draw(step, loss, cond, prediction):
        drawn[step] = full_sample(reasoner, cond, candidate_seed(p.seed, step), cfg.sample_steps)
        judged[step] = reasoner.decode(prediction)

    objective = TeacherObjective(teacher, problem_queries(teacher, p, "task", 0.5), cfg.frames)
    _, video = optimize_lora(reasoner, p, cfg, objective, on_iterate=draw)
    assert all(torch.equal(judged[i].frames, drawn[i].frames) for i in range(3))
    assert torch.equal(video.frames, drawn[2].frames)
    assert torch.equal(drawn[0].frames, make_method("vanilla").run(reasoner, teacher, p).video.frames)


def test_teacher_tto_trace_names_its_queries(models):
    reasoner, teacher = models
    result = make_method("teacher_tto", {"max_steps": "2", "lr": "1e-3", "tau": "0"}).run(reasoner, teacher, problem())
    t = result.trace
    assert t["query_kinds"][0] == "goal" and set(t["query_kinds"][1:]) == {"process"}
    assert len(t["per_query"][0]) == len(t["queries"]) and t["stop_reason"] == "max_steps"
    generic = make_method("teacher_tto", {"queries": "generic", "max_steps": "0"}).run(reasoner, teacher, problem())
    assert generic.trace["query_source"] == "generic" and generic.trace["queries"] != t["queries"]


def test_best_of_n_keeps_the_best_candidate(models):
    reasoner, teacher = models
    p = problem()
    vanilla = make_method("vanilla").run(reasoner, teacher, p)
    oracle = make_method("pass_at_n", {"n": "4"}).run(reasoner, teacher, p)
    values = oracle.trace["values"]
    assert oracle.trace["n"] == 4 and values[0] == pytest.approx(p.scorer(vanilla.video))  # candidate 0 = vanilla
    assert p.scorer(oracle.video) == pytest.approx(max(values))
    chosen = make_method("best_of_n", {"n": "3"}).run(reasoner, teacher, p)
    assert chosen.trace["selector"] == "teacher" and chosen.trace["chosen"] == max(range(3), key=chosen.trace["values"].__getitem__)
    assert chosen.cost.teacher_forwards == 3 and chosen.cost.reasoner_forwards == 12


class FakeClock:
    """perf_counter for best_of_n: every candidate takes exactly one second."""

    def __init__(self):
        self.now = -1.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.mark.parametrize("budget, expected", [(1e-6, 1), (2.5, 2), (3.5, 3), (6.0, 6)])
def test_best_of_n_auto_fits_the_budget(models, monkeypatch, budget, expected):
    """With candidates of one second each, n=auto draws as many as fit in the budget (at least one):
    it stops when the next one would overrun."""
    import vlmteach.methods.best_of_n as module

    reasoner, teacher = models
    monkeypatch.setattr(module.time, "perf_counter", FakeClock())
    result = make_method("best_of_n", {"n": "auto"}).run(reasoner, teacher, problem(budget_s=budget))
    assert result.trace["n"] == expected and result.trace["budget_s"] == budget


def test_best_of_n_auto_needs_a_budget(models):
    reasoner, teacher = models
    with pytest.raises(VlmteachError, match="n=auto needs a wall-time budget"):
        make_method("best_of_n", {"n": "auto"}).run(reasoner, teacher, problem())


def test_oracle_needs_a_scorer(models):
    reasoner, teacher = models
    p = problem()
    p.scorer = None
    with pytest.raises(VlmteachError, match="oracle selector needs a scorer"):
        make_method("pass_at_n").run(reasoner, teacher, p)


def test_prompt_methods_with_the_tiny_teacher(models):
    reasoner, teacher = models
    p = problem()
    rewrite = make_method("prompt_rewrite").run(reasoner, teacher, p)
    assert rewrite.trace["prompt"].startswith(p.prompt) and len(rewrite.trace["prompt"]) > len(p.prompt)
    tpo = make_method("tpo", {"rounds": "3"}).run(reasoner, teacher, p)
    rounds = tpo.trace["rounds"]
    assert 1 <= len(rounds) <= 3 and rounds[0]["prompt"] == p.prompt
    assert tpo.trace["chosen"] == min(range(len(rounds)), key=lambda i: rounds[i]["loss"])


def test_options_are_typed_and_checked():
    m = make_method("teacher_tto", {"lr": "1e-3", "fixed_steps": "none", "grad": "last-step"})
    assert (m.config.lr, m.config.fixed_steps, m.config.grad) == (1e-3, None, "last-step")
    assert make_method("best_of_n", {"n": "auto"}).config.n == "auto"
    assert make_method("best_of_n", {"n": "7"}).config.n == 7
    with pytest.raises(VlmteachError, match="valid: .*lr"):
        make_method("teacher_tto", {"learning_rate": "1"})
    with pytest.raises(VlmteachError, match="cannot read 'fast'"):
        make_method("teacher_tto", {"lr": "fast"})
    with pytest.raises(VlmteachError, match="positive integer or 'auto'"):
        make_method("best_of_n", {"n": "0"})
    with pytest.raises(VlmteachError, match="unknown method 'magic'"):
        make_method("magic")
    assert parse_sets(["teacher_tto.lr=1e-3", "best_of_n.n=auto"]) == {"teacher_tto": {"lr": "1e-3"}, "best_of_n": {"n": "auto"}}
    with pytest.raises(VlmteachError, match="METHOD.KEY=VALUE"):
        parse_sets(["lr=1e-3"])


def test_oracle_tto_moves_the_video_towards_the_ground_truth_and_needs_one(models):
    reasoner, teacher = models
    fam = get_family("stable_sort")  # an instance the vanilla sample gets wrong (score 0.19)
    inst = fam.generate(1_000_030)
    plain = Problem(inst.first_frame, inst.prompt, 1_000_030)
    with pytest.raises(VlmteachError, match="ground truth"):
        make_method("oracle_tto").run(reasoner, teacher, plain)
    p = Problem(inst.first_frame, inst.prompt, 1_000_030, reference=inst.ground_truth)
    vanilla = make_method("vanilla").run(reasoner, teacher, p)
    result = make_method("oracle_tto", {"lr": "3e-3", "max_steps": "6"}).run(reasoner, teacher, p)
    gt = inst.ground_truth.frames

    def err(video):  # independent of the objective's code: plain squared error of the last frame
        return float(((video.frames[-1] - gt[-1]) ** 2).mean())

    assert result.steps == 6 and result.trace["upper_bound"] is True
    assert result.trace["losses"][-1] < result.trace["losses"][0]
    assert err(result.video) < 0.5 * err(vanilla.video)
    assert fam.score(result.video, inst).total > fam.score(vanilla.video, inst).total
    assert result.cost.teacher_backwards == 0 and reasoner.lora_parameters() == []


def test_teacher_tto_select_judge_returns_the_iterate_the_teacher_scores_best(models):
    from vlmteach.methods.common import teacher_loss_of

    reasoner, teacher = models
    p = problem()
    opts = {"lr": "3e-3", "fixed_steps": "3", "select": "judge", "noises": "fixed"}
    result = make_method("teacher_tto", opts).run(reasoner, teacher, p)
    losses = result.trace["iterate_losses"]
    assert len(losses) == 4 and result.trace["chosen_iterate"] == losses.index(min(losses))
    queries = teacher.propose_queries(p.first_frame, p.prompt)
    # judged again from the returned video alone: it is the best iterate's finished sample
    assert teacher_loss_of(teacher, result.video, queries)[0] == pytest.approx(min(losses), abs=1e-5)
    untouched = make_method("teacher_tto", {"tau": "1e6", "select": "judge"}).run(reasoner, teacher, p)
    vanilla = make_method("vanilla").run(reasoner, teacher, p)
    assert torch.equal(untouched.video.frames, vanilla.video.frames)  # iterate 0 is the vanilla sample


def test_teacher_tto_init_k_starts_from_the_best_of_k_noises(models):
    from vlmteach.methods.common import candidate_seed

    reasoner, teacher = models
    p = problem(seed=1_000_022)
    result = make_method("teacher_tto", {"init_k": "4", "tau": "1e6", "noises": "fixed"}).run(reasoner, teacher, p)
    values = result.trace["search_losses"]
    best = values.index(min(values))
    assert len(values) == 4 and result.trace["noise_seed"] == candidate_seed(p.seed, best)
    # no step taken: the output is best_of_n's pick among the same 4 candidates
    pick = make_method("best_of_n", {"n": "4"}).run(reasoner, teacher, p)
    assert torch.equal(result.video.frames, pick.video.frames)
    with pytest.raises(VlmteachError, match="init_k"):
        make_method("teacher_tto", {"init_k": "0"})
    with pytest.raises(VlmteachError, match="last, judge"):
        make_method("teacher_tto", {"select": "best"})


def test_teacher_tto_stall_switch_ends_with_best_of_n_or_better(models):
    """A switch forced at step 2 (stall_drop 100) judges 3 more noises: the pool is best_of_n's 5
    candidates plus the loop's sample, so the teacher's pick is best_of_n's or the loop's if better."""
    from vlmteach.methods.common import teacher_loss_of

    reasoner, teacher = models
    p = problem(seed=1_000_022)
    opts = {"init_k": "2", "stall_samples": "3", "stall_drop": "100", "tau": "0", "noises": "fixed"}
    result = make_method("teacher_tto", opts).run(reasoner, teacher, p)
    trace = result.trace
    assert trace["stalled"] and result.steps == 2 and trace["stop_reason"] == "stalled"
    pick = make_method("best_of_n", {"n": "5"}).run(reasoner, teacher, p)
    assert trace["search_losses"] + trace["stall_losses"] == pytest.approx([-v for v in pick.trace["values"]], rel=1e-6)
    queries = teacher.propose_queries(p.first_frame, p.prompt)
    mine = teacher_loss_of(teacher, result.video, queries)[0]
    assert mine <= min(trace["search_losses"] + trace["stall_losses"]) + 1e-6
    if trace["stall_pick"] != "loop":
        assert torch.equal(result.video.frames, pick.video.frames)


def test_teacher_tto_refuses_unknown_lora_targets_before_any_sample(models):
    reasoner, teacher = models
    before = reasoner.cost.forwards
    with pytest.raises(VlmteachError, match="'early' are unknown; valid: late, all"):
        make_method("teacher_tto", {"targets": "early", "init_k": "4", "noises": "fixed"}).run(reasoner, teacher, problem())
    assert reasoner.cost.forwards == before and reasoner.lora_parameters() == []


def test_teacher_tto_final_scale_scales_the_lora_update_of_the_finished_sample(models):
    from vlmteach.methods.common import lora_scaled

    reasoner, teacher = models
    p = problem()
    vanilla = make_method("vanilla").run(reasoner, teacher, p)
    opts = {"lr": "3e-3", "fixed_steps": "2", "select": "last", "noises": "fixed", "init_k": "1"}
    # scale 0: the optimized LoRA's update is removed, so the output is the base model's sample
    zero = make_method("teacher_tto", {**opts, "final_scale": "0"}).run(reasoner, teacher, p)
    assert zero.steps == 2 and torch.allclose(zero.video.frames, vanilla.video.frames, atol=1e-6)
    full = make_method("teacher_tto", opts).run(reasoner, teacher, p)
    assert not torch.allclose(full.video.frames, vanilla.video.frames, atol=1e-3)
    # with select=judge every iterate is judged at the scale, inside the loop; at 0 all are the base model's
    judged = make_method("teacher_tto", {**opts, "final_scale": "0", "select": "judge"}).run(reasoner, teacher, p)
    assert len(set(judged.trace["iterate_losses"])) == 1
    assert torch.allclose(judged.video.frames, vanilla.video.frames, atol=1e-6)
    # ... and the loop's own steps are unchanged by the judging: the same losses as without it (up to
    # the run-to-run noise of multi-threaded CPU kernels; a LoRA left scaled would move them by 0.05+)
    assert judged.trace["losses"] == pytest.approx(zero.trace["losses"], abs=1e-3)
    # the scaled update of a LoRA layer is exactly `scale` times its update, and restored after
    reasoner.add_lora(4)
    try:
        for q in reasoner.lora_parameters():
            torch.nn.init.normal_(q, std=0.1)
        layer = next(m for m in reasoner.lora_module().modules() if hasattr(m, "lora_A") and len(m.lora_A))
        name = next(iter(layer.lora_A))
        delta = lambda: layer.lora_B[name].weight @ layer.lora_A[name].weight  # noqa: E731
        before = delta().detach().clone()
        with lora_scaled(reasoner, 0.25):
            assert torch.allclose(delta(), 0.25 * before, atol=1e-6)
        assert torch.equal(delta(), before)
    finally:
        reasoner.drop_lora()
    with pytest.raises(VlmteachError, match="final_scale"):
        make_method("teacher_tto", {"final_scale": "-1"})


@pytest.mark.parametrize("lam", [1.0, 0.0])
def test_teacher_tto_lam_weighs_goal_against_process(models, lam):
    """lam=1: the loss is the goal's NLL alone; lam=0: the mean of the process NLLs."""
    reasoner, teacher = models
    result = make_method("teacher_tto", {"lam": str(lam), "max_steps": "0", "tau": "0"}).run(reasoner, teacher, problem())
    goal, *process = result.trace["per_query"][0]
    expected = goal if lam == 1.0 else sum(process) / len(process)
    assert result.trace["losses"][0] == pytest.approx(expected, rel=1e-6)


def test_teacher_tto_hands_k_frames_to_the_teacher(models, judged_frame_counts):
    reasoner, teacher = models
    seen = judged_frame_counts(teacher)
    make_method("teacher_tto", {"frames": "3", "fixed_steps": "1", "lr": "1e-3", "select": "last"}).run(
        reasoner, teacher, problem())
    assert seen[:2] == [3, 3]  # the loop's judgements see K frames
