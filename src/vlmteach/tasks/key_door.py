"""key_door: walk a block onto the key of a locked door's colour, then onto that door to open it."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.gridpath import STEPS, Cell, distances, manhattan, shortest_path
from vlmteach.tasks.palette import BACKGROUND, OBJECT_COLOURS, WALL, WHITE, colour_name, ring, tile
from vlmteach.tasks.queries import QueryRule, colour_before

GRID = 8
# difficulty -> (length of the wall segment holding the door, range of extra wall cells,
#                decoy key of another colour?, range of the total path length in moves)
LEVELS = {
    1: (3, (0, 2), False, (4, 8)),
    2: (5, (3, 6), False, (7, 12)),
    3: (5, (5, 9), True, (10, 15)),
}
PROMPTS = (
    "Open the {door} door in the grey wall: the {agent} block must first pick up the matching key, "
    "then walk onto the door.",
    "The {door} door is locked. Walk the {agent} block onto the {door} key to pick it up, then onto the "
    "door to open it; grey walls cannot be crossed.",
    "Move the {agent} block to collect the key that fits the {door} door, then unlock the door by "
    "stepping onto it, one cell at a time.",
    "Guide the {agent} block: fetch the {door} key first, then step into the {door} door to open it.",
)


def key_tile(colour: int) -> int:
    """A key is a ring of its door's colour around a white centre (legible apart from blocks)."""
    return ring(colour, WHITE)


def _pick(rng: np.random.Generator, dist: np.ndarray, lo: int, hi: int) -> Cell | None:
    """A random cell whose BFS distance lies in [lo, hi], or None."""
    cells = np.argwhere((dist >= lo) & (dist <= hi))
    if len(cells) == 0:
        return None
    return tuple(int(v) for v in cells[rng.integers(len(cells))])


def wall_step(path: list[Cell], walls: np.ndarray, avoid: Cell) -> tuple[int, Cell] | None:
    """The first frame t (not the first or last, not on `avoid`) whose path cell has a wall
    neighbour, with that wall cell: where a "wall_cross" corruption can step into a wall."""
    for t in range(1, len(path) - 1):
        r, c = path[t]
        if (r, c) == avoid:
            continue
        for dr, dc in STEPS:
            nr, nc = r + dr, c + dc
            if 0 <= nr < GRID and 0 <= nc < GRID and walls[nr, nc]:
                return t, (nr, nc)
    return None


def _slots(prompt: str) -> dict[str, str]:
    """{a} the block's colour, {d} the door's (and its key's)."""
    return {"a": colour_before("block", prompt), "d": colour_before("(?:door|key)", prompt)}


