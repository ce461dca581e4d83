"""A new task family is one module plus one registry line: a family registered at test time, with its
own query rule, is found by name, gets its own queries from the rule book (no edit in teachers/) and
passes the property checks every registered family must pass; one without a rule gets the generic
queries."""

import numpy as np
import pytest
from family_properties import CHECKS

from vlmteach.errors import TaskError
from vlmteach.tasks import registry
from vlmteach.tasks.base import Episode, TaskFamily
from vlmteach.tasks.gridpath import manhattan, shortest_path, walk
from vlmteach.tasks.navigation import agent_rules, reach_goal
from vlmteach.tasks.palette import BACKGROUND, GREEN, OBJECT_COLOURS, colour_name, outer_of, ring, tile
from vlmteach.tasks.queries import QueryRule, agent_slots
from vlmteach.teachers import rulebook

GRID = 8
LEVELS = {1: (2, 5), 2: (6, 12)}  # difficulty -> range of the walk's length in moves


class Stroll(TaskFamily):
    """A block walks across an empty board to a green ring, one cell per frame."""

    name = "stroll"
    faculty = "spatiality"
    split = "in"
    summary = "a block walks across an empty board to a ring"
    difficulty_range = (1, 2)
    default_difficulty = 1
    prompt = "Walk the {colour} block across the empty board to the green ring."
    queries = QueryRule(
        (r"\bblock\b", r"\bempty board\b", r"\bring\b"), agent_slots("block"),
        ("By the end of the video, is the {a} block on the {t} ring?", "goal"),
        (("Does the {a} block move only one cell at a time?", "one_cell_per_frame"),
         ("Does the {a} block stay in one piece, without splitting or vanishing?", "agent_intact")),
        (("Does the {t} ring stay in its place until the {a} block reaches it?", "target_stays"),))

    def build(self, rng, difficulty):
        lo, hi = LEVELS[difficulty]
        start, target = (tuple(int(v) for v in rng.integers(0, GRID, size=2)) for _ in range(2))
        if not lo <= manhattan(start, target) <= hi:
            return None
        colour = int(rng.choice([c for c in OBJECT_COLOURS if c != GREEN]))
        agent, goal_tile = tile(colour), ring(GREEN)
        base = np.full((GRID, GRID), BACKGROUND)
        base[target] = goal_tile
        states = walk(base, shortest_path(np.ones((GRID, GRID), dtype=bool), start, target, rng), agent)
        prompt = self.prompt.format(colour=colour_name(colour))
        meta = {"agent": agent, "target_tile": goal_tile, "start": list(start), "target": list(target),
                "mover": agent}
        return Episode(states, prompt, meta)

    def goal(self, final, instance):
        m = instance.meta
        return reach_goal(final, m["agent"], tuple(m["start"]), tuple(m["target"]), np.ones((GRID, GRID), dtype=bool))

    def process(self, states, instance):
        return agent_rules(states, instance.meta)[1]


class PlainStroll(Stroll):
    """The same task in other words, without a query rule of its own."""

    name = "plain_stroll"
    prompt = "Walk the {colour} block to the green ring."
    queries = None


@pytest.fixture
def registered(monkeypatch):
    """Registers Stroll and PlainStroll for one test; the registry is restored after it."""
    monkeypatch.setattr(registry._REGISTRY, "targets", dict(registry._REGISTRY.targets))
    monkeypatch.setattr(registry, "_LOADED", dict(registry._LOADED))
    builtin = registry.family_names()
    registry.register(Stroll)
    registry.register(PlainStroll)
    return builtin


def test_a_registered_family_is_found_by_name_after_the_built_in_ones(registered):
    assert isinstance(registry.get_family("stroll"), Stroll)
    assert registry.family_names() == [*registered, "stroll", "plain_stroll"]
    assert [f.name for f in registry.all_families()][-2:] == ["stroll", "plain_stroll"]


def test_register_refuses_a_taken_name_and_a_non_family(registered):
    with pytest.raises(TaskError, match="'stroll' is already registered"):
        registry.register(Stroll)
    with pytest.raises(TaskError, match="maze"):
        registry.register(type("Maze2", (Stroll,), {"name": "maze"}))
    with pytest.raises(TaskError, match="TaskFamily subclass"):
        registry.register(Stroll())


def test_the_rule_book_asks_a_registered_family_its_own_queries(registered):
    family = registry.get_family("stroll")
    for d in range(family.difficulty_range[0], family.difficulty_range[1] + 1):
        for seed in range(20):
            inst = family.generate(seed, d)
            assert rulebook.match(inst.prompt).name == "stroll", inst.prompt
            q = rulebook.propose(inst.prompt)
            assert q.source == "rulebook" and q.checks == ("goal", "one_cell_per_frame", "agent_intact")
            assert set(q.checks) <= set(family.score(inst.ground_truth, inst).parts)
            colour = colour_name(int(outer_of(inst.meta["agent"])))
            assert q.goal == f"By the end of the video, is the {colour} block on the green ring?"
            assert [c for _, c in rulebook.catalog(inst.prompt)] == [*q.checks, "target_stays"]
    assert "Does the  block move only one cell at a time?" in rulebook.all_query_texts()


def test_a_family_without_a_rule_gets_the_generic_queries(registered):
    family = registry.get_family("plain_stroll")
    assert [r.name for r in rulebook.rules()][-1] == "stroll"  # plain_stroll has no rule
    for seed in range(10):
        prompt = family.generate(seed).prompt
        assert rulebook.match(prompt) is None
        assert rulebook.propose(prompt) == rulebook.generic_queries()
        assert rulebook.catalog(prompt) == [(t, c) for t, c in zip(rulebook.generic_queries().texts, ("goal", "process"))]


def test_the_rule_book_forgets_a_family_once_the_registry_does(registered, monkeypatch):
    assert "stroll" in [r.name for r in rulebook.rules()]
    monkeypatch.undo()
    assert "stroll" not in [r.name for r in rulebook.rules()]
    assert rulebook.match("Walk the red block across the empty board to the green ring.") is None


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_a_registered_family_passes_every_registry_wide_property_check(registered, check):
    check("stroll")
