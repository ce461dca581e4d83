"""The small colour palette of the built-in tasks and the tile codes built from it.

A grid cell is drawn as a *tile*: an outer ring of one colour around an inner square of another
(a filled tile has both the same). Tile code = outer * PALETTE_SIZE + inner, so a grid state is a
plain integer array and scoring never depends on pixels beyond the nearest palette colour.
"""

from __future__ import annotations

import numpy as np

# Name -> RGB. Pairwise distances are >= 80 (of 441), so cells classify robustly under noise.
COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "grey": (128, 128, 128),
    "red": (230, 30, 30),
    "green": (30, 190, 60),
    "blue": (40, 80, 230),
    "yellow": (250, 220, 30),
    "purple": (150, 50, 200),
    "orange": (250, 140, 20),
    "cyan": (40, 220, 230),
    "pink": (250, 130, 200),
    "brown": (140, 80, 30),
    "dark grey": (64, 64, 64),
}
NAMES: tuple[str, ...] = tuple(COLOURS)
PALETTE_SIZE = 16  # room to grow; tile codes stay stable when colours are added
RGB = np.array([COLOURS[n] for n in NAMES], dtype=np.float32) / 255.0  # (P, 3)

BLACK, WHITE, GREY, RED, GREEN, BLUE, YELLOW, PURPLE, ORANGE, CYAN, PINK, BROWN, DARK_GREY = range(13)
# Colours that tasks use for movable, nameable objects (walls, background and "off" stay apart).
OBJECT_COLOURS: tuple[int, ...] = (RED, GREEN, BLUE, YELLOW, PURPLE, ORANGE, CYAN, PINK, BROWN)


def colour_index(name: str) -> int:
    """Palette index of a colour name."""
    return NAMES.index(name)


def colour_name(index: int) -> str:
    """Colour name of a palette index."""
    return NAMES[index]


def join_names(names: list[str]) -> str:
    """'red', 'red and blue', 'red, blue and green': colour names as a natural list."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def tile(outer: int, inner: int | None = None) -> int:
    """Tile code for an outer colour and an inner colour (filled when `inner` is None)."""
    return outer * PALETTE_SIZE + (outer if inner is None else inner)


def ring(colour: int, inner: int = BLACK) -> int:
    """A hollow tile: a ring of `colour` around `inner` (markers, stars, targets)."""
    return tile(colour, inner)


def outer_of(code: int | np.ndarray) -> int | np.ndarray:
    return code // PALETTE_SIZE


def inner_of(code: int | np.ndarray) -> int | np.ndarray:
    return code % PALETTE_SIZE


BACKGROUND = tile(BLACK)
WALL = tile(GREY)
