"""The report of a benchmark run folder: the paper-style table (report.md), a cost-vs-score plot,
teacher loss curves, and one self-contained report.html with every instance's videos side by side."""

from vlmteach.bench.report.page import (
    DEFAULT_MAX_INSTANCES,
    MIN_SCORE_SPAN,
    MethodSummary,
    Paired,
    ReportPaths,
    _cost_cells,
    _settled,
    load_config,
    load_results,
    paired,
    score_limits,
    scorer_note,
    summarize,
    summary_table,
    write_loss_plot,
    write_report,
)

__all__ = ["DEFAULT_MAX_INSTANCES", "MIN_SCORE_SPAN", "MethodSummary", "Paired", "ReportPaths", "_cost_cells",
           "_settled", "load_config", "load_results", "paired", "score_limits", "scorer_note", "summarize",
           "summary_table", "write_loss_plot", "write_report"]
