"""The report's figures: cost vs score and the teacher loss curves as matplotlib PNGs, and one
run's loss curve as inline SVG for report.html."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vlmteach.bench.report.stats import MethodSummary

MIN_SCORE_SPAN = 0.2  # the cost-vs-score plot's score axis spans at least this much


def _figure(width: float, height: float):
    # Imported here so that only the report pays for matplotlib; Figure needs no pyplot or backend state.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _placeholder(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_axis_off()


def score_limits(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """The score axis for (score, standard error) points: all error bars inside, at least
    MIN_SCORE_SPAN wide (so that ties do not look like gaps), within [0, 1]."""
    lo = min(s - e for s, e in points)
    hi = max(s + e for s, e in points)
    mid, half = (lo + hi) / 2, max((hi - lo) / 2 * 1.25, MIN_SCORE_SPAN / 2)
    return max(0.0, min(mid - half, 1.0 - 2 * half)), min(1.0, max(mid + half, 2 * half))


def _plot_cost_vs_score(rows: Sequence[MethodSummary], colors: dict[str, str], path: Path) -> None:
    fig = _figure(6.0, 4.2)
    ax = fig.subplots()
    points = [r for r in rows if r.wall_s is not None and r.overall is not None]
    if not points:
        _placeholder(ax, "no scored results in this run")
    placed: list[tuple[float, float]] = []
    for r in sorted(points, key=lambda r: (r.wall_s, r.overall)):
        ax.errorbar(r.wall_s, r.overall, yerr=r.se or 0.0, fmt="o", ms=6, color=colors[r.method], capsize=3,
                    zorder=3)
        # methods at (nearly) the same point get their labels stacked instead of printed over each other
        near = sum(1 for x, y in placed if abs(math.log10(max(r.wall_s, 1e-9) / max(x, 1e-9))) < 0.15
                   and abs(r.overall - y) < 0.01)
        placed.append((r.wall_s, r.overall))
        ax.annotate(r.method, (r.wall_s, r.overall), textcoords="offset points", xytext=(7, 4 - 11 * near),
                    fontsize=8)
    if points:
        walls = [r.wall_s for r in points]
        if min(walls) > 0 and max(walls) / min(walls) > 10:  # methods differ by orders of magnitude in cost
            ax.set_xscale("log")
        ax.margins(x=0.15)  # room for the labels of the outermost points
        ax.set_ylim(*score_limits([(r.overall, r.se or 0.0) for r in points]))
        ax.text(0.99, 0.01, "bars: one standard error", transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7, color="0.4")
        ax.set_xlabel("mean wall seconds per sample")
        ax.set_ylabel("overall score")
        ax.set_title("Cost vs score", fontsize=10)
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)


def _plot_loss_curves(traces: dict[str, list[list[float]]], colors: dict[str, str], taus: dict[str, float],
                      path: Path, rolling: set[str] = frozenset()) -> None:
    """Each method's loss curves, thin, and their mean, thick. A `rolling` method's step i judged a new
    sample (noise i), so its legend says so: its fall is what the LoRA learned across samples."""
    fig = _figure(7.0, 4.2)
    ax = fig.subplots()
    if not traces:
        _placeholder(ax, "no teacher loss traces in this run")
    for method, curves in traces.items():
        for curve in curves:
            ax.plot(range(len(curve)), curve, color=colors[method], lw=0.7, alpha=0.25)
        # A run that stopped early keeps the loss it stopped at, so the mean does not only average
        # the runs that are still above tau.
        length = max(map(len, curves))
        mean = np.mean([c + [c[-1]] * (length - len(c)) for c in curves], axis=0)
        what = ", a new sample per step" if method in rolling else ""
        ax.plot(range(length), mean, color=colors[method], lw=2.4, label=f"{method} (mean of {len(curves)}{what})")
    if traces:
        for tau in sorted(set(taus.values())):
            ax.axhline(tau, color="0.3", ls="--", lw=1, label=f"tau = {tau:g}")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("optimization step")
        ax.set_ylabel("teacher loss")
        ax.set_title("Teacher loss per step", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)


def write_loss_plot(losses: list[float], tau: float, path: str | Path, label: str = "teacher_tto",
                    rolling: bool = False) -> Path:
    """One run's teacher loss per step with tau (what `vlmteach solve` writes next to its video)."""
    _plot_loss_curves({label: [list(losses)]}, {label: "C0"}, {label: tau}, Path(path), {label} if rolling else set())
    return Path(path)


def _loss_svg(losses: list[float], tau: float, width: int = 170, height: int = 78, rolling: bool = False) -> str:
    """The teacher loss per step with tau dashed, as inline SVG with labelled axes (loss from 0 at
    the left, steps along the bottom)."""
    finite = [v for v in losses if math.isfinite(v)]
    if not finite:
        return ""
    lo, hi = min(0.0, *finite), max(*finite, tau) * 1.08
    span, left, right, top, bottom = (hi - lo) or 1.0, 30, 6, 6, 16

    def x(i: int) -> float:
        return left + (width - left - right) * i / max(len(losses) - 1, 1)

    def y(v: float) -> float:
        return height - bottom - (height - top - bottom) * (v - lo) / span

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(losses) if math.isfinite(v))
    last = len(losses) - 1
    what = "teacher loss per step, a new sample each" if rolling else "teacher loss per step"
    title = html.escape(f"{what}: {losses[0]:.3f} -> {losses[-1]:.3f} (tau {tau:g})")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
            f"<title>{title}</title>"
            f'<rect width="{width}" height="{height}" fill="#fafafa" stroke="#ddd"/>'
            f'<line x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}" stroke="#999"/>'
            f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}" stroke="#999"/>'
            f'<text x="{left - 3}" y="{y(hi / 1.08) + 3:.1f}" font-size="8" text-anchor="end" fill="#555">'
            f'{hi / 1.08:.2g}</text>'
            f'<text x="{left - 3}" y="{y(lo) + 3:.1f}" font-size="8" text-anchor="end" fill="#555">{lo:g}</text>'
            f'<text x="{left}" y="{height - 4}" font-size="8" fill="#555">0</text>'
            f'<text x="{width - right}" y="{height - 4}" font-size="8" text-anchor="end" fill="#555">step {last}</text>'
            f'<text x="{(left + width) / 2:.0f}" y="{height - 4}" font-size="8" text-anchor="middle" fill="#777">'
            'loss, tau dashed</text>'
            f'<line x1="{left}" x2="{width - right}" y1="{y(tau):.1f}" y2="{y(tau):.1f}" stroke="#888" '
            'stroke-dasharray="3 2"/>'
            f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{points}"/>'
            f'<circle cx="{x(last):.1f}" cy="{y(losses[-1]):.1f}" r="2" fill="#1f77b4"/></svg>')
