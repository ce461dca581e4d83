"""The benchmark layer: suites, the runner, the results store and the report (tables, plots, html)."""

from vlmteach.bench.report import load_results, summarize, summary_table, write_report
from vlmteach.bench.runner import BenchConfig, Hooks, run_bench
from vlmteach.bench.suites import Item, make_suite

__all__ = ["BenchConfig", "Hooks", "Item", "load_results", "make_suite", "run_bench", "summarize",
           "summary_table", "write_report"]
