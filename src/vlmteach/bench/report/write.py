"""write_report: every file of the report of a run folder, from its results.jsonl."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vlmteach.bench.official import load_official
from vlmteach.bench.report.load import load_config, load_results
from vlmteach.bench.report.markdown import _markdown
from vlmteach.bench.report.page import _html
from vlmteach.bench.report.plots import _plot_cost_vs_score, _plot_loss_curves
from vlmteach.bench.report.stats import _loss_traces, _method_order, _rolling_methods, _tau, summarize
from vlmteach.bench.store import line_key
from vlmteach.errors import VlmteachError

DEFAULT_MAX_INSTANCES = 60


@dataclass(frozen=True)
class ReportPaths:
    """The files `write_report` wrote, all inside the run folder."""

    markdown: Path
    html: Path
    cost_vs_score: Path
    loss_curves: Path

    def all(self) -> tuple[Path, ...]:
        return self.markdown, self.html, self.cost_vs_score, self.loss_curves


def write_report(rundir: str | Path, max_instances: int = DEFAULT_MAX_INSTANCES) -> ReportPaths:
    """Write report.md, report.html, cost_vs_score.png and loss_curves.png into the run folder
    (replacing an earlier report: it is derived from results.jsonl). report.html shows videos for
    the first `max_instances` instances only, to stay a reasonable size."""
    if max_instances < 0:
        raise VlmteachError(f"max_instances must be >= 0, got {max_instances}")
    rundir = Path(rundir)
    results = load_results(rundir)
    official = load_official(rundir)
    for r in results:
        if line_key(r) in official:
            r["official"] = official[line_key(r)]
    config = load_config(rundir)
    order = _method_order(results, config.get("methods") or ())
    rows = summarize(results, order)
    paths = ReportPaths(rundir / "report.md", rundir / "report.html", rundir / "cost_vs_score.png",
                        rundir / "loss_curves.png")
    colors = {m: f"C{i % 10}" for i, m in enumerate(order)}
    _plot_cost_vs_score(rows, colors, paths.cost_vs_score)
    traces = _loss_traces(results, order)
    _plot_loss_curves(traces, colors, {m: _tau(config, m) for m in traces}, paths.loss_curves,
                      _rolling_methods(results))
    paths.markdown.write_text(_markdown(rundir, config, results, rows, bool(traces)), encoding="utf-8")
    figures = (paths.cost_vs_score, paths.loss_curves)
    paths.html.write_text(_html(rundir, config, results, rows, order, figures, max_instances), encoding="utf-8")
    return paths