class KeyDoor(TaskFamily):
    name = "key_door"
    faculty = "knowledge"
    split = "in"
    summary = "block picks up the key of a door's colour, then opens that door"
    difficulty_range = (1, 3)
    default_difficulty = 2
    corruptions = TaskFamily.corruptions + ("wall_cross",)
    queries = QueryRule(
        (r"\bblock\b", r"\bkey\b", r"\bdoor\b"), _slots,
        ("By the end of the video, has the {a} block opened the {d} door?", "goal"),
        (("Does the {a} block pick up the {d} key before it reaches the door?", "key_before_door"),
         ("Does the {a} block stay out of the grey walls?", "walls_intact"),
         ("Does the {d} key stay in its place until the {a} block picks it up?", "keys_intact")),
        (("Does the {a} block move only one cell at a time?", "one_cell_per_frame"),
         ("Does the {a} block stay in one piece, without splitting or vanishing?", "agent_intact"),
         ("Does the {a} block never stand on a grey wall cell?", "agent_off_walls")))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        seg_len, (w_lo, w_hi), with_decoy, (lo, hi) = LEVELS[difficulty]
        agent_c, door_c, decoy_c = (int(c) for c in rng.choice(OBJECT_COLOURS, 3, replace=False))
        walls = np.zeros((GRID, GRID), dtype=bool)
        # the door sits in the middle of a straight grey wall segment that lies fully on the grid
        half, axis = seg_len // 2, int(rng.integers(2))
        door_at = [int(rng.integers(GRID)), int(rng.integers(GRID))]
        door_at[axis] = int(rng.integers(half, GRID - half))
        door = (door_at[0], door_at[1])
        for d in range(-half, half + 1):
            cell = list(door)
            cell[axis] += d
            walls[tuple(cell)] = True
        walls[door] = False
        free = np.argwhere(~walls)
        free = free[(free != door).any(axis=1)]
        n_extra = int(rng.integers(w_lo, w_hi + 1))
        picks = free[rng.choice(len(free), n_extra + 1, replace=False)]
        walls[tuple(picks[1:].T)] = True
        decoy = tuple(int(v) for v in picks[0]) if with_decoy else None

        open_to_door = ~walls  # the decoy key is never walked over
        if decoy is not None:
            open_to_door[decoy] = False
        open_to_key = open_to_door.copy()  # before the key is taken the door is locked
        open_to_key[door] = False
        # draw the key, then the start, at distances that keep both legs >= 2 and the total in range
        to_door = distances(open_to_door, door)
        key = _pick(rng, to_door, 2, hi - 2)
        if key is None:
            return None
        d2 = int(to_door[key])
        start = _pick(rng, distances(open_to_key, key), max(2, lo - d2), hi - d2)
        if start is None or manhattan(start, door) < 2:  # a one-cell jump to the door must be illegal
            return None
        leg1 = shortest_path(open_to_key, start, key, rng)
        leg2 = shortest_path(open_to_door, key, door, rng)
        path = leg1 + leg2[1:]
        if wall_step(path, walls, key) is None:  # the "wall_cross" corruption needs a wall by the path
            return None

        agent, door_tile, key_code = tile(agent_c), tile(door_c), key_tile(door_c)
        base = np.where(walls, WALL, BACKGROUND)
        base[door], base[key] = door_tile, key_code
        if decoy is not None:
            base[decoy] = key_tile(decoy_c)
        states = []
        for i, cell in enumerate(path):
            if i == len(leg1):  # the agent has stood on the key: it is taken
                base[key] = BACKGROUND
            s = base.copy()
            s[cell] = agent
            states.append(s)
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(
            agent=colour_name(agent_c), door=colour_name(door_c))
        meta = {
            "agent": agent, "key_tile": key_code, "door_tile": door_tile,
            "decoy_tile": key_tile(decoy_c) if decoy is not None else None,
            "start": list(start), "key": list(key), "door": list(door),
            "decoy": list(decoy) if decoy is not None else None,
            "legs": [len(leg1) - 1, len(leg2) - 1], "mover": agent,
        }
        return Episode(states, prompt, meta)

    def _open_masks(self, instance: Instance) -> tuple[np.ndarray, np.ndarray]:
        """Walkable cells before the key is taken (door locked) and after (door open)."""
        s0, m = instance.states[0], instance.meta
        to_door = s0 != WALL
        if m["decoy"] is not None:
            to_door[tuple(m["decoy"])] = False
        to_key = to_door.copy()
        to_key[tuple(m["door"])] = False
        return to_key, to_door

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        m = instance.meta
        where = np.argwhere(final == m["agent"])
        if len(where) != 1:
            return 0.0
        pos = tuple(int(v) for v in where[0])
        door, key = tuple(m["door"]), tuple(m["key"])
        to_key, to_door = self._open_masks(instance)
        if (final == m["key_tile"]).any():
            # key still on the board: partial credit for progress towards it, at most 0.4
            d = distances(to_key, key)[pos]
            return 0.0 if d < 0 else 0.4 * max(0.0, 1.0 - d / m["legs"][0])
        if pos == door:
            return 1.0
        # key collected (0.5), plus progress towards the door, capped below success
        d = distances(to_door, door)[pos]
        return 0.5 if d < 0 else 0.5 + 0.4 * max(0.0, 1.0 - d / m["legs"][1])

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        m = instance.meta
        s0 = instance.states[0]
        walls = s0 == WALL
        agent, key_code, door, key = m["agent"], m["key_tile"], tuple(m["door"]), tuple(m["key"])
        limit = rules.step_limit(len(states))
        path = rules.track(states, agent)
        key_on_board = (states == key_code).any(axis=(1, 2))
        on_door = states[:, door[0], door[1]] == agent
        # The key may leave its cell only once the agent has reached it (within one sampled step,
        # as a short video may skip the frame with the agent on the key); no key appears elsewhere.
        near = np.array([p is not None and manhattan(p, key) <= limit - 1 for p in path])
        reached = np.maximum.accumulate(near)
        at_key = states[:, key[0], key[1]] == key_code
        keys_ok = (reached | at_key) & ((states == key_code).sum(axis=(1, 2)) == at_key)
        if m["decoy"] is not None:
            keys_ok &= states[:, m["decoy"][0], m["decoy"][1]] == m["decoy_tile"]
        return {
            "walls_intact": rules.region_static(states, walls, s0),
            "agent_intact": rules.count_ok(states, agent, 1),
            "one_cell_per_frame": rules.moves_ok(path, limit),
            "agent_off_walls": rules.never_on(path, walls),
            "key_before_door": rules.frame_rule(~(on_door & key_on_board)),
            "keys_intact": rules.frame_rule(keys_ok),
        }

    def special_corruptions(self, instance: Instance) -> dict[str, np.ndarray]:
        """wall_cross: for one frame the agent steps into a wall cell next to its path."""
        s, agent = instance.states.copy(), instance.meta["agent"]
        walls = instance.states[0] == WALL
        path = rules.track(instance.states[: instance.solve_frame + 1], agent)
        step = wall_step(path, walls, tuple(instance.meta["key"]))
        if step is None:
            return {}
        t, wall = step
        s[t][path[t]], s[t][wall] = BACKGROUND, agent  # path cells off the key are plain floor
        return {"wall_cross": s}
