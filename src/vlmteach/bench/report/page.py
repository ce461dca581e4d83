"""The report of a benchmark run folder: the paper-style table (report.md), a cost-vs-score plot,
teacher loss curves, and one self-contained report.html with every instance's videos side by side."""

from __future__ import annotations

import base64
import html
import json
import math
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlmteach.bench.official import load_official
from vlmteach.bench.store import line_key
from vlmteach.errors import VideoError, VlmteachError, VlmteachWarning
from vlmteach.methods import is_upper_bound
from vlmteach.tasks import FACULTIES, SPLITS
from vlmteach.tasks.generic import SCORER as GENERIC_SCORER
from vlmteach.video import Video, read_video, uniform_indices, write_image, write_video

RESULTS, CONFIG = "results.jsonl", "config.json"
DEFAULT_TAU = 0.22  # the paper's early-stop threshold (optim.TTOConfig.tau); config.json overrides it
DEFAULT_MAX_INSTANCES = 60
MIN_SCORE_SPAN = 0.2  # the cost-vs-score plot's score axis spans at least this much
STRIP_FRAMES = 5  # frames of the strip under each clip: what happened, even where GIFs do not play
GIF_WIDTH = 128  # px: small enough for a page of hundreds of clips, large enough to read 32 px tasks
GIF_MAX_FRAMES = 32  # long clips (large reasoners) are subsampled so one GIF stays small
SPLIT_NAMES = {"in": "In-domain", "ood": "Out-of-domain"}
COST_KEYS = ("reasoner_forwards", "reasoner_backwards", "teacher_forwards", "teacher_backwards")
_FACULTY_ORDER = (*FACULTIES, "unknown")
_SHORT = {"abstraction": "Abst", "knowledge": "Know", "perception": "Perc", "spatiality": "Spat",
          "transformation": "Trans", "unknown": "Unk"}
_KEY_FIELDS = ("split", "family", "index", "method")


@dataclass(frozen=True)
class ReportPaths:
    """The files `write_report` wrote, all inside the run folder."""

    markdown: Path
    html: Path
    cost_vs_score: Path
    loss_curves: Path

    def all(self) -> tuple[Path, ...]:
        return self.markdown, self.html, self.cost_vs_score, self.loss_curves


@dataclass(frozen=True)
class MethodSummary:
    """One row of the main table. Scores and costs are over ok results only; failed ones are counted."""

    method: str
    overall: float | None  # mean of the split averages that exist
    in_domain: float | None  # mean over in-domain families of the family mean
    ood: float | None
    faculties: dict[str, float]  # faculty -> mean score over its instances
    wall_s: float | None  # mean wall seconds per sample
    steps: float | None  # mean optimization steps per sample
    n: int
    failed: int
    calls: dict[str, float]  # COST_KEYS -> mean per sample
    peak_mem_mb: float | None  # max over samples
    peak_mem_kind: str  # "cuda-allocated", "process-rss" (an upper bound), or both joined by "/"
    official: float | None = None  # Overall of the official kit's scores (bench/official.py), when imported
    se: float | None = None  # standard error of `overall` over the instances (the error bars of the plot)


def load_results(rundir: str | Path) -> list[dict[str, Any]]:
    """Every result of RUNDIR/results.jsonl, the latest line per (instance, method) winning as on
    resume; a torn last line (a run killed mid-write) is skipped."""
    path = Path(rundir) / RESULTS
    if not path.is_file():
        raise VlmteachError(f"{path}: no such file; run `vlmteach bench` first to make a run folder")
    lines = [(number, text) for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if text.strip()]
    results: dict[tuple, dict[str, Any]] = {}
    skipped = []
    for k, (number, text) in enumerate(lines):
        try:
            row = json.loads(text)
        except json.JSONDecodeError:
            if k < len(lines) - 1:  # a torn last line is a killed run's, not worth a word
                skipped.append(number)
            continue
        if any(not isinstance(row, dict) or f not in row for f in _KEY_FIELDS):
            skipped.append(number)
            continue
        results[tuple(row[f] for f in _KEY_FIELDS)] = row
    if skipped:
        numbers = ", ".join(map(str, skipped[:5])) + (" ..." if len(skipped) > 5 else "")
        warnings.warn(f"{path}: skipped {len(skipped)} corrupt line(s) (line {numbers}); the report uses the rest. "
                      f"`vlmteach bench --out {path.parent} --resume` sets them aside and reruns their jobs",
                      VlmteachWarning, stacklevel=2)
    return list(results.values())


