"""report.html: one self-contained page with the tables, the figures and every instance's videos side
by side."""

from __future__ import annotations

import html
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlmteach.bench.report.clips import GIF_WIDTH, _clip_uris, _data_uri
from vlmteach.bench.report.load import RESULTS
from vlmteach.bench.report.plots import _loss_svg
from vlmteach.bench.report.stats import MethodSummary, _faculty, _instance_key, _ok, _tau
from vlmteach.bench.report.tables import (
    CONVENTIONS,
    MEMORY_NOTE,
    SPLIT_NAMES,
    _best_cells,
    _cost_cells,
    _family_cells,
    _main_cells,
    _overview,
    _paired_cells,
    _scorer_kind,
    scorer_note,
)
from vlmteach.errors import VideoError

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
td.best-cell { font-weight: bold; color: #0a7d2c; }
td.noise { color: #888; }
td.good { color: #0a7d2c; }
td.bad { color: #b00020; }
.strip { display: block; margin-top: 3px; }
figcaption a { font-size: 11px; color: #1f5fa8; }
"""


def _html_table(header: list[str], body: list[list[str]], best: set[tuple[int, int]] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in header)

    def cell(i: int, j: int, text: str) -> str:
        if (i, j) in best:
            return f'<td class="best-cell" title="best in this column">{html.escape(text)} &#9650;</td>'
        if text.startswith("no: within noise") or text == "one instance: noise":
            return f'<td class="noise">{html.escape(text)}</td>'
        if text.startswith("yes, "):
            return f'<td class="{"good" if "better" in text else "bad"}">{html.escape(text)}</td>'
        return f"<td>{html.escape(text)}</td>"

    rows = "".join("<tr>" + "".join(cell(i, j, c) for j, c in enumerate(row)) + "</tr>" for i, row in enumerate(body))
    return f"<table><tr>{head}</tr>{rows}</table>"


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
    svg = f"<div>{_loss_svg(losses, tau, rolling=trace.get('noises') == 'rolling')}</div>" if losses else ""
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
          rows: Sequence[MethodSummary], order: list[str], figures: Sequence[Path], max_instances: int) -> str:
    """The page; `figures` are the PNGs shown inline, in this order."""
    plots = "".join(f'<img src="{_data_uri(p.read_bytes(), "image/png")}" alt="{html.escape(p.stem)}">'
                    for p in figures)
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
