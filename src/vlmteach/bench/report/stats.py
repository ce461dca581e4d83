"""The report's numbers: per-method summaries in VBVR-Bench's averaging convention, standard errors,
paired differences between methods, and the loss traces; no formatting."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vlmteach.methods import is_upper_bound
from vlmteach.tasks import FACULTIES, SPLITS

DEFAULT_TAU = 0.22  # the paper's early-stop threshold (optim.TTOConfig.tau); config.json overrides it
COST_KEYS = ("reasoner_forwards", "reasoner_backwards", "teacher_forwards", "teacher_backwards")
_FACULTY_ORDER = (*FACULTIES, "unknown")


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
    """The method's own tau from config.json, else the paper's."""
    tau = ((config.get("method_configs") or {}).get(method) or {}).get("tau")
    return DEFAULT_TAU if tau is None else float(tau)


def _loss_traces(results: Sequence[dict[str, Any]], order: list[str]) -> dict[str, list[list[float]]]:
    traces: dict[str, list[list[float]]] = {}
    for r in sorted(results, key=_instance_key):
        losses = (r.get("trace") or {}).get("losses")
        if losses and not is_upper_bound(r["method"]):
            traces.setdefault(r["method"], []).append([float(v) for v in losses])
    return {m: traces[m] for m in order if m in traces}


def _rolling_methods(results: Sequence[dict[str, Any]]) -> set[str]:
    """Methods whose loop drew a new sample at every step (noises=rolling): their loss per step is
    the loss of a different sample each time, not one sample's loss falling."""
    return {r["method"] for r in results if (r.get("trace") or {}).get("noises") == "rolling"}


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
    """`method` against `baseline` on the instances both scored ok; None when there are none."""
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


def _settled(p: Paired) -> str:
    """Whether a paired difference stands out of the noise (two standard errors)."""
    if p.n < 2:
        return "one instance: noise"
    if abs(p.diff) >= 2 * p.se and p.diff != 0:
        return "yes, better" if p.diff > 0 else "yes, worse"
    return "no: within noise"
