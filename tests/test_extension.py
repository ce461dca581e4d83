"""Adding a task family, a method and a model backend is one module plus one registry line each: a
throwaway module of all four (family, method, reasoner and teacher backends) is registered at test
time, passes the contract checks every registered one passes, and runs a bench job end to end."""

from __future__ import annotations

import json
import sys

import pytest

from vlmteach import methods, reasoners, teachers
from vlmteach.bench.runner import BenchConfig, run_bench
from vlmteach.tasks import registry as tasks

from .methods.test_contract import check_method
from .reasoners.test_contract import check_reasoner
from .tasks.family_properties import CHECKS
from .teachers.test_contract import check_teacher

MODULE = "vlmteach_throwaway_extension"
THROWAWAY = '''
import numpy as np

from vlmteach.methods.base import Method, MethodResult
from vlmteach.methods.common import full_sample
from vlmteach.methods.cost import CostMeter
from vlmteach.methods.vanilla import VanillaConfig
from vlmteach.reasoners.tiny import from_spec as tiny_reasoner
from vlmteach.tasks.base import Episode, TaskFamily
from vlmteach.tasks.gridpath import shortest_path, walk
from vlmteach.tasks.navigation import agent_rules, reach_goal
from vlmteach.tasks.palette import BACKGROUND, GREEN, RED, ring, tile
from vlmteach.teachers.tiny import from_spec as tiny_teacher

GRID = 8


class Slide(TaskFamily):
    """A red block slides along its row to a green ring, one cell per frame."""

    name = "slide"
    faculty = "spatiality"
    split = "ood"
    summary = "a red block slides along its row to a ring"
    difficulty_range = (1, 1)
    default_difficulty = 1

    def build(self, rng, difficulty):
        row, a, b = (int(v) for v in rng.integers(0, GRID, size=3))
        if abs(a - b) < 2:
            return None
        base = np.full((GRID, GRID), BACKGROUND)
        base[row, b] = ring(GREEN)
        path = shortest_path(np.ones((GRID, GRID), dtype=bool), (row, a), (row, b), rng)
        meta = {"agent": tile(RED), "target_tile": ring(GREEN), "start": [row, a], "target": [row, b],
                "mover": tile(RED)}
        prompt = f"Slide the red block along row {row + 1} to the green ring."
        return Episode(walk(base, path, tile(RED)), prompt, meta)

    def goal(self, final, instance):
        m = instance.meta
        return reach_goal(final, m["agent"], tuple(m["start"]), tuple(m["target"]), np.ones((GRID, GRID), dtype=bool))

    def process(self, states, instance):
        return agent_rules(states, instance.meta)[1]


class OneStep(Method):
    """One sampler step from the problem's noise: the cheapest possible method."""

    name = "one_step"
    config_class = VanillaConfig

    def run(self, reasoner, teacher, problem, progress=None):
        with CostMeter(reasoner, teacher) as meter:
            video = full_sample(reasoner, reasoner.condition(problem.first_frame, problem.prompt), problem.seed, 1)
        return MethodResult(video, meter.cost, 0, {"noise_seed": problem.seed})


def reasoner(path):
    return tiny_reasoner(None)


def teacher(path):
    return tiny_teacher(None)
'''


@pytest.fixture
def extension(tmp_path, monkeypatch):
    """The throwaway module, registered: family "slide", method "one_step", reasoner "ext", teacher
    "ext_judge"; every registry and sys.modules are restored afterwards."""
    (tmp_path / f"{MODULE}.py").write_text(THROWAWAY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(tasks._REGISTRY, "targets", dict(tasks._REGISTRY.targets))
    monkeypatch.setattr(tasks, "_LOADED", dict(tasks._LOADED))
    for registry in (methods.METHODS, reasoners.BACKENDS, teachers.BACKENDS):
        monkeypatch.setattr(registry, "targets", dict(registry.targets))
    module = __import__(MODULE)
    tasks.register(module.Slide)                      # the family's registry line
    methods.register("one_step", f"{MODULE}:OneStep")  # the method's
    reasoners.register("ext", f"{MODULE}:reasoner")   # the backends'
    teachers.register("ext_judge", f"{MODULE}:teacher")
    yield module
    sys.modules.pop(MODULE, None)


def test_the_throwaway_extensions_pass_the_contracts(extension):
    for check in CHECKS:
        check("slide")
    check_method("one_step")
    check_reasoner(reasoners.load("ext"))
    check_teacher(teachers.load("ext_judge"))


def test_a_bench_job_runs_on_the_throwaway_extensions(extension, tmp_path):
    out = tmp_path / "run"
    cfg = BenchConfig(suite="builtin", families=["slide"], n_per_family=1, methods=["one_step", "teacher_tto[max_steps=1]"],
                      reasoner="ext", teacher="ext_judge", out=str(out))
    run_bench(cfg)
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert {x["method"] for x in lines} == {"one_step", "teacher_tto[max_steps=1]"}
    assert all(x["status"] == "ok" and x["family"] == "slide" and 0 <= x["score"] <= 1 for x in lines)
    config = json.loads((out / "config.json").read_text())
    assert (config["reasoner"], config["teacher"]) == ("ext", "ext_judge")