def load_config(rundir: str | Path) -> dict[str, Any]:
    """RUNDIR/config.json as a dict; empty when the run has none."""
    path = Path(rundir) / CONFIG
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise VlmteachError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise VlmteachError(f"{path}: expected a JSON object, got {type(config).__name__}")
    return config


def summarize(results: Sequence[dict[str, Any]], methods: Sequence[str] = ()) -> list[MethodSummary]:
    """The main table's rows, in the order of `methods` (config.json's run order), then any others."""
    rows = []
    for method in _method_order(results, methods):
        mine = [r for r in results if r["method"] == method]
        ok = [r for r in mine if _ok(r)]
        splits = {s: _split_mean(ok, s) for s in SPLITS}
        kit = [{**r, "score": r["official"]} for r in ok if r.get("official") is not None]
        kit_splits = [v for v in (_split_mean(kit, s) for s in SPLITS) if v is not None]
        faculties: dict[str, list[float]] = {}
        for r in ok:
            faculties.setdefault(_faculty(r), []).append(float(r["score"]))
        costs = [r.get("cost") or {} for r in ok]
        mem = [float(c["peak_mem_mb"]) for c in costs if c.get("peak_mem_mb") is not None]
        rows.append(MethodSummary(
            method=method,
            overall=_mean([v for v in splits.values() if v is not None]),
            in_domain=splits["in"], ood=splits["ood"],
            faculties={f: float(np.mean(faculties[f])) for f in _sort_faculties(faculties)},
            wall_s=_mean([c["wall_s"] for c in costs if c.get("wall_s") is not None]),
            steps=_mean([r.get("steps") or 0 for r in ok]),
            n=len(ok), failed=len(mine) - len(ok),
            calls={k: v for k in COST_KEYS
                   if (v := _mean([c[k] for c in costs if c.get(k) is not None])) is not None},
            peak_mem_mb=max(mem) if mem else None,
            peak_mem_kind="/".join(sorted({str(c["peak_mem_kind"]) for c in costs if c.get("peak_mem_kind")})),
            official=_mean(kit_splits),
            se=_overall_se(ok),
        ))
    return rows


def _overall_weights(rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """Each instance's weight in the Overall convention: 1 / (splits x families in its split x its family's n)."""
    info = [(r["split"], r["family"]) for r in rows]
    splits = {s for s, _ in info}
    fams = {s: {f for t, f in info if t == s} for s in splits}
    count = {k: info.count(k) for k in set(info)}
    return np.array([1 / (len(splits) * len(fams[s]) * count[(s, f)]) for s, f in info])


def _overall_se(ok: Sequence[dict[str, Any]]) -> float | None:
    """Standard error of a method's Overall score over its instances (a weighted mean)."""
    if len(ok) < 2:
        return None
    w, x = _overall_weights(ok), np.array([float(r["score"]) for r in ok])
    mean = float((w * x).sum())
    var = float(((x - mean) ** 2).sum() / (len(x) - 1))
    return float(np.sqrt((w ** 2).sum() * var))


def summary_table(rows: Sequence[MethodSummary]) -> str:
    """The main table as fixed-width plain text, for the terminal."""
    header, body = _main_cells(rows, short=True)
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(map(line, body) if body else ["(no results)"])])


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
    _plot_loss_curves(traces, colors, {m: _tau(config, m) for m in traces}, paths.loss_curves)
    paths.markdown.write_text(_markdown(rundir, config, results, rows, bool(traces)), encoding="utf-8")
    paths.html.write_text(_html(rundir, config, results, rows, order, paths, max_instances), encoding="utf-8")
    return paths


# -- numbers ---------------------------------------------------------------------------------------

def _ok(r: dict[str, Any]) -> bool:
    score = r.get("score")
    return r.get("status", "ok") == "ok" and isinstance(score, (int, float)) and math.isfinite(score)


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _faculty(r: dict[str, Any]) -> str:
    return str(r.get("faculty") or "unknown")


