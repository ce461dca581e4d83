"""Scoring pieces shared by the navigation families (an agent walks to a target ring): the goal with
progress credit along open cells, and the agent's own process rules."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.gridpath import Cell, distances


def reach_goal(final: np.ndarray, agent: int, start: Cell, target: Cell, open_mask: np.ndarray) -> float:
    """1 when the single agent stands on the target; else 0.5 x its progress in BFS distance over
    `open_mask` (capped well below success); 0 when it is missing, split or off the open cells."""
    where = np.argwhere(final == agent)
    if len(where) != 1:
        return 0.0
    pos = (int(where[0, 0]), int(where[0, 1]))
    if pos == target:
        return 1.0
    dist = distances(open_mask, target)
    if dist[pos] < 0:
        return 0.0
    return 0.5 * max(0.0, 1.0 - dist[pos] / dist[start])


def agent_rules(states: np.ndarray, meta: dict) -> tuple[list[Cell | None], dict[str, float]]:
    """The agent's track and its rules: intact, one cell per frame, the target ring stays put."""
    agent, target = meta["agent"], tuple(meta["target"])
    path = rules.track(states, agent)
    return path, {
        "agent_intact": rules.count_ok(states, agent, 1),
        "one_cell_per_frame": rules.moves_ok(path, rules.step_limit(len(states))),
        "target_stays": rules.frame_rule([f[target] in (agent, meta["target_tile"]) for f in states]),
    }
