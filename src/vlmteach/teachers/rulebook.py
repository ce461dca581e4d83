"""The tiny teacher's query rule book: yes/no goal and process queries derived from the prompt text.

This is a rule book keyed on what the prompt says (its key words and the colours it names), written
for the built-in task families; it stands in for the query generation a real VLM teacher performs
(teachers/qwen_vl, teachers/openai_chat generate queries). Each query carries a `check`: the name of
the rule-based scorer part it asks about, used to label the teacher's training data and to diagnose
it, never by the method. Prompts it does not recognise get the generic queries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from vlmteach.tasks.palette import NAMES
from vlmteach.teachers.base import QuerySet

_COLOUR = "|".join(sorted(NAMES, key=len, reverse=True))
MIXES = {frozenset({"red", "blue"}): "purple", frozenset({"red", "yellow"}): "orange",
         frozenset({"blue", "yellow"}): "green", frozenset({"red", "white"}): "pink"}
GENERIC = (("By the end of the video, is the task completed?", "goal"),
           (("Does every step of the video follow the rules of the task?", "process"),))


def _before(noun: str, prompt: str, default: str = "coloured") -> str:
    """The colour word right before `noun` (e.g. 'red' in 'the red ball')."""
    m = re.search(rf"\b({_COLOUR}) {noun}", prompt.lower())
    return m.group(1) if m else default


def _colours(prompt: str) -> list[str]:
    return re.findall(rf"\b({_COLOUR})\b", prompt.lower())


def _agent(noun: str) -> Callable[[str], dict[str, str]]:
    return lambda p: {"a": _before(noun, p), "t": _before("(?:square|ring|target)", p, "green")}


def _mix(p: str) -> dict[str, str]:
    a, b = (_colours(p) + ["coloured", "coloured"])[:2]  # the prompt names exactly the two blocks
    return {"a": a, "b": b, "m": MIXES.get(frozenset({a, b}), "mixed")}


def _lights(p: str) -> dict[str, str]:
    m = re.search(r"(left|right)most (\w+)|(\w+) lights? on the (left|right) end", p.lower())
    side, k = (m.group(1), m.group(2)) if m and m.group(1) else ((m.group(4), m.group(3)) if m else ("right", "some"))
    return {"side": side, "k": k, "lights": "light" if k == "one" else "lights"}


def _rotation(p: str) -> dict[str, str]:
    sense = "counter-clockwise" if "counter" in p.lower() else "clockwise"
    return {"h": _before("hand", p), "m": _before("(?:marker|ring|circle)", p), "s": sense}


def _puzzle(p: str) -> dict[str, str]:
    m = re.search(r"(?:reads?|shows) (.+? in the bottom row|.+? in the top row)", p.lower())
    return {"rows": m.group(1) if m else "the described order"}


@dataclass(frozen=True)
class Rule:
    """Queries for prompts matching `pattern`: templates with their scorer checks. `process` are the
    (at most three) process queries the method asks: the task's defining rules and those the tiny
    reasoner breaks most often within an instance (measured on its samples of training seeds); `more`
    covers the family's remaining rules, so that the teacher learns to judge every one of them.
    `patterns` must all occur in a prompt for the rule to answer: a family's object, its action and
    its target together, so that a foreign task that shares one word (a "sort" of circles, a puzzle
    of numbered tiles) gets the generic queries rather than another task's."""

    name: str
    patterns: tuple[str, ...]
    slots: Callable[[str], dict[str, str]]
    goal: tuple[str, str]
    process: tuple[tuple[str, str], ...]
    more: tuple[tuple[str, str], ...] = ()


