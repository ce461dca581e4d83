"""The report of a benchmark run folder: the paper-style table (report.md), a cost-vs-score plot,
teacher loss curves, and one self-contained report.html with every instance's videos side by side.

One module per job, imports pointing down this list: load (results.jsonl, config.json), stats (the
numbers), tables (cells of text and notes), plots (PNGs, inline SVG), clips (GIFs and frame strips),
markdown (report.md), page (report.html), write (write_report: all of them)."""

from vlmteach.bench.report.load import load_config, load_results
from vlmteach.bench.report.plots import MIN_SCORE_SPAN, score_limits, write_loss_plot
from vlmteach.bench.report.stats import MethodSummary, Paired, paired, summarize
from vlmteach.bench.report.tables import scorer_note, summary_table
from vlmteach.bench.report.write import DEFAULT_MAX_INSTANCES, ReportPaths, write_report

__all__ = ["DEFAULT_MAX_INSTANCES", "MIN_SCORE_SPAN", "MethodSummary", "Paired", "ReportPaths", "load_config",
           "load_results", "paired", "score_limits", "scorer_note", "summarize", "summary_table", "write_loss_plot",
           "write_report"]