def _sort_faculties(names) -> list[str]:
    rank = {f: i for i, f in enumerate(_FACULTY_ORDER)}
    return sorted(names, key=lambda f: (rank.get(f, len(rank)), f))


def _split_mean(ok: list[dict[str, Any]], split: str) -> float | None:
    """VBVR-Bench convention: the mean over the split's families of each family's mean score."""
    families: dict[str, list[float]] = {}
    for r in ok:
        if r["split"] == split:
            families.setdefault(r["family"], []).append(float(r["score"]))
    return _mean([float(np.mean(v)) for v in families.values()])


def _method_order(results: Sequence[dict[str, Any]], methods: Sequence[str]) -> list[str]:
    seen = dict.fromkeys(r["method"] for r in results)
    return [m for m in dict.fromkeys(methods) if m in seen] + [m for m in seen if m not in methods]


def _instance_key(r: dict[str, Any]) -> tuple:
    split = r["split"]
    rank = SPLITS.index(split) if split in SPLITS else len(SPLITS)
    return rank, str(split), str(r["family"]), int(r["index"])


def _tau(config: dict[str, Any], method: str) -> float:
    """The method's own tau from config.json, else teacher_tto's, else the paper's."""
    configs = config.get("method_configs") or {}
    for label in (method, "teacher_tto"):
        tau = (configs.get(label) or {}).get("tau")
        if tau is not None:
            return float(tau)
    return DEFAULT_TAU


def _loss_traces(results: Sequence[dict[str, Any]], order: list[str]) -> dict[str, list[list[float]]]:
    traces: dict[str, list[list[float]]] = {}
    for r in sorted(results, key=_instance_key):
        losses = (r.get("trace") or {}).get("losses")
        if losses and not is_upper_bound(r["method"]):
            traces.setdefault(r["method"], []).append([float(v) for v in losses])
    return {m: traces[m] for m in order if m in traces}


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
    ref = next((r for r in rows if r.method.split("[", 1)[0] == "pass_at_n" and r.wall_s), None)
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


@dataclass(frozen=True)
class Paired:
    """A method against a baseline on the instances both scored: the difference in the Overall
    convention (split means of family means of the per-instance differences), its standard error,
    and how many instances it scored better and worse on."""

    method: str
    baseline: str
    diff: float
    se: float
    better: int
    worse: int
    n: int


def paired(results: Sequence[dict[str, Any]], method: str, baseline: str) -> Paired | None:
    scores: dict[str, dict[tuple, float]] = {method: {}, baseline: {}}
    info: dict[tuple, tuple[str, str]] = {}
    for r in results:
        if r["method"] in scores and _ok(r):
            scores[r["method"]][_instance_key(r)] = float(r["score"])
            info[_instance_key(r)] = (r["split"], r["family"])
    keys = sorted(set(scores[method]) & set(scores[baseline]))
    if not keys:
        return None
    d = np.array([scores[method][k] - scores[baseline][k] for k in keys])
    w = _overall_weights([{"split": info[k][0], "family": info[k][1]} for k in keys])
    diff = float((w * d).sum())
    var = float(((d - diff) ** 2).sum() / max(len(d) - 1, 1))
    return Paired(method, baseline, diff, float(np.sqrt((w ** 2).sum() * var)), int((d > 0).sum()),
                  int((d < 0).sum()), len(keys))


def _paired_cells(results: Sequence[dict[str, Any]], order: list[str]) -> tuple[list[str], list[list[str]]]:
    """Every method against the first (vanilla in a usual run), and teacher_tto against best_of_n
    with a matched budget when both ran."""
    pairs = [(m, order[0]) for m in order[1:]]
    if "teacher_tto" in order and "best_of_n[n=auto]" in order:
        pairs.append(("teacher_tto", "best_of_n[n=auto]"))
    header = ["Method", "Against", "Difference", "Standard error", "Better / worse / n", "Settled?"]
    body = []
    for m, b in pairs:
        p = paired(results, m, b)
        if p is not None:
            body.append([_label(m), b, f"{p.diff:+.3f}", f"{p.se:.3f}", f"{p.better} / {p.worse} / {p.n}",
                         _settled(p)])
    return header, body


