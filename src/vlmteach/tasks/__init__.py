"""The task layer: procedurally generated visual reasoning tasks with rule-based scorers."""

from vlmteach.tasks.base import FACULTIES, SPLITS, Episode, Instance, Score, TaskFamily
from vlmteach.tasks.registry import all_families, family_names, get_family

__all__ = [
    "FACULTIES", "SPLITS", "Episode", "Instance", "Score", "TaskFamily",
    "all_families", "family_names", "get_family",
]
