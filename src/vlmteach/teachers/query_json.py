"""What every generating teacher asks and how its answers are read: the prompts for writing queries,
rewriting an instruction and critiquing a video, the JSON validation of written queries, and the
marked fallback to the generic queries. Shared by openai_chat and qwen_vl so both behave alike."""

from __future__ import annotations

import json
import re

from vlmteach.teachers.base import DEFAULT_LAM, QuerySet
from vlmteach.teachers.rulebook import generic_queries

PROPOSE = (
    "You supervise a video generation model that must solve a visual reasoning task. The image is the "
    "first frame; the instruction is: {prompt!r}. Write yes/no supervision questions about the generated "
    "video: one goal question about the final objective and 1 to 3 process questions about rules the "
    "video must follow on the way (objects stay intact, move legally, nothing else changes, ...). Phrase "
    "every question so that the answer Yes means satisfied. Answer with JSON only: "
    '{{"goal": "...?", "process": ["...?", ...]}}')
REWRITE = ("Rewrite this instruction for a video generation model so that it is explicit and unambiguous "
           "about what must happen, given the first frame shown. Instruction: {prompt!r}.{feedback} "
           "Answer with the new instruction only.")
CRITIQUE = ("These are frames of a video generated for the instruction {prompt!r}. List briefly what the "
            "video does wrong, one problem per line starting with '- '. If nothing is wrong, answer 'OK'.")
_QUESTION = re.compile(r"^(is|are|does|do|did|has|have|can|will|was|were)\b.*\?$", re.IGNORECASE)


def parse_queries(text: str, lam: float = DEFAULT_LAM) -> QuerySet:
    """A validated QuerySet from the model's JSON answer (fenced or bare); raises ValueError."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        raise ValueError("no JSON object in the answer")
    data = json.loads(match.group(0))
    goal, process = data.get("goal"), data.get("process")
    if not isinstance(goal, str) or not isinstance(process, list) or not 1 <= len(process) <= 3:
        raise ValueError("expected one goal string and a list of 1 to 3 process questions")
    texts = [goal.strip(), *(str(p).strip() for p in process)]
    bad = [t for t in texts if not _QUESTION.match(t)]
    if bad:
        raise ValueError(f"not a yes/no question: {bad[0]!r}")
    return QuerySet(goal=texts[0], process=tuple(texts[1:]), lam=lam, source="generated")


def retry_note(error: Exception) -> str:
    """The follow-up sent after a malformed query answer, naming what was wrong."""
    return f"Your answer was invalid ({error}). Answer with the JSON object only."


def rewrite_request(prompt: str, feedback: str | None = None) -> str:
    """The rewrite request, with the critique of the last attempt when there is one."""
    note = f" Problems with the last attempt:\n{feedback}" if feedback else ""
    return REWRITE.format(prompt=prompt, feedback=note)


def critique_result(answer: str) -> str:
    """A critique answer as the methods use it: "" when the model found nothing wrong."""
    answer = answer.strip()
    return "" if answer.upper().startswith("OK") else answer


def fallback_queries() -> QuerySet:
    """The generic queries, marked (source "generic-fallback") so a run's trace shows the writer failed."""
    generic = generic_queries()
    return QuerySet(generic.goal, generic.process, generic.lam, "generic-fallback", generic.checks)