RULES: tuple[Rule, ...] = (
    Rule("maze", (r"\bball\b", r"\bmaze|\bcorridors?\b|\bwalls?\b", r"\bsquare\b|\btarget\b"), _agent("ball"),
         ("By the end of the video, is the {a} ball on the {t} square?", "goal"),
         (("Does the {a} ball stay out of the grey walls?", "walls_intact"),
          ("Does the {t} square stay in its place until the {a} ball reaches it?", "target_stays"),
          ("Does the {a} ball stay in one piece, without splitting or vanishing?", "agent_intact")),
         (("Does the {a} ball move only one cell at a time?", "one_cell_per_frame"),)),
    Rule("grid_avoid_obstacles", (r"\bblock\b", r"\bred x cells?\b"), _agent("block"),
         ("By the end of the video, is the {a} block on the {t} ring?", "goal"),
         (("Does the {a} block avoid every red X cell?", "never_on_x"),
          ("Does the {t} ring stay in its place until the {a} block reaches it?", "target_stays"),
          ("Do the red X cells stay unchanged?", "x_cells_intact")),
         (("Does the {a} block stay in one piece, without splitting or vanishing?", "agent_intact"),
          ("Does the {a} block move only one cell at a time?", "one_cell_per_frame"))),
    Rule("grid_shortest_path", (r"\bblock\b", r"shortest (?:possible )?(?:route|way|path)|fewest|as few moves",
                               r"\b(?:ring|target|square)\b"), _agent("block"),
         ("By the end of the video, is the {a} block on the {t} ring?", "goal"),
         (("Does the {a} block take a shortest route, without wasted steps?", "shortest_route"),
          ("Does the {a} block stay out of the grey walls?", "walls_intact"),
          ("Does the {t} ring stay in its place until the {a} block reaches it?", "target_stays")),
         (("Does the {a} block move only one cell at a time?", "one_cell_per_frame"),
          ("Does the {a} block stay in one piece, without splitting or vanishing?", "agent_intact"))),
    Rule("key_door", (r"\bblock\b", r"\bkey\b", r"\bdoor\b"), lambda p: {"a": _before("block", p), "d": _before("(?:door|key)", p)},
         ("By the end of the video, has the {a} block opened the {d} door?", "goal"),
         (("Does the {a} block pick up the {d} key before it reaches the door?", "key_before_door"),
          ("Does the {a} block stay out of the grey walls?", "walls_intact"),
          ("Does the {d} key stay in its place until the {a} block picks it up?", "keys_intact")),
         (("Does the {a} block move only one cell at a time?", "one_cell_per_frame"),
          ("Does the {a} block stay in one piece, without splitting or vanishing?", "agent_intact"),
          ("Does the {a} block never stand on a grey wall cell?", "agent_off_walls"))),
    Rule("color_addition", (r"\bblocks?\b", r"\bmix|\bblend", r"\bcolou?r\b|\bmerge|\bone block"), _mix,
         ("By the end of the video, have the {a} and {b} blocks merged into one {m} block?", "goal"),
         (("Do the blocks slide only one cell at a time?", "one_cell_per_frame"),
          ("Does everything else stay where it is?", "rest_static"),
          ("Are there two separate blocks until they merge, and one block after?", "blocks_consistent"))),
    Rule("sliding_puzzle", (r"puzzle|\btiles?\b", r"\bthe gap\b|\bempty (?:slot|space)",
                           r"\b(?:top|middle|bottom) row\b"), _puzzle,
         ("By the end of the video, does the board read {rows}?", "goal"),
         (("Does only one tile slide into the gap at each step?", "one_slide_per_frame"),
          ("Do all the tiles keep their colours, none lost or doubled?", "tiles_intact"),
          ("Does everything outside the board stay unchanged?", "frame_static"))),
    Rule("object_to_marker", (r"\bsquares?\b|\bobjects?\b", r"\bstars?\b", r"\bcolou?rs?\b|\bmatching\b"), lambda p: {},
         ("By the end of the video, is every square on the star of its own colour?", "goal"),
         (("Does only one square move at a time?", "one_object_at_a_time"),
          ("Does each square keep its colour, without splitting or vanishing?", "objects_intact"),
          ("Do the squares keep off the stars of other colours?", "markers_stay")),
         (("Does each square move only one cell at a time?", "one_cell_per_frame"),)),
    Rule("gravity", (r"\bblocks?\b", r"\bfall|\bdrop", r"\bfloor\b|\brest\b|\bland\b|\bledge"), lambda p: {},
         ("By the end of the video, do all blocks rest on the floor, a ledge or another block?", "goal"),
         (("Do the blocks fall straight down, never sideways or up?", "falls_straight_down"),
          ("Do the blocks fall only one cell per step?", "one_cell_per_frame"),
          ("Do all blocks keep their colour, none lost or doubled?", "blocks_intact")),
         (("Do the grey floor and ledges stay unchanged?", "floor_static"),)),
    Rule("rotation", (r"\bhand\b", r"\bpoints? (?:at|to)\b|\bmarker\b", r"\bturn|\brotate|\bsweep|clockwise"), _rotation,
         ("By the end of the video, does the {h} hand point at the {m} marker?", "goal"),
         (("Does the {h} hand turn {s}?", "turn_direction"),
          ("Does the {h} hand turn only one eighth of a turn per step?", "one_step_per_frame"),
          ("Does the {h} hand stay a straight, unbroken line?", "hand_intact")),
         (("Does the centre of the dial stay unchanged?", "centre_static"),
          ("Does the {m} marker stay in its place?", "marker_stays"))),
    Rule("stable_sort", (r"\bbars\b", r"\bsort|\border\b|\barrange", r"\bheight|shortest|tallest"), lambda p: {},
         ("By the end of the video, are the bars sorted from shortest to tallest?", "goal"),
         (("Do bars of equal height keep their order?", "stable"),
          ("Does every bar keep its height and colour?", "bars_intact"),
          ("Does everything around the bars stay unchanged?", "background_static")),
         (("Are only two neighbouring bars swapped at each step?", "one_swap_per_frame"),)),
    Rule("symmetry_completion", (r"mirror|symmetr", r"\bpicture\b|\bdrawing\b|\bsquares?\b",
                                r"\bleft\b|\bvertical\b"), lambda p: {},
         ("By the end of the video, is the picture mirror-symmetric?", "goal"),
         (("Does every added square match its mirror image on the left?", "no_wrong_cells"),
          ("Is only one square added at each step?", "one_cell_per_frame"),
          ("Does the left half stay unchanged?", "left_static")),
         (("Do the squares already on the right stay unchanged?", "correct_right_static"),)),
    Rule("light_sequence", (r"\blights?\b|\blamps?\b", r"\b(?:left|right)most\b|\b(?:left|right) end\b"), _lights,
         ("By the end of the video, are exactly the {side}most {k} {lights} on?", "goal"),
         (("Does only one light change at each step?", "one_switch_per_frame"),
          ("Does every light stay a light, either yellow or dark?", "lights_intact"),
          ("Does everything apart from the lights stay unchanged?", "rest_static"))),
    Rule("counting", (r"\btokens?\b", r"\btray\b", r"\brings?\b"), lambda p: {"c": _before("(?:rings?|circles?)", p)},
         ("By the end of the video, does the tray hold one token for each {c} ring?", "goal"),
         (("Is only one token added at each step?", "one_token_per_frame"),
          ("Are the tokens placed from the left without gaps?", "left_to_right"),
          ("Does the scene above the tray stay unchanged?", "scene_static")),
         (("Does the tray hold only empty slots and tokens?", "tray_intact"),)),
)