def _settled(p: Paired) -> str:
    """Whether a paired difference stands out of the noise (two standard errors)."""
    if p.n < 2:
        return "one instance: noise"
    if abs(p.diff) >= 2 * p.se and p.diff != 0:
        return "yes, better" if p.diff > 0 else "yes, worse"
    return "no: within noise"


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


# -- figures ---------------------------------------------------------------------------------------

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
                      path: Path) -> None:
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
        ax.plot(range(length), mean, color=colors[method], lw=2.4, label=f"{method} (mean of {len(curves)})")
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


def write_loss_plot(losses: list[float], tau: float, path: str | Path, label: str = "teacher_tto") -> Path:
    """One run's teacher loss per step with tau (what `vlmteach solve` writes next to its video)."""
    _plot_loss_curves({label: [list(losses)]}, {label: "C0"}, {label: tau}, Path(path))
    return Path(path)


# -- report.md -------------------------------------------------------------------------------------

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


def _markdown(rundir: Path, config: dict[str, Any], results: Sequence[dict[str, Any]],
              rows: Sequence[MethodSummary], has_losses: bool) -> str:
    order = [r.method for r in rows]
    main = _main_cells(rows, short=False, results=results)
    loss_note = ("" if has_losses else
                 "\n\nNo result in this run has a teacher loss trace; the loss figure is a placeholder.")
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


