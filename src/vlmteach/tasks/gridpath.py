"""Paths on grids for the navigation families: BFS distances, shortest paths, random mazes."""

from __future__ import annotations

from collections import deque

import numpy as np

Cell = tuple[int, int]
STEPS: tuple[Cell, ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))


def distances(open_mask: np.ndarray, start: Cell) -> np.ndarray:
    """BFS step counts from `start` over 4-connected open cells; -1 where unreachable."""
    h, w = open_mask.shape
    dist = np.full((h, w), -1, dtype=np.int64)
    if not open_mask[start]:
        return dist
    dist[start] = 0
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for dr, dc in STEPS:
            nr, nc = r + dr, c + dc
            if 0 <= nr < h and 0 <= nc < w and open_mask[nr, nc] and dist[nr, nc] < 0:
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return dist


def shortest_path(open_mask: np.ndarray, start: Cell, goal: Cell,
                  rng: np.random.Generator | None = None) -> list[Cell] | None:
    """One shortest 4-connected path from start to goal (both included), or None. With `rng`,
    ties between equally short paths are broken at random."""
    dist = distances(open_mask, goal)
    if dist[start] < 0:
        return None
    path = [start]
    while path[-1] != goal:
        r, c = path[-1]
        nxt = [(r + dr, c + dc) for dr, dc in STEPS
               if 0 <= r + dr < dist.shape[0] and 0 <= c + dc < dist.shape[1]
               and dist[r + dr, c + dc] == dist[r, c] - 1]
        path.append(nxt[int(rng.integers(len(nxt)))] if rng is not None else nxt[0])
    return path


def random_maze(rng: np.random.Generator, rooms: tuple[int, int]) -> np.ndarray:
    """A perfect maze as an open-cell mask of shape (2*rows-1, 2*cols-1), carved by randomized DFS.
    Rooms sit on even coordinates; odd cells between two rooms are opened where the DFS passes."""
    rows, cols = rooms
    open_mask = np.zeros((2 * rows - 1, 2 * cols - 1), dtype=bool)
    seen = np.zeros(rooms, dtype=bool)
    stack = [(int(rng.integers(rows)), int(rng.integers(cols)))]
    seen[stack[0]] = True
    open_mask[2 * stack[0][0], 2 * stack[0][1]] = True
    while stack:
        r, c = stack[-1]
        options = [(r + dr, c + dc) for dr, dc in STEPS
                   if 0 <= r + dr < rows and 0 <= c + dc < cols and not seen[r + dr, c + dc]]
        if not options:
            stack.pop()
            continue
        nr, nc = options[int(rng.integers(len(options)))]
        seen[nr, nc] = True
        open_mask[2 * nr, 2 * nc] = True
        open_mask[r + nr, c + nc] = True  # the cell between the two rooms
        stack.append((nr, nc))
    return open_mask


def manhattan(a: Cell, b: Cell) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def straight_route(start: Cell, goal: Cell, weight: np.ndarray, most: bool = True) -> list[Cell]:
    """A shortest route that ignores obstacles (monotone, Manhattan length) from start to goal,
    crossing the most (or, with most=False, the fewest) cells where the boolean `weight` is set:
    the route a solver takes when it ignores the obstacles, used to check and corrupt the tasks."""
    sr, sc = (1 if goal[0] >= start[0] else -1), (1 if goal[1] >= start[1] else -1)
    rows = start[0] + sr * np.arange(abs(goal[0] - start[0]) + 1)
    cols = start[1] + sc * np.arange(abs(goal[1] - start[1]) + 1)
    gain = weight[np.ix_(rows, cols)].astype(np.int64) * (1 if most else -1)
    best = gain.copy()
    best[0, 1:] += np.cumsum(gain[0, :-1])
    best[1:, 0] += np.cumsum(gain[:-1, 0])
    for i in range(1, len(rows)):
        for j in range(1, len(cols)):
            best[i, j] += max(best[i - 1, j], best[i, j - 1])
    i, j = len(rows) - 1, len(cols) - 1
    route = [(int(rows[i]), int(cols[j]))]
    while i or j:  # walk back along the better predecessor
        if j == 0 or (i > 0 and best[i - 1, j] >= best[i, j - 1]):
            i -= 1
        else:
            j -= 1
        route.append((int(rows[i]), int(cols[j])))
    return route[::-1]


def walk(base: np.ndarray, route: list[Cell], code: int) -> list[np.ndarray]:
    """One state per route cell: `base` with the one-cell object `code` drawn on that cell."""
    states = []
    for cell in route:
        s = base.copy()
        s[cell] = code
        states.append(s)
    return states
