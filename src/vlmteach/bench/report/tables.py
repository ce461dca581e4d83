"""The report's tables as cells of text (header, body), shared by the terminal, report.md and
report.html, and the notes that go with them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlmteach.bench.report.stats import (
    COST_KEYS,
    MethodSummary,
    _faculty,
    _instance_key,
    _mean,
    _ok,
    _settled,
    _sort_faculties,
    paired,
)
from vlmteach.errors import VlmteachError
from vlmteach.methods.registry import budget_label, is_cost_reference, is_upper_bound, needs_budget
from vlmteach.tasks import FACULTIES, SPLITS
from vlmteach.tasks.generic import SCORER as GENERIC_SCORER

SPLIT_NAMES = {"in": "In-domain", "ood": "Out-of-domain"}
_SHORT = {"abstraction": "Abst", "knowledge": "Know", "perception": "Perc", "spatiality": "Spat",
          "transformation": "Trans", "unknown": "Unk"}


def summary_table(rows: Sequence[MethodSummary]) -> str:
    """The main table as fixed-width plain text, for the terminal."""
    header, body = _main_cells(rows, short=True)
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(map(line, body) if body else ["(no results)"])])


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _main_cells(rows: Sequence[MethodSummary], short: bool,
                results: Sequence[dict[str, Any]] = ()) -> tuple[list[str], list[list[str]]]:
    faculties = _sort_faculties({f for r in rows for f in r.faculties})
    kit = any(r.official is not None for r in rows)
    header = ["Method", "Overall", *(["Official"] if kit else []), "In" if short else "In-domain",
              "OOD" if short else "Out-of-domain", *[_SHORT.get(f, f) if short else f.capitalize() for f in faculties],
              "Wall s" if short else "Wall s / sample", "Steps", "n", "Failed"]
    body = [[_label(r.method), _fmt(r.overall), *([_fmt(r.official)] if kit else []), _fmt(r.in_domain),
             _fmt(r.ood), *[_fmt(r.faculties.get(f)) for f in faculties],
             _fmt(r.wall_s, ".2f"), _fmt(r.steps, ".1f"), str(r.n), str(r.failed)] for r in rows]
    if results and len(rows) > 1 and not short:  # each method against the first, on the same instances
        header[2 + kit:2 + kit] = [f"vs {rows[0].method} (SE)", "Settled?"]
        for r, cells in zip(rows, body):
            p = paired(results, r.method, rows[0].method) if r is not rows[0] else None
            extra = [f"{p.diff:+.3f} ({p.se:.3f})", _settled(p)] if p is not None else ["", ""]
            cells[2 + kit:2 + kit] = extra
    return header, body


SCORE_COLUMNS = ("Overall", "Official", "In-domain", "Out-of-domain", "In", "OOD",
                 *[f.capitalize() for f in FACULTIES], "Unknown")


def _best_cells(header: list[str], body: list[list[str]], rows: Sequence[MethodSummary]) -> set[tuple[int, int]]:
    """(row, column) of the best score in each score column, upper bounds left out (they use the
    ground truth); ties all marked."""
    marked = set()
    for j, name in enumerate(header):
        if name not in SCORE_COLUMNS:
            continue
        values = {i: float(row[j]) for i, row in enumerate(body)
                  if not is_upper_bound(rows[i].method) and row[j] not in ("", "-")}
        if len(values) > 1:
            top = max(values.values())
            marked |= {(i, j) for i, v in values.items() if v == top}
    return marked


def _scorer_kind(r: dict[str, Any]) -> str:
    scorer = r.get("scorer")
    if scorer is None:
        return "unrecorded"
    if scorer == GENERIC_SCORER:
        return "generic comparison"
    return "rules" if scorer == r.get("family") else str(scorer)


def scorer_note(results: Sequence[dict[str, Any]]) -> str:
    """Which scorer produced the numbers of each split column (and the official one), in words."""
    ok = [r for r in results if _ok(r)]
    parts = []
    for split in SPLITS:
        kinds = sorted({_scorer_kind(r) for r in ok if r.get("split") == split})
        if kinds:
            parts.append(f"{SPLIT_NAMES[split]}: {' and '.join(kinds)}")
    text = "Scorers: " + "; ".join(parts) + "." if parts else ""
    kinds = {_scorer_kind(r) for r in ok}
    if "rules" in kinds:
        text += " \"rules\": each family's rule-based scorer."
    if "generic comparison" in kinds:
        text += (" \"generic comparison\": the video's first and last frames compared with the sample's "
                 "first_frame.png and final_frame.png, and its smoothness. It is not the benchmark's metric: it "
                 "ranks methods on these samples and no more.")
    if any(r.get("official") is not None for r in ok):
        text += " Official: the score the VBVR-Bench evaluation kit gave the exported video (imported)."
    return text.strip()


def _label(method: str) -> str:
    return f"{method} (upper bound)" if is_upper_bound(method) else method


def _cost_cells(rows: Sequence[MethodSummary]) -> tuple[list[str], list[list[str]]]:
    """Calls and memory per method; with a pass_at_n row, each method's wall time as a multiple of
    its (the paper compares the method's cost with Pass@5's: 69 s against 70 s)."""
    ref = next((r for r in rows if is_cost_reference(r.method) and r.wall_s), None)
    memory = any("cuda" in r.peak_mem_kind for r in rows)  # per job on CUDA; on the CPU only the process's
    header = ["Method", "Reasoner fwd", "Reasoner bwd", "Teacher fwd", "Teacher bwd",
              *(["Peak memory MB"] if memory else [])]
    if ref is not None:
        header.append(f"Wall time / {ref.method}'s")
    body = []
    for r in rows:
        cells = [_label(r.method), *[_fmt(r.calls.get(k), ".1f") for k in COST_KEYS],
                 *([_fmt(r.peak_mem_mb, ".0f") + (f" ({r.peak_mem_kind})" if r.peak_mem_kind else "")]
                   if memory else [])]
        if ref is not None:
            cells.append(_fmt(r.wall_s / ref.wall_s if r.wall_s is not None else None, ".2f") + "x")
        body.append(cells)
    return header, body


def _cost_matched_pairs(order: list[str]) -> list[tuple[str, str]]:
    """(budget method, a method that spent its wall time) for each such method in the run."""
    try:
        provider = budget_label(order)
        return [(provider, m) for m in order if provider is not None and needs_budget(m)]
    except VlmteachError:  # a label no registered method answers to (one registered only at run time)
        return []


def _paired_cells(results: Sequence[dict[str, Any]], order: list[str]) -> tuple[list[str], list[list[str]]]:
    """Every method against the first (vanilla in a usual run), and the budget method (teacher_tto)
    against each method that spent its wall time (best_of_n[n=auto]) when both ran."""
    pairs = [(m, order[0]) for m in order[1:]] + _cost_matched_pairs(order)
    header = ["Method", "Against", "Difference", "Standard error", "Better / worse / n", "Settled?"]
    body = []
    for m, b in pairs:
        p = paired(results, m, b)
        if p is not None:
            body.append([_label(m), b, f"{p.diff:+.3f}", f"{p.se:.3f}", f"{p.better} / {p.worse} / {p.n}",
                         _settled(p)])
    return header, body


def _family_cells(results: Sequence[dict[str, Any]], order: list[str]) -> tuple[list[str], list[list[str]]]:
    kit = [m for m in order if any(r.get("official") is not None and r["method"] == m for r in results)]
    header = ["Family", "Split", "Faculty", "Scorer", *order, *[f"{m} (official)" for m in kit]]
    families: dict[tuple, dict[str, list[float]]] = {}
    scorers: dict[tuple, set[str]] = {}
    for r in sorted(results, key=_instance_key):
        key = (*_instance_key(r)[:3], _faculty(r))
        scores = families.setdefault(key, {})
        if _ok(r):
            scores.setdefault(r["method"], []).append(float(r["score"]))
            scorers.setdefault(key, set()).add(_scorer_kind(r))
            if r.get("official") is not None:
                scores.setdefault(f"{r['method']}\0official", []).append(float(r["official"]))
    body = [[family, SPLIT_NAMES.get(split, split), faculty, " and ".join(sorted(scorers.get(key, {"-"}))),
             *[_fmt(_mean(scores.get(m, []))) for m in order],
             *[_fmt(_mean(scores.get(f"{m}\0official", []))) for m in kit]]
            for key, scores in families.items() for (_, split, family, faculty) in [key]]
    return header, body


def _overview(rundir: Path, config: dict[str, Any], results: Sequence[dict[str, Any]]) -> str:
    ok = sum(_ok(r) for r in results)
    instances = len({_instance_key(r) for r in results})
    methods = len({r["method"] for r in results})
    suite = f"suite {config['suite']}, " if config.get("suite") else ""
    return (f"Run {rundir.name}: {suite}{len(results)} results ({ok} ok, {len(results) - ok} failed), "
            f"{instances} instances, {methods} methods.")


MEMORY_NOTE = ("Peak memory is shown for CUDA runs only: torch's peak allocation, reset for every job. On the "
               "CPU the operating system gives no per-job peak (the process's resident memory only grows over a "
               "run), so the column is left out.")
CONVENTIONS = ("Scores are in [0, 1]. In-domain and Out-of-domain: the mean over the split's families of "
               "each family's mean score (VBVR-Bench's way of averaging); Overall: the mean of the two (or the one "
               "that exists). Faculty columns: the mean over that faculty's instances. Failed results are "
               "counted under Failed and left out of every mean; costs are means over ok samples.")
