"""The tiny teacher's query rule book: yes/no goal and process queries derived from the prompt text.

Each task family carries its own rule (`TaskFamily.queries`, a tasks.queries.QueryRule in the family's
module: the key words of its prompts, the colours and other slots it reads from them, the query
templates); this module reads them from the task registry when asked (importing it loads no family),
in registry order, and answers for the first rule that matches. It stands in for the query generation a real VLM teacher
performs (teachers/qwen_vl, teachers/openai_chat generate queries). Each query carries a `check`: the
name of the rule-based scorer part it asks about, used to label the teacher's training data and to
diagnose it, never by the method. Prompts no rule recognises, and families without a rule, get the
generic queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vlmteach.tasks.queries import WORDS, QueryRule
from vlmteach.tasks.registry import all_families
from vlmteach.teachers.base import QuerySet

GENERIC = (("By the end of the video, is the task completed?", "goal"),
           (("Does every step of the video follow the rules of the task?", "process"),))


@dataclass(frozen=True)
class Rule:
    """A family's query rule under the family's name, as `match` answers."""

    name: str
    queries: QueryRule


def rules() -> tuple[Rule, ...]:
    """The rules of the registered families that have one, in registry order. Read from the registry
    at each use (it caches the families), so that importing the teachers loads no family module and a
    family registered later is seen."""
    return tuple(Rule(f.name, f.queries) for f in all_families() if f.queries is not None)


def match(prompt: str) -> Rule | None:
    """The first rule whose patterns all occur in the prompt (case-insensitive), or None."""
    return next((r for r in rules() if r.queries.matches(prompt)), None)


def propose(prompt: str, lam: float = 0.5) -> QuerySet:
    """Task-specific queries for a prompt, or the generic ones when no rule matches."""
    rule = match(prompt)
    if rule is None:
        return generic_queries(lam)
    slots = rule.queries.slots(prompt)
    texts = [rule.queries.goal, *rule.queries.process]
    return QuerySet(goal=texts[0][0].format(**slots), process=tuple(t.format(**slots) for t, _ in texts[1:]),
                    lam=lam, source="rulebook", checks=tuple(c for _, c in texts))


def catalog(prompt: str) -> list[tuple[str, str]]:
    """Every (query, check) the rule book knows for the prompt, goal first: the queries `propose`
    asks and the family's other rules (the tiny teacher is trained on all); generic ones if unknown."""
    rule = match(prompt)
    if rule is None:
        q = generic_queries()
        return list(zip(q.texts, q.checks))
    slots = rule.queries.slots(prompt)
    return [(t.format(**slots), c) for t, c in (rule.queries.goal, *rule.queries.process, *rule.queries.more)]


def generic_queries(lam: float = 0.5) -> QuerySet:
    """Fixed queries that ignore the task (the "generic queries" ablation and the fallback)."""
    (goal, gcheck), process = GENERIC
    return QuerySet(goal=goal, process=tuple(t for t, _ in process), lam=lam, source="generic",
                    checks=(gcheck, *(c for _, c in process)))


def all_query_texts() -> list[str]:
    """Every query the rule book can write (templates without their slots, then one line of every slot
    value), for a fixed vocabulary; the tiny teacher saves its vocabulary with its weights."""
    texts = [GENERIC[0][0], *(t for t, _ in GENERIC[1])]
    words = list(WORDS)
    for rule in rules():
        for template, _ in (rule.queries.goal, *rule.queries.process, *rule.queries.more):
            texts.append(re.sub(r"\{\w+\}", "", template))
        words += rule.queries.words
    texts.append(" ".join(words))
    return texts
