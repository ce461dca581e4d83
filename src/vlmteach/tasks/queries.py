"""Query rules: how a family's prompt is recognised and which yes/no queries a rule-based teacher asks
about it, so that each family carries its own (`TaskFamily.queries`) and a new family needs no edit
elsewhere. teachers/rulebook.py collects them from the registry; the slot helpers here read the colours
a prompt names, for the families' `slots` functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from vlmteach.tasks.palette import NAMES

COLOUR = "|".join(sorted(NAMES, key=len, reverse=True))  # longest first: "dark grey" before "grey"
# Words any rule's slots may write: the colour names and colour_before's default.
WORDS: tuple[str, ...] = (*NAMES, "coloured")

Slots = Callable[[str], dict[str, str]]


@dataclass(frozen=True)
class QueryRule:
    """Queries for prompts matching `patterns`: templates with their scorer checks. `process` are the
    (at most three) process queries the method asks: the task's defining rules and those the tiny
    reasoner breaks most often within an instance (measured on its samples of training seeds); `more`
    covers the family's remaining rules, so that the teacher learns to judge every one of them.
    `patterns` must all occur in a prompt for the rule to answer: a family's object, its action and
    its target together, so that a foreign task that shares one word (a "sort" of circles, a puzzle
    of numbered tiles) gets the generic queries rather than another task's. `slots` fills the
    templates' {fields} from the prompt; `words` are the values it can write besides WORDS (for the
    tiny teacher's fixed vocabulary, rulebook.all_query_texts)."""

    patterns: tuple[str, ...]
    slots: Slots
    goal: tuple[str, str]
    process: tuple[tuple[str, str], ...]
    more: tuple[tuple[str, str], ...] = ()
    words: tuple[str, ...] = ()

    def matches(self, prompt: str) -> bool:
        """Whether every pattern occurs in the prompt (case-insensitive)."""
        low = prompt.lower()
        return all(re.search(p, low) for p in self.patterns)


def no_slots(prompt: str) -> dict[str, str]:
    """For templates without {fields}."""
    return {}


def colour_before(noun: str, prompt: str, default: str = "coloured") -> str:
    """The colour word right before `noun` (a regex; e.g. 'red' in 'the red ball'), else `default`."""
    m = re.search(rf"\b({COLOUR}) {noun}", prompt.lower())
    return m.group(1) if m else default


def colours_in(prompt: str) -> list[str]:
    """Every colour word of the prompt, in order."""
    return re.findall(rf"\b({COLOUR})\b", prompt.lower())


def agent_slots(noun: str) -> Slots:
    """Slots of a navigation prompt: {a} the colour of the `noun` that moves, {t} its target's (green
    unless named)."""
    return lambda p: {"a": colour_before(noun, p), "t": colour_before("(?:square|ring|target)", p, "green")}