# -- report.html -----------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1500px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 18px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.px { image-rendering: crisp-edges; image-rendering: pixelated; }
.plots img { max-width: 48%; margin-right: 1%; border: 1px solid #eee; }
.note { color: #666; font-size: 13px; }
.inst { border: 1px solid #ddd; border-radius: 6px; padding: 10px; margin: 10px 0; }
.inst .head { font-size: 13px; color: #555; margin-bottom: 6px; }
.inst .head b { color: #222; }
.top { display: flex; gap: 16px; align-items: flex-start; }
.prompt { margin: 0 0 6px; }
.queries { margin: 0; padding-left: 20px; font-size: 13px; }
.kind { font-size: 11px; padding: 0 4px; border-radius: 3px; margin-right: 4px; }
.kind.goal { background: #dbeafe; }
.kind.process { background: #f3e8ff; }
.methods { display: flex; flex-wrap: wrap; gap: 14px; margin-top: 10px; }
figure { margin: 0; }
figcaption { font-size: 12px; max-width: 160px; }
.score.best { color: #0a7d2c; font-weight: bold; }
.failed { color: #b00020; font-size: 12px; max-width: 160px; }
.sub { color: #777; font-size: 11px; }
td.top { font-weight: bold; color: #0a7d2c; }
td.noise { color: #888; }
td.good { color: #0a7d2c; }
td.bad { color: #b00020; }
.strip { display: block; margin-top: 3px; }
figcaption a { font-size: 11px; color: #1f5fa8; }
"""


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _html_table(header: list[str], body: list[list[str]], best: set[tuple[int, int]] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in header)

    def cell(i: int, j: int, text: str) -> str:
        if (i, j) in best:
            return f'<td class="top" title="best in this column">{html.escape(text)} &#9650;</td>'
        if text.startswith("no: within noise") or text == "one instance: noise":
            return f'<td class="noise">{html.escape(text)}</td>'
        if text.startswith("yes, "):
            return f'<td class="{"good" if "better" in text else "bad"}">{html.escape(text)}</td>'
        return f"<td>{html.escape(text)}</td>"

    rows = "".join("<tr>" + "".join(cell(i, j, c) for j, c in enumerate(row)) + "</tr>" for i, row in enumerate(body))
    return f"<table><tr>{head}</tr>{rows}</table>"


def _clip_uris(path: Path, tmp: Path) -> tuple[str, str]:
    """(looping GIF, strip of STRIP_FRAMES frames as PNG) data URIs of a video, about GIF_WIDTH wide."""
    video = read_video(path)
    return _gif_uri(video, tmp), _strip_uri(video, tmp)


def _thumbnail(frames: torch.Tensor) -> torch.Tensor:
    """Area-averaged to a quarter of the shown width; the browser upscales it (class "px", pixelated).
    The codec's noise averages out and a GIF is ~10x smaller than at full width."""
    side = max(8, GIF_WIDTH // 4)
    if frames.shape[3] <= side:
        return frames
    size = (max(1, round(frames.shape[2] * side / frames.shape[3])), side)
    return torch.nn.functional.interpolate(frames, size=size, mode="area")


def _strip_uri(video: Video, tmp: Path) -> str:
    """Evenly spaced frames side by side, first and last included, separated by a white line."""
    frames = _thumbnail(video.frames[uniform_indices(video.frames.shape[0], min(STRIP_FRAMES, video.frames.shape[0]))])
    gap = torch.ones(3, frames.shape[2], 1)
    strip = torch.cat([t for f in frames for t in (f, gap)][:-1], dim=2)
    out = write_image(strip, tmp / "strip.png")
    return _data_uri(out.read_bytes(), "image/png")


def _gif_uri(video: Video, tmp: Path) -> str:
    """The video as a small looping GIF: nearest-neighbour resized to about GIF_WIDTH pixels wide."""
    frames, fps = video.frames, video.fps
    if frames.shape[0] > GIF_MAX_FRAMES:
        fps *= GIF_MAX_FRAMES / frames.shape[0]
        frames = frames[uniform_indices(frames.shape[0], GIF_MAX_FRAMES)]
    out = write_video(Video(_thumbnail(frames), fps), tmp / "clip.gif")
    return _data_uri(out.read_bytes(), "image/gif")


def _loss_svg(losses: list[float], tau: float, width: int = 170, height: int = 78) -> str:
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
    title = html.escape(f"teacher loss per step: {losses[0]:.3f} -> {losses[-1]:.3f} (tau {tau:g})")
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


def _method_cell(rundir: Path, r: dict[str, Any], best: float | None, tau: float, tmp: Path) -> str:
    name = html.escape(r["method"])
    if not _ok(r):
        error = html.escape(str(r.get("error") or r.get("status") or "no score"))
        return (f'<figure class="method"><div class="failed">failed: {error}</div>'
                f"<figcaption>{name}</figcaption></figure>")
    link = ""
    if r.get("video"):
        try:
            gif, strip = _clip_uris(rundir / r["video"], tmp)
            media = (f'<img class="px" src="{gif}" width="{GIF_WIDTH}" alt="{name}">'
                     f'<img class="px strip" src="{strip}" width="{GIF_WIDTH}" alt="{name}: frames, first to last">')
            link = (f' <a href="{html.escape(r["video"])}" title="the full video (open report.html from the run '
                    'folder)">mp4</a>')
        except VideoError as exc:
            media = f'<div class="failed">{html.escape(str(exc))}</div>'
    else:
        media = '<div class="failed">no video</div>'
    score = float(r["score"])
    cls = "score best" if best is not None and score == best else "score"
    trace = r.get("trace") or {}
    notes = []
    if r.get("steps"):
        notes.append(f"{r['steps']} steps")
    if trace.get("stop_reason"):
        notes.append(f"stop: {trace['stop_reason']}")
    if trace.get("n") is not None:
        notes.append(f"n={trace['n']}" + (f", {trace['selector']}" if trace.get("selector") else ""))
    sub = f'<br><span class="sub">{html.escape(", ".join(notes))}</span>' if notes else ""
    losses = [float(v) for v in trace.get("losses") or []]
    svg = f"<div>{_loss_svg(losses, tau)}</div>" if losses else ""
    return (f'<figure class="method">{media}<figcaption>{name} <span class="{cls}">{score:.3f}</span>{link}{sub}'
            f"</figcaption>{svg}</figure>")


def _queries_html(results: list[dict[str, Any]]) -> str:
    for r in results:
        trace = r.get("trace") or {}
        queries = trace.get("queries")
        if queries:
            kinds = trace.get("query_kinds") or ["goal"] + ["process"] * (len(queries) - 1)
            items = "".join(f'<li><span class="kind {html.escape(k)}">{html.escape(k)}</span>{html.escape(q)}</li>'
                            for q, k in zip(queries, kinds))
            return (f'<div class="note">teacher queries ({html.escape(r["method"])}):</div>'
                    f'<ol class="queries">{items}</ol>')
    return ""


def _instance_html(rundir: Path, results: list[dict[str, Any]], config: dict[str, Any], tmp: Path) -> str:
    first = results[0]
    frame_path = next((rundir / r["first_frame"] for r in results if r.get("first_frame")), None)
    frame = ""
    if frame_path is not None and frame_path.is_file():
        uri = _data_uri(frame_path.read_bytes(), "image/png")
        frame = (f'<figure><img class="px" src="{uri}" width="{GIF_WIDTH}" alt="first frame">'
                 "<figcaption>first frame</figcaption></figure>")
    scores = [float(r["score"]) for r in results if _ok(r)]
    best = max(scores) if len(scores) > 1 else None
    cells = "".join(_method_cell(rundir, r, best, _tau(config, r["method"]), tmp) for r in results)
    about = (f"sample {first['sample']}, noise seed {first.get('seed')}" if first.get("sample") is not None
             else f"seed {first.get('seed')}, difficulty {first.get('difficulty')}")
    about += f", {_faculty(first)}, scored by {_scorer_kind(first)}"
    head = f"<b>{html.escape(str(first['family']))} #{int(first['index'])}</b> {html.escape(about)}"
    return (f'<div class="inst"><div class="head">{head}</div><div class="top">{frame}<div>'
            f'<p class="prompt">{html.escape(str(first.get("prompt", "")))}</p>'
            f"{_queries_html(results)}</div></div>"
            f'<div class="methods">{cells}</div></div>')


def _gallery(rundir: Path, config: dict[str, Any], results: Sequence[dict[str, Any]], order: list[str],
             max_instances: int) -> str:
    instances: dict[tuple, list[dict[str, Any]]] = {}
    for r in sorted(results, key=lambda r: (_instance_key(r), order.index(r["method"]))):
        instances.setdefault(_instance_key(r), []).append(r)
    keys = list(instances)
    shown = keys[:max_instances]
    parts = ["<h2>Instances</h2>"]
    if len(shown) < len(keys):
        parts.append(f'<p class="note">Showing the first {len(shown)} of {len(keys)} instances '
                     f"(max_instances = {max_instances}); the rest are in {RESULTS}.</p>")
    section = None
    with tempfile.TemporaryDirectory(prefix="vlmteach-report-") as tmp:
        for key in shown:
            _, split, family, _ = key
            if (split, family) != section:
                if section is None or section[0] != split:
                    parts.append(f"<h2>{html.escape(SPLIT_NAMES.get(split, split))}</h2>")
                parts.append(f"<h3>{html.escape(family)}</h3>")
                section = (split, family)
            parts.append(_instance_html(rundir, instances[key], config, Path(tmp)))
    return "\n".join(parts)


def _html(rundir: Path, config: dict[str, Any], results: Sequence[dict[str, Any]],
          rows: Sequence[MethodSummary], order: list[str], paths: ReportPaths, max_instances: int) -> str:
    plots = "".join(f'<img src="{_data_uri(p.read_bytes(), "image/png")}" alt="{html.escape(p.stem)}">'
                    for p in (paths.cost_vs_score, paths.loss_curves))
    title = html.escape(f"Benchmark report: {rundir.name}")
    main = _main_cells(rows, short=False, results=results)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{CSS}</style></head>
<body>
<h1>{title}</h1>
<p>{html.escape(_overview(rundir, config, results))}</p>
<p class="note">{html.escape(CONVENTIONS)}</p>
<h2>Main table</h2>
{_html_table(*main, best=_best_cells(*main, rows))}
<p class="note">&#9650; the best score of a column (upper bounds aside). "vs {html.escape(order[0])}": the paired
difference on the instances both scored and its standard error; "Settled?" says whether it is at least two
standard errors from zero.</p>
<p class="note">{html.escape(scorer_note(results))}</p>
<h2>Paired differences</h2>
{_html_table(*_paired_cells(results, order))}
<h2>Cost</h2>
<p class="note">{html.escape(MEMORY_NOTE)}</p>
{_html_table(*_cost_cells(rows))}
<div class="plots">{plots}</div>
<h2>Per family</h2>
{_html_table(*_family_cells(results, order))}
{_gallery(rundir, config, results, order, max_instances)}
</body></html>
"""
