"""The row groups the development benchmarks print (benchmarks/judge.py, grad_alignment.py,
pixel_descent.py): each family, in-domain families first, then each split, then everything."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from vlmteach.tasks.base import SPLITS

T = TypeVar("T")


def family_groups(items: Sequence[T], where: Callable[[T], tuple[str, str]]) -> list[tuple[str, list[T]]]:
    """(label, items) pairs: one per family, ordered by split then name; "all in" and "all ood" for
    the splits present; "all". `where(item)` gives the item's (family, split)."""
    keys = [where(item) for item in items]
    fams = sorted(set(keys), key=lambda k: (k[1], k[0]))
    groups = [(fam, [x for x, k in zip(items, keys) if k == (fam, split)]) for fam, split in fams]
    for split in SPLITS:
        sub = [x for x, k in zip(items, keys) if k[1] == split]
        if sub:
            groups.append((f"all {split}", sub))
    return [*groups, ("all", list(items))]