def match(prompt: str) -> Rule | None:
    """The first rule whose patterns all occur in the prompt (case-insensitive), or None."""
    low = prompt.lower()
    return next((r for r in RULES if all(re.search(p, low) for p in r.patterns)), None)


def propose(prompt: str, lam: float = 0.5) -> QuerySet:
    """Task-specific queries for a prompt, or the generic ones when no rule matches."""
    rule = match(prompt)
    if rule is None:
        return generic_queries(lam)
    slots = rule.slots(prompt)
    texts = [rule.goal, *rule.process]
    return QuerySet(goal=texts[0][0].format(**slots), process=tuple(t.format(**slots) for t, _ in texts[1:]),
                    lam=lam, source="rulebook", checks=tuple(c for _, c in texts))


def catalog(prompt: str) -> list[tuple[str, str]]:
    """Every (query, check) the rule book knows for the prompt, goal first: the queries `propose`
    asks and the family's other rules (the tiny teacher is trained on all); generic ones if unknown."""
    rule = match(prompt)
    if rule is None:
        q = generic_queries()
        return list(zip(q.texts, q.checks))
    slots = rule.slots(prompt)
    return [(t.format(**slots), c) for t, c in (rule.goal, *rule.process, *rule.more)]


def generic_queries(lam: float = 0.5) -> QuerySet:
    """Fixed queries that ignore the task (the "generic queries" ablation and the fallback)."""
    (goal, gcheck), process = GENERIC
    return QuerySet(goal=goal, process=tuple(t for t, _ in process), lam=lam, source="generic",
                    checks=(gcheck, *(c for _, c in process)))


def all_query_texts() -> list[str]:
    """Every query the rule book can write (all colours and slot values), for a fixed vocabulary."""
    words = list(NAMES) + ["light", "lights", "left", "right", "clockwise", "counter-clockwise", "coloured", "mixed", "some",
                           "the gap", "in the top row", "in the middle row", "in the bottom row"]
    words += ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight"]
    texts = [GENERIC[0][0], *(t for t, _ in GENERIC[1])]
    for rule in RULES:
        for template, _ in (rule.goal, *rule.process, *rule.more):
            texts.append(re.sub(r"\{\w+\}", "", template))
    texts.append(" ".join(words))
    return texts
