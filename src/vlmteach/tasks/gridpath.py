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
