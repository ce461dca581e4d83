"""report.md: the tables as Markdown, with the conventions, the notes and the figures' links."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlmteach.bench.report.stats import MethodSummary, _rolling_methods
from vlmteach.bench.report.tables import (
    CONVENTIONS,
    MEMORY_NOTE,
    _best_cells,
    _cost_cells,
    _family_cells,
    _main_cells,
    _overview,
    _paired_cells,
    scorer_note,
)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(header: list[str], body: list[list[str]], text_columns: int = 1,
              best: set[tuple[int, int]] = frozenset()) -> str:
    """A markdown table; the first `text_columns` columns are left-aligned, the numbers right-aligned;
    `best` cells in bold."""
    align = [" --- "] * text_columns + [" ---: "] * (len(header) - text_columns)
    lines = ["| " + " | ".join(map(_md_cell, header)) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(f"**{_md_cell(c)}**" if (i, j) in best else _md_cell(c) for j, c in enumerate(row))
              + " |" for i, row in enumerate(body)]
    return "\n".join(lines)


def _markdown(rundir: Path, config: dict[str, Any], results: Sequence[dict[str, Any]],
              rows: Sequence[MethodSummary], has_losses: bool) -> str:
    order = [r.method for r in rows]
    main = _main_cells(rows, short=False, results=results)
    loss_note = ("" if has_losses else
                 "\n\nNo result in this run has a teacher loss trace; the loss figure is a placeholder.")
    rolls = _rolling_methods(results)
    rolling = [m for m in order if m in rolls]
    if rolling:
        loss_note += (f"\n\n{', '.join(rolling)}: a rolling loop (noises=rolling), so step i judged a new "
                      "sample, from noise i; the curve's fall is what the LoRA learned across samples, not one "
                      "sample getting better.")
    return f"""# Benchmark report: {rundir.name}

{_overview(rundir, config, results)}

{CONVENTIONS}

## Main table

{_md_table(*main, best=_best_cells(*main, rows))}

{scorer_note(results)}

## Paired differences

Each method against the first of the run on the instances both scored (same instances, same noise
seeds): the difference in the Overall convention, its standard error, and on how many instances it
scored better and worse. A difference within about two standard errors is not a settled one.
Upper bounds use the ground truth, which no deployed system has.

{_md_table(*_paired_cells(results, order), text_columns=2)}

## Cost

Means per ok sample. {MEMORY_NOTE}

{_md_table(*_cost_cells(rows))}

## Figures

![Cost vs score](cost_vs_score.png)

![Teacher loss per step](loss_curves.png){loss_note}

Every instance with its videos side by side: [report.html](report.html).

## Appendix: per family

Family mean scores per method.

{_md_table(*_family_cells(results, order), text_columns=4)}
"""
